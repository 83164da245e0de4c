package dev.viommu.core.spi;

import dev.viommu.core.host.HostDeviceRef;

import java.util.Optional;

/**
 * A DMA-capable device behind a vIOMMU. {@code sourceId} is what the vIOMMU sees: a PCI requester ID
 * (bus&lt;&lt;8 | devfn) for VT-d and virtio-iommu on PCI, a StreamID for SMMUv3, an endpoint ID for virtio-iommu.
 * A passthrough endpoint carries its host device (a VFIO cdev); an emulated one is translated by the sidecar.
 * <p>
 * <b>Who owns the host device's descriptor</b> ({@link HostDeviceRef#fd()} {@code >= 0}): whoever created the
 * endpoint (the sidecar, which took it from its getfd table) owns it for as long as the endpoint exists, and
 * closes it exactly once: when the model refused the endpoint, or after the model's
 * {@link DeviceModel#detachEndpoint detachEndpoint} or {@link DeviceModel#close close} has returned. Device models
 * and host backends only borrow it, for as long as the endpoint is attached: they never close it, and a backend
 * that keeps the device past the call ({@link dev.viommu.core.host.HostBackend#bindDevice bindDevice}) keeps its
 * own duplicate, which it closes at unbind or when it closes. So a model may bind lazily at any time the endpoint
 * is attached, a failed bind changes nothing, and nobody ever closes a number its owner has already closed (and
 * the kernel may have handed out again). A model must not use the endpoint's descriptor once detachEndpoint or
 * close has returned.
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
