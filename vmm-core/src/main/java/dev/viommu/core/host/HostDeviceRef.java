package dev.viommu.core.host;

/**
 * A host device to pass through: a VFIO cdev by path ({@code /dev/vfio/devices/vfio0}) or by an fd the
 * hypervisor passed ({@code fd >= 0}, path informational). For the simulated host, {@code path} names a
 * simulated device. The fd is lent, never given: see {@link dev.viommu.core.spi.Endpoint} for who closes it.
 */
public record HostDeviceRef(String path, int fd) {
    public static HostDeviceRef path(final String path) { return new HostDeviceRef(path, -1); }
}
