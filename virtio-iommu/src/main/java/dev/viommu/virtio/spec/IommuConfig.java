package dev.viommu.virtio.spec;

/** struct virtio_iommu_config (virtio 1.2 §5.13.4), 40 bytes, little-endian. */
public final class IommuConfig {
    public static final int PAGE_SIZE_MASK = 0;      // le64
    public static final int INPUT_RANGE_START = 8;   // le64
    public static final int INPUT_RANGE_END = 16;    // le64, inclusive
    public static final int DOMAIN_RANGE_START = 24; // le32
    public static final int DOMAIN_RANGE_END = 28;   // le32, inclusive
    public static final int PROBE_SIZE = 32;         // le32
    /** u8, BYPASS_CONFIG only: the only field the driver may write. */
    public static final int BYPASS = 36;
    public static final int SIZE = 40;

    private IommuConfig() {}
}
