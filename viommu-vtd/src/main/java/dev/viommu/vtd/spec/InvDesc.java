package dev.viommu.vtd.spec;

/**
 * A decoded invalidation-queue descriptor (vtd.md A.6, A.7). Consumers switch over it with no default, so a new
 * type breaks the build until it is handled.
 */
public sealed interface InvDesc {
    /** Type 1. {@code g}: 1 global, 2 domain, 3 device (SID + FM). */
    record ContextCache(int g, int did, int sid, int fm) implements InvDesc {}

    /** Type 2. {@code g}: 1 global, 2 domain, 3 page-selective in domain. */
    record Iotlb(int g, boolean drainReads, boolean drainWrites, int did, long addr, int am, boolean ih) implements InvDesc {}

    /** Type 3. {@code size}: the ATS S bit (range encoded in {@code addr}). */
    record DevTlb(int sid, int pfsid, int mip, long addr, boolean size) implements InvDesc {}

    /** Type 4. {@code indexSelective}: G bit = 1 (Linux QI_IEC_SELECTIVE). */
    record Iec(boolean indexSelective, int im, int iidx) implements InvDesc {}

    /** Type 5. */
    record Wait(boolean interrupt, boolean statusWrite, boolean fence, boolean pageDrain, int statusData, long statusAddr)
            implements InvDesc {}

    /** Type 6. {@code g}: 2 all of (DID, PASID), 3 page-selective within (DID, PASID). */
    record PasidIotlb(int g, int did, int pasid, long addr, int am, boolean ih) implements InvDesc {}

    /** Type 7. {@code g}: 0 domain-selective, 1 PASID-selective, 3 global. */
    record PasidCache(int g, int did, int pasid) implements InvDesc {}

    /** Type 8. {@code global}: also translations of all PASIDs marked global. */
    record PasidDevTlb(int sid, int pasid, int pfsid, int mip, boolean global, boolean size, long addr) implements InvDesc {}

    /** Type 9. */
    record PageGroupResponse(boolean pasidPresent, int code, int rid, int pasid, int prgi) implements InvDesc {}

    /** A descriptor the hardware rejects: IQE with {@code iqei}. */
    record Illegal(int iqei, long qw0, long qw1) implements InvDesc {}
}
