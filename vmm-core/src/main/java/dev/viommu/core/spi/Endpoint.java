package dev.viommu.core.spi;

import dev.viommu.core.host.HostDeviceRef;

import java.util.Optional;

/**
 * A DMA-capable device behind a vIOMMU. {@code sourceId} is what the vIOMMU sees: a PCI requester ID
 * (bus&lt;&lt;8 | devfn) for VT-d and virtio-iommu on PCI, a StreamID for SMMUv3, an endpoint ID for virtio-iommu.
 * A passthrough endpoint carries its host device (a VFIO cdev); an emulated one is translated by the sidecar.
 */
public record Endpoint(String id, Kind kind, int sourceId, Optional<HostDeviceRef> hostDevice) {
    public enum Kind { EMULATED, PASSTHROUGH }

    public Endpoint {
        if (sourceId < 0) throw new IllegalArgumentException("source id must be unsigned");
        if ((kind == Kind.PASSTHROUGH) != hostDevice.isPresent()) {
            throw new IllegalArgumentException("a passthrough endpoint, and only one, has a host device");
        }
    }

    public static Endpoint emulated(final String id, final int sourceId) {
        return new Endpoint(id, Kind.EMULATED, sourceId, Optional.empty());
    }
}
