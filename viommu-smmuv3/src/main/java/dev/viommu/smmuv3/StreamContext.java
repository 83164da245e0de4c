package dev.viommu.smmuv3;

/**
 * One slot of the translator's direct-mapped front over the config caches: the STE and CD (already checked
 * against S1DSS, S1CDMax and the SSID) that a (StreamID, SubstreamID) translates with, so an IOTLB miss goes
 * straight to the walk without hashing into the STE and CD caches. Filled only after the full resolution
 * succeeded; every configuration invalidation (CFGI_*, STRTAB_BASE writes, endpoint attach/detach, reset) drops
 * all {@link #SLOTS} slots, which is never more than the entries it invalidates in the caches behind it.
 */
final class StreamContext {
    static final int SLOTS = 16;

    /** {@link Iotlb#key1} of the (StreamID, SSID), or {@link Iotlb#NO_KEY}. */
    long key1 = Iotlb.NO_KEY;
    /** The stage-1 context, or null when stage 1 is absent or bypassed (S1DSS = BYPASS). */
    CdConfig cd;
    /** The stage-2 configuration, or null. */
    StreamConfig.S2 s2;
    int vmid;
    /** STE.STRW selects EL2: hypervisor-regime stage 1 (TLBI_EL2_*). */
    boolean el2;
    boolean s1StallDisabled;
    /** {@link Iotlb#contextTag} of this context: the IOTLB tag bits every translation of it shares. */
    long tag;

    static int index(final long key1) { return (int) ((key1 * 0x9E3779B97F4A7C15L) >>> 60); }

    void set(final long k1, final StreamConfig.Translate t, final CdConfig c, final boolean isEl2, final boolean s1StallD) {
        key1 = k1;
        cd = c;
        s2 = t.s2();
        vmid = t.vmid();
        el2 = isEl2;
        s1StallDisabled = s1StallD;
        tag = Iotlb.contextTag(vmid, c != null ? c.asid() : Iotlb.NO_ASID, c != null, s2 != null,
                isEl2 ? Iotlb.REGIME_EL2 : Iotlb.REGIME_NH);
    }

    void drop() {
        key1 = Iotlb.NO_KEY;
        cd = null;
        s2 = null;
    }
}
