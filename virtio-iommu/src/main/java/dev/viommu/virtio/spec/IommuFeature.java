package dev.viommu.virtio.spec;

/** virtio-iommu feature bits (virtio 1.2 §5.13.3; Linux uapi virtio_iommu.h). */
public final class IommuFeature {
    public static final int INPUT_RANGE = 0;
    public static final int DOMAIN_RANGE = 1;
    public static final int MAP_UNMAP = 2;
    /** Legacy global bypass; superseded by BYPASS_CONFIG and never offered by this device (§5.13.3.1). */
    public static final int BYPASS = 3;
    public static final int PROBE = 4;
    public static final int MMIO = 5;
    public static final int BYPASS_CONFIG = 6;

    /** virtio device ID of the IOMMU (§5). */
    public static final int DEVICE_ID = 23;

    private IommuFeature() {}
}
