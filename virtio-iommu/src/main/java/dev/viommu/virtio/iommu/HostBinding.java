package dev.viommu.virtio.iommu;

import dev.viommu.core.host.HostException;
import dev.viommu.core.spi.Endpoint;

import java.util.List;

/**
 * The seam between the device and the host IOMMU for passthrough endpoints. The device calls {@link #apply}
 * synchronously while it handles a guest request and completes the request (writes its used-ring entry) only
 * after the call returns, so the guest sees a mapping acknowledged only once the host has it. A failure is a
 * {@link HostException}; its errno becomes the request's status (see {@link #statusFor}).
 */
public interface HostBinding {
    void apply(HostBindingEvent event) throws HostException;

    /** Host reserved IOVA ranges of a passthrough endpoint (reported by PROBE as RESV_MEM RESERVED). */
    default List<ResvRegion> reservedRegions(final Endpoint endpoint) { return List.of(); }

    /** The endpoint left the vIOMMU for good (the hypervisor removed it): release what the binding holds for it. */
    default void endpointRemoved(final Endpoint endpoint) { }

    /** The device is going away: release every host object. */
    default void close() { }

    /** State for {@code query-viommu} (JSON-serialisable values only). */
    default java.util.Map<String, Object> describe() { return java.util.Map.of("kind", "none"); }

    /** Accepts everything and does nothing: emulated-only setups (no host backend). */
    HostBinding NONE = e -> { };

    /** The virtio-iommu status for a host errno (§5.13.6.3 codes; Linux's viommu_get_req_errno in reverse). */
    static int statusFor(final int errno) {
        return switch (errno) {
            case dev.viommu.core.posix.Errno.ENOMEM, dev.viommu.core.posix.Errno.ENOSPC -> dev.viommu.virtio.spec.IommuRequest.S_NOMEM;
            case dev.viommu.core.posix.Errno.EINVAL, dev.viommu.core.posix.Errno.EEXIST -> dev.viommu.virtio.spec.IommuRequest.S_INVAL;
            case dev.viommu.core.posix.Errno.ERANGE, dev.viommu.core.posix.Errno.EOVERFLOW -> dev.viommu.virtio.spec.IommuRequest.S_RANGE;
            case dev.viommu.core.posix.Errno.ENOENT, dev.viommu.core.posix.Errno.ENODEV -> dev.viommu.virtio.spec.IommuRequest.S_NOENT;
            case dev.viommu.core.posix.Errno.EFAULT -> dev.viommu.virtio.spec.IommuRequest.S_FAULT;
            case dev.viommu.core.posix.Errno.EOPNOTSUPP, dev.viommu.core.posix.Errno.ENOSYS, dev.viommu.core.posix.Errno.EBUSY -> dev.viommu.virtio.spec.IommuRequest.S_UNSUPP;
            default -> dev.viommu.virtio.spec.IommuRequest.S_DEVERR;
        };
    }
}
