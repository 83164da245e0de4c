package dev.viommu.vtd.spec;

import dev.viommu.core.regs.BitField;

/** Scalable-mode PASID-table entry (64 bytes, 64 per table, indexed by PASID[5:0]; vtd.md A.9.5). */
public final class PasidEntry {
    private PasidEntry() {}

    public static final int SIZE = 64;
    // QW0
    public static final BitField P = BitField.bit("PE.P", 0);
    public static final BitField FPD = BitField.bit("PE.FPD", 1);
    public static final BitField AW = BitField.bits("PE.AW", 4, 2);
    /** SSEE (bit 5) is deprecated with execute requests: ignored. */
    public static final BitField PGTT = BitField.bits("PE.PGTT", 8, 6);
    public static final BitField SSADE = BitField.bit("PE.SSADE", 9);
    public static final BitField SSPTPTR = BitField.bits("PE.SSPTPTR", 63, 12);
    public static final long RSVD_QW0 = 0xC00L;
    // QW1
    public static final BitField DID = BitField.bits("PE.DID", 15, 0);
    public static final BitField PWSNP = BitField.bit("PE.PWSNP", 23);
    public static final BitField PGSNP = BitField.bit("PE.PGSNP", 24);
    public static final long RSVD_QW1 = 0x7F_0000L;
    // QW2
    public static final BitField SRE = BitField.bit("PE.SRE", 0);
    /** 00 = 4-level, 01 = 5-level, 1x reserved. */
    public static final BitField FSPM = BitField.bits("PE.FSPM", 3, 2);
    public static final BitField WPE = BitField.bit("PE.WPE", 4);
    public static final BitField EAFE = BitField.bit("PE.EAFE", 7);
    public static final BitField FSPTPTR = BitField.bits("PE.FSPTPTR", 63, 12);
    /** Bits 11:8; ERE (1), NXE (5) and SMEP (6) are deprecated and ignored (vtd.md D.6). */
    public static final long RSVD_QW2 = 0xF00L;

    public static final int PGTT_FS = 1, PGTT_SS = 2, PGTT_NESTED = 3, PGTT_PT = 4;

    public static String pgttName(final int pgtt) {
        return switch (pgtt) {
            case PGTT_FS -> "first-stage";
            case PGTT_SS -> "second-stage";
            case PGTT_NESTED -> "nested";
            case PGTT_PT -> "pass-through";
            default -> "reserved(" + pgtt + ")";
        };
    }
}
