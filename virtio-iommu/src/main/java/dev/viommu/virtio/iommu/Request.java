package dev.viommu.virtio.iommu;

/**
 * A decoded virtio-iommu request (§5.13.6). u32 fields are held in ints (compare them unsigned); the decode
 * happens once, from the device-readable part, and the handlers switch over these records exhaustively.
 */
sealed interface Request {
    record Attach(int domain, int endpoint, int flags, int reserved) implements Request {}

    record Detach(int domain, int endpoint) implements Request {}

    record Map(int domain, long virtStart, long virtEnd, long physStart, int flags) implements Request {}

    record Unmap(int domain, long virtStart, long virtEnd, int reserved) implements Request {}

    record Probe(int endpoint) implements Request {}
}
