package dev.viommu.virtio.spec;

/**
 * virtio-iommu request framing and layouts (virtio 1.2 §5.13.6). Offsets are bytes from the start of the
 * device-readable part; every request ends with a 4-byte device-writable tail {status u8, reserved[3]}.
 */
public final class IommuRequest {
    // head
    public static final int HEAD_TYPE = 0;
    public static final int HEAD_SIZE = 4;
    public static final int TAIL_SIZE = 4;

    // types
    public static final int T_ATTACH = 1;
    public static final int T_DETACH = 2;
    public static final int T_MAP = 3;
    public static final int T_UNMAP = 4;
    public static final int T_PROBE = 5;

    // status codes
    public static final int S_OK = 0;
    public static final int S_IOERR = 1;
    public static final int S_UNSUPP = 2;
    public static final int S_DEVERR = 3;
    public static final int S_INVAL = 4;
    public static final int S_RANGE = 5;
    public static final int S_NOENT = 6;
    public static final int S_FAULT = 7;
    public static final int S_NOMEM = 8;

    // ATTACH: head, domain @4, endpoint @8, flags @12, reserved[4] @16 | tail
    public static final int ATTACH_DOMAIN = 4;
    public static final int ATTACH_ENDPOINT = 8;
    public static final int ATTACH_FLAGS = 12;
    public static final int ATTACH_RESERVED = 16;
    public static final int ATTACH_SIZE = 20;
    public static final int ATTACH_F_BYPASS = 1;

    // DETACH: head, domain @4, endpoint @8, reserved[8] @12 | tail
    public static final int DETACH_DOMAIN = 4;
    public static final int DETACH_ENDPOINT = 8;
    public static final int DETACH_SIZE = 20;

    // MAP: head, domain @4, virt_start @8, virt_end @16, phys_start @24, flags @32 | tail
    public static final int MAP_DOMAIN = 4;
    public static final int MAP_VIRT_START = 8;
    public static final int MAP_VIRT_END = 16;
    public static final int MAP_PHYS_START = 24;
    public static final int MAP_FLAGS = 32;
    public static final int MAP_SIZE = 36;
    public static final int MAP_F_READ = 1;
    public static final int MAP_F_WRITE = 2;
    /** Needs VIRTIO_IOMMU_F_MMIO; bit 2 as in Linux 7.3 uapi virtio_iommu.h (VIRTIO_IOMMU_MAP_F_MMIO (1 << 2)). */
    public static final int MAP_F_MMIO = 4;

    // UNMAP: head, domain @4, virt_start @8, virt_end @16, reserved[4] @24 | tail
    public static final int UNMAP_DOMAIN = 4;
    public static final int UNMAP_VIRT_START = 8;
    public static final int UNMAP_VIRT_END = 16;
    public static final int UNMAP_RESERVED = 24;
    public static final int UNMAP_SIZE = 28;

    // PROBE: head, endpoint @4, reserved[64] @8 | properties[probe_size], tail
    public static final int PROBE_ENDPOINT = 4;
    public static final int PROBE_SIZE = 72;

    private IommuRequest() {}

    public static String statusName(final int s) {
        return switch (s) {
            case S_OK -> "S_OK"; case S_IOERR -> "S_IOERR"; case S_UNSUPP -> "S_UNSUPP"; case S_DEVERR -> "S_DEVERR";
            case S_INVAL -> "S_INVAL"; case S_RANGE -> "S_RANGE"; case S_NOENT -> "S_NOENT"; case S_FAULT -> "S_FAULT";
            case S_NOMEM -> "S_NOMEM";
            default -> "S_" + s;
        };
    }
}
