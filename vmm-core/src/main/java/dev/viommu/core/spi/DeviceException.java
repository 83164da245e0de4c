package dev.viommu.core.spi;

/** A control-plane request a device model refuses (for example attaching an endpoint twice). */
public final class DeviceException extends Exception {
    public DeviceException(final String message) { super(message); }

    public DeviceException(final String message, final Throwable cause) { super(message, cause); }
}
