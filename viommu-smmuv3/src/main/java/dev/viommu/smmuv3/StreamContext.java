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
    /**
     * StreamWorld NS-EL2 (not EL2-E2H): the stage-1 walk uses the EL2 permission model, one privilege level
     * ({@link S1Permissions#EL2}).
     */
    boolean el2;
    boolean s1StallDisabled;
    /** {@link Iotlb#contextTag} of this context: the IOTLB tag bits every translation of it shares. */
    long tag;

    static int index(final long key1) { return (int) ((key1 * 0x9E3779B97F4A7C15L) >>> 60); }

    /**
     * Fills the slot. {@code world} is the {@link StreamWorld} of the stream's stage 1 (ignored when {@code c} is
     * null: stage 1 bypassed). The tag follows the world (IHI0070 §5.2 STRW, S2VMID; §5.4 ASID): NS-EL1 entries
     * carry the VMID and ASID; EL2-E2H entries the ASID only; EL2 entries neither, and are all global (no ASID
     * means nG has nothing to select; TLBI_EL2_VA then ignores its ASID, §4.4.2.8).
     */
    void set(final long k1, final StreamConfig.Translate t, final CdConfig c, final int world, final boolean s1StallD) {
        key1 = k1;
        cd = c;
        s2 = t.s2();
        final boolean hyp = c != null && StreamWorld.hypervisor(world);
        vmid = hyp ? 0 : t.vmid();
        el2 = hyp && world == StreamWorld.NS_EL2;
        s1StallDisabled = s1StallD;
        final long context = Iotlb.contextTag(vmid, c == null || el2 ? Iotlb.NO_ASID : c.asid(), c != null, s2 != null,
                hyp ? Iotlb.REGIME_EL2 : Iotlb.REGIME_NH);
        tag = el2 ? context | Iotlb.TAG_GLOBAL : context;
    }

    void drop() {
        key1 = Iotlb.NO_KEY;
        cd = null;
        s2 = null;
    }
}
