package dev.viommu.vtd.spec;

import dev.viommu.core.regs.BitField;

/** Legacy context entry (16 bytes, 256 per table, indexed by devfn; vtd.md A.9.2). */
public final class ContextEntry {
    private ContextEntry() {}

    public static final int SIZE = 16;
    // QW0
    public static final BitField P = BitField.bit("CE.P", 0);
    public static final BitField FPD = BitField.bit("CE.FPD", 1);
    /** 00 = translate, ATS blocked; 01 = translate, ATS allowed (needs DT); 10 = pass-through (needs PT). */
    public static final BitField TT = BitField.bits("CE.TT", 3, 2);
    public static final BitField SLPTPTR = BitField.bits("CE.SLPTPTR", 63, 12);
    public static final long RSVD_QW0 = 0xFF0L;
    // QW1
    public static final BitField AW = BitField.bits("CE.AW", 2, 0);
    public static final BitField DID = BitField.bits("CE.DID", 23, 8);
    /** Bit 71 (QW1 bit 7) and bits 127:88 (QW1 63:24); AVAIL (QW1 6:3) is ignored. */
    public static final long RSVD_QW1 = 0xFFFF_FFFF_FF00_0080L;

    public static final int TT_TRANSLATE = 0, TT_TRANSLATE_ATS = 1, TT_PASS_THROUGH = 2;
}
