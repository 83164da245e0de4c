package dev.viommu.virtio.spec;

/**
 * struct virtio_iommu_fault, the eventq record (virtio 1.2 §5.13.6.9), 24 bytes: reason u8 @0, reserved[3],
 * flags le32 @4, endpoint le32 @8, reserved le32 @12, address le64 @16.
 */
public final class FaultRecord {
    public static final int REASON = 0;
    public static final int FLAGS = 4;
    public static final int ENDPOINT = 8;
    public static final int ADDRESS = 16;
    public static final int SIZE = 24;

    public static final int R_UNKNOWN = 0;
    /** The endpoint is not attached to any domain. */
    public static final int R_DOMAIN = 1;
    /** No mapping, or the mapping does not allow the access. */
    public static final int R_MAPPING = 2;

    public static final int F_READ = 1;
    public static final int F_WRITE = 2;
    /** Linux headers define it; the spec does not. Never set by this device. */
    public static final int F_EXEC = 4;
    public static final int F_ADDRESS = 1 << 8;

    private FaultRecord() {}

    public static String reasonName(final int r) {
        return switch (r) {
            case R_DOMAIN -> "DOMAIN";
            case R_MAPPING -> "MAPPING";
            default -> "UNKNOWN";
        };
    }
}
