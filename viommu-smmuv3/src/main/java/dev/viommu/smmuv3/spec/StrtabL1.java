package dev.viommu.smmuv3.spec;

import dev.viommu.core.regs.BitField;

import static dev.viommu.core.regs.BitField.bits;

/** Level-1 stream table descriptor, 8 bytes (IHI0070 §5.1; smmuv3.md B.3) and STRTAB_BASE_CFG values. */
public final class StrtabL1 {
    private StrtabL1() {}

    public static final int SIZE = 8;
    /** 0 = invalid; otherwise the L2 table holds 2^(Span−1) STEs. */
    public static final BitField SPAN = bits("L1STD.Span", 4, 0);
    public static final BitField L2PTR = bits("L1STD.L2Ptr", 51, 6);

    public static final BitField CFG_LOG2SIZE = bits("STRTAB_BASE_CFG.LOG2SIZE", 5, 0);
    public static final BitField CFG_SPLIT = bits("STRTAB_BASE_CFG.SPLIT", 10, 6);
    public static final BitField CFG_FMT = bits("STRTAB_BASE_CFG.FMT", 17, 16);
    public static final BitField BASE_ADDR = bits("STRTAB_BASE.ADDR", 51, 6);

    public static final int FMT_LINEAR = 0;
    public static final int FMT_2LVL = 1;
}
