package dev.viommu.core.guest.virtio;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The guest side of the virtio-iommu request format (include/uapi/linux/virtio_iommu.h): request types, status
 * codes, MAP flags, the request builders ({@code struct virtio_iommu_req_*}, little-endian, the status in the
 * tail's first byte) and Linux's status-to-errno mapping. Shared by the test-guests driver and the device tests.
 */
public final class ViommuRequests {
    // errnos as the kernel returns them
    public static final int ENOENT = 2, EIO = 5, ENOMEM = 12, EFAULT = 14, ENODEV = 19, EINVAL = 22, ENOSPC = 28,
            ERANGE = 34, ENOSYS = 38, EOPNOTSUPP = 95, ETIMEDOUT = 110;
    // request types and status codes
    public static final int T_ATTACH = 1, T_DETACH = 2, T_MAP = 3, T_UNMAP = 4, T_PROBE = 5;
    public static final int S_OK = 0, S_IOERR = 1, S_UNSUPP = 2, S_DEVERR = 3, S_INVAL = 4, S_RANGE = 5, S_NOENT = 6,
            S_FAULT = 7, S_NOMEM = 8;
    public static final int MAP_F_READ = 1, MAP_F_WRITE = 2, MAP_F_MMIO = 4;
    public static final int IOMMU_READ = 1, IOMMU_WRITE = 2, IOMMU_MMIO = 4;
    /** The fixed part of a PROBE request before its property buffer. */
    public static final int PROBE_HEAD = 72;

    private ViommuRequests() {}

    /** The status byte of a completed request. */
    public static int status(final byte[] req) { return req[req.length - 4] & 0xFF; }

    /** viommu_get_req_errno. */
    public static int reqErrno(final int status) {
        return switch (status) {
            case S_OK -> 0;
            case S_UNSUPP -> -ENOSYS;
            case S_INVAL -> -EINVAL;
            case S_RANGE -> -ERANGE;
            case S_NOENT -> -ENOENT;
            case S_FAULT -> -EFAULT;
            case S_NOMEM -> -ENOMEM;
            default -> -EIO;            // S_IOERR, S_DEVERR
        };
    }

    private static ByteBuffer le(final int n) { return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN); }

    public static byte[] attachReq(final int domain, final int endpoint, final int flags) {
        return le(24).put(0, (byte) T_ATTACH).putInt(4, domain).putInt(8, endpoint).putInt(12, flags).array();
    }

    public static byte[] detachReq(final int domain, final int endpoint) {
        return le(24).put(0, (byte) T_DETACH).putInt(4, domain).putInt(8, endpoint).array();
    }

    public static byte[] mapReq(final int domain, final long start, final long end, final long phys, final int flags) {
        return le(40).put(0, (byte) T_MAP).putInt(4, domain).putLong(8, start).putLong(16, end).putLong(24, phys)
                .putInt(32, flags).array();
    }

    public static byte[] unmapReq(final int domain, final long start, final long end) {
        return le(32).put(0, (byte) T_UNMAP).putInt(4, domain).putLong(8, start).putLong(16, end).array();
    }

    /** A PROBE request with room for {@code probeSize} bytes of properties. */
    public static byte[] probeReq(final int endpoint, final int probeSize) {
        return le(PROBE_HEAD + probeSize + 4).put(0, (byte) T_PROBE).putInt(4, endpoint).array();
    }
}
