package dev.viommu.virtio.iommu;

import dev.viommu.core.spi.Endpoint;

/**
 * What the device asks of the host for passthrough endpoints. Domains are the unit of address space (one IOAS
 * per domain is the natural binding). Domain IDs are u32 held in a long.
 * <ul>
 * <li>{@link Attach}/{@link Detach} are sent for passthrough endpoints only.</li>
 * <li>{@link Map}/{@link Unmap} are sent for domains that have at least one passthrough endpoint. When the first
 *     passthrough endpoint joins a domain that already has mappings, an {@code Attach} is followed by one
 *     {@code Map} per existing mapping (a replay), all before the guest's ATTACH completes.</li>
 * <li>When a domain disappears (its last endpoint detached, or a device reset) no {@code Unmap}s are sent: the
 *     {@code Detach} of its last passthrough endpoint means its host address space can go.</li>
 * </ul>
 */
public sealed interface HostBindingEvent {
    /**
     * Put {@code endpoint} in {@code domain} ({@code bypass}: identity to guest-physical space). If the endpoint
     * was in another domain, {@code previousDomain} names it (else -1): the binding replaces the attachment.
     */
    record Attach(Endpoint endpoint, long domain, boolean bypass, long previousDomain) implements HostBindingEvent {}

    /** Take {@code endpoint} out of {@code domain}; afterwards it must not reach that domain's mappings. */
    record Detach(Endpoint endpoint, long domain) implements HostBindingEvent {}

    /**
     * Map IOVA {@code [iova, last]} to guest-physical {@code gpa...}; {@code prot} is
     * {@link dev.viommu.core.translate.AccessType} READ/WRITE, {@code mmio} the MAP_F_MMIO hint.
     */
    record Map(long domain, long iova, long last, long gpa, int prot, boolean mmio) implements HostBindingEvent {}

    /** Unmap IOVA {@code [iova, last]}: exactly one earlier {@code Map}. */
    record Unmap(long domain, long iova, long last) implements HostBindingEvent {}
}
