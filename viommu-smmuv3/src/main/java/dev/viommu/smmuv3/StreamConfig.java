package dev.viommu.smmuv3;

/**
 * A stream table entry decoded once (IHI0070 §5.2): what the model caches per StreamID and what the host
 * dispatcher receives on CFGI_STE. The host side never needs the CD table: {@link S1} holds only the STE's
 * pointer to it, as iommufd's vSTE does.
 */
public sealed interface StreamConfig {
    /** Config = 0b000: every transaction is terminated without an event. */
    record Abort() implements StreamConfig {}

    /** Config = 0b100: transactions pass through untranslated. */
    record Bypass() implements StreamConfig {}

    /**
     * Config = 0b101/0b110/0b111: stage 1 and/or stage 2 (nested when both). {@code vmid} is STE.S2VMID, which
     * tags TLB entries even of stage-1-only streams.
     */
    record Translate(S1 s1, S2 s2, int vmid) implements StreamConfig {
        public boolean nested() { return s1 != null && s2 != null; }
    }

    /** An STE the model rejects: {@code eventId} is C_BAD_STE, C_BAD_STREAMID or F_STE_FETCH. Never cached. */
    record Invalid(int eventId, String reason) implements StreamConfig {}

    /** The STE's stage-1 fields: where the CD table is and how substreams select CDs. */
    record S1(int fmt, long contextPtr, int cdMax, int s1dss, boolean stallDisabled, int eats, int strw) {}

    /**
     * The STE's stage-2 fields, with the walk parameters derived once: IPA bits, granule shift, start level
     * (concatenated tables allowed) and the output size (S2PS capped at OAS).
     */
    record S2(int vmid, int inputBits, int granuleShift, int startLevel, int oaBits, long ttb, boolean affd,
              boolean ha, boolean hd, boolean stall, boolean record) {}

    Abort ABORT = new Abort();
    Bypass BYPASS = new Bypass();
}
