package dev.viommu.vtd.spec;

import dev.viommu.core.regs.BitField;

/** CAP register fields (offset 0x008; vtd.md A.2). */
public final class Cap {
    private Cap() {}

    public static final BitField ND = BitField.bits("CAP.ND", 2, 0);
    public static final BitField RWBF = BitField.bit("CAP.RWBF", 4);
    public static final BitField CM = BitField.bit("CAP.CM", 7);
    /** Bit 9 = 39-bit/3-level, 10 = 48-bit/4-level, 11 = 57-bit/5-level (as a 5-bit field: bit n-8). */
    public static final BitField SAGAW = BitField.bits("CAP.SAGAW", 12, 8);
    public static final BitField MGAW = BitField.bits("CAP.MGAW", 21, 16);
    public static final BitField FRO = BitField.bits("CAP.FRO", 33, 24);
    /** Bit 34 = 2 MiB, bit 35 = 1 GiB second-stage pages. */
    public static final BitField SLLPS = BitField.bits("CAP.SLLPS", 37, 34);
    public static final BitField PSI = BitField.bit("CAP.PSI", 39);
    public static final BitField NFR = BitField.bits("CAP.NFR", 47, 40);
    public static final BitField MAMV = BitField.bits("CAP.MAMV", 53, 48);
    public static final BitField DWD = BitField.bit("CAP.DWD", 54);
    public static final BitField DRD = BitField.bit("CAP.DRD", 55);
    public static final BitField FS1GP = BitField.bit("CAP.FS1GP", 56);
    public static final BitField FS5LP = BitField.bit("CAP.FS5LP", 60);
}
