package dev.viommu.virtio.iommu;

/** A virtio-iommu domain (§5.13.6.4): an address space shared by its attached endpoints. */
final class Domain {
    final int id;
    final boolean bypass;
    final MappingTable mappings = new MappingTable();
    final java.util.ArrayList<EndpointState> members = new java.util.ArrayList<>();
    int passthroughEndpoints;

    Domain(final int id, final boolean bypass) {
        this.id = id;
        this.bypass = bypass;
    }

    int endpoints() { return members.size(); }

    long idUnsigned() { return Integer.toUnsignedLong(id); }
}
