package dev.viommu.vtd.spec;

import dev.viommu.core.regs.BitField;

/** PASID directory entry (8 bytes, indexed by PASID[19:6]; vtd.md A.9.4). */
public final class PasidDirEntry {
    private PasidDirEntry() {}

    public static final int SIZE = 8;
    public static final BitField P = BitField.bit("PDE.P", 0);
    public static final BitField FPD = BitField.bit("PDE.FPD", 1);
    public static final BitField SMPTBLPTR = BitField.bits("PDE.SMPTBLPTR", 63, 12);
    public static final long RSVD = 0xFFCL;
}
