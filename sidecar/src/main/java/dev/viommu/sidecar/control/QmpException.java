package dev.viommu.sidecar.control;

/** A command failure answered as {@code {"error": {"class", "desc"}}}, with QEMU's error classes. */
public final class QmpException extends Exception {
    public static final String GENERIC = "GenericError";
    public static final String COMMAND_NOT_FOUND = "CommandNotFound";
    public static final String DEVICE_NOT_FOUND = "DeviceNotFound";

    private final String errorClass;

    public QmpException(final String errorClass, final String desc) {
        super(desc, null, false, false);
        this.errorClass = errorClass;
    }

    public static QmpException generic(final String desc) { return new QmpException(GENERIC, desc); }

    public String errorClass() { return errorClass; }
}
