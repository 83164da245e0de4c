package dev.viommu.virtio.spec;

/** Device status bits (virtio 1.2 §2.1; Linux uapi virtio_config.h). */
public final class VirtioStatus {
    public static final int ACKNOWLEDGE = 1;
    public static final int DRIVER = 2;
    public static final int DRIVER_OK = 4;
    public static final int FEATURES_OK = 8;
    /** Set by the device when it hit an error it can only recover from by reset (§2.1.1). */
    public static final int DEVICE_NEEDS_RESET = 0x40;
    public static final int FAILED = 0x80;

    private VirtioStatus() {}
}
