package dev.viommu.vtd.spec;

import dev.viommu.core.regs.BitField;

/** Scalable-mode context entry (32 bytes, 128 per table, indexed by devfn & 0x7F; vtd.md A.9.3). */
public final class ScalableContextEntry {
    private ScalableContextEntry() {}

    public static final int SIZE = 32;
    // QW0
    public static final BitField P = BitField.bit("SCE.P", 0);
    public static final BitField FPD = BitField.bit("SCE.FPD", 1);
    public static final BitField DTE = BitField.bit("SCE.DTE", 2);
    public static final BitField PASIDE = BitField.bit("SCE.PASIDE", 3);
    public static final BitField PRE = BitField.bit("SCE.PRE", 4);
    /** PASID directory size: 2^(PDTS+7) entries. */
    public static final BitField PDTS = BitField.bits("SCE.PDTS", 11, 9);
    public static final BitField PASIDDIRPTR = BitField.bits("SCE.PASIDDIRPTR", 63, 12);
    public static final long RSVD_QW0 = 0x1E0L;
    // QW1
    public static final BitField RID_PASID = BitField.bits("SCE.RID_PASID", 19, 0);
    /** RID_PRIV (bit 20) is reserved too: ECAP.RPRIVS is not advertised. */
    public static final long RSVD_QW1 = 0xFFFF_FFFF_FFF0_0000L;
}
