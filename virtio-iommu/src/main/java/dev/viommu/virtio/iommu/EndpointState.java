package dev.viommu.virtio.iommu;

import dev.viommu.core.spi.Endpoint;

import java.util.List;

/** One endpoint behind the device: its ID (the control plane's source ID), reserved regions and domain. */
final class EndpointState {
    final Endpoint endpoint;
    final int id;
    final boolean passthrough;
    final List<ResvRegion> resv;
    Domain domain;

    EndpointState(final Endpoint endpoint, final List<ResvRegion> resv) {
        this.endpoint = endpoint;
        this.id = endpoint.sourceId();
        this.passthrough = endpoint.kind() == Endpoint.Kind.PASSTHROUGH;
        this.resv = resv;
    }

    boolean resvIntersects(final long s, final long e) {
        for (ResvRegion r : resv) if (r.intersects(s, e)) return true;
        return false;
    }
}
