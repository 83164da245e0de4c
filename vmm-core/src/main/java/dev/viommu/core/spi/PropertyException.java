package dev.viommu.core.spi;

/** An unknown or ill-typed device property: a clear, user-facing error (QMP class GenericError). */
public final class PropertyException extends Exception {
    public PropertyException(final String driver, final String property, final String problem) {
        super("Property '" + driver + "." + property + "' " + problem);
    }

    public PropertyException(final String message) {
        super(message);
    }
}
