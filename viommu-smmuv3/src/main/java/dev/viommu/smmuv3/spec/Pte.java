package dev.viommu.smmuv3.spec;

import dev.viommu.core.regs.BitField;

import static dev.viommu.core.regs.BitField.bit;
import static dev.viommu.core.regs.BitField.bits;

/**
 * VMSAv8-64 translation table descriptor bits as the SMMU walks them (Arm ARM D8), as Linux 7.3 defines them:
 * arch/arm64/include/asm/pgtable-hwdef.h (PTE_USER 6, PTE_RDONLY 7, PTE_AF 10, PTE_DBM 51, PTE_PXN 53, PTE_UXN 54,
 * *_TABLE_PXN 59, *_TABLE_UXN 60, S1_TABLE_AP 62:61), io-pgtable-arm.c (ARM_LPAE_PTE_*, HAP_READ/WRITE 6/7) and
 * kvm_pgtable.h (S2AP_R/W 6/7, S2_XN 54:53).
 */
public final class Pte {
    private Pte() {}

    public static final BitField VALID = bit("PTE.Valid", 0);
    /** With VALID: 1 = table (levels 0–2) or page (level 3); 0 = block. */
    public static final BitField TABLE = bit("PTE.Table", 1);

    // Stage 1 lower attributes
    public static final BitField AP1 = bit("PTE.AP[1]", 6);   // EL0 (unprivileged) access
    public static final BitField AP2 = bit("PTE.AP[2]", 7);   // read-only
    // Stage 2 lower attributes
    public static final BitField S2AP_R = bit("PTE.S2AP[0]", 6);
    public static final BitField S2AP_W = bit("PTE.S2AP[1]", 7);

    public static final BitField AF = bit("PTE.AF", 10);
    public static final BitField DBM = bit("PTE.DBM", 51);
    public static final BitField PXN = bit("PTE.PXN", 53);
    /** UXN at stage 1 (XN in the EL2 regime); XN[1] at stage 2, whose XN[0] is bit 53. */
    public static final BitField UXN = bit("PTE.UXN", 54);

    // Table descriptor attributes (ignored when HADx); at EL2 only APTable[1] and bit 60 (XNTable) exist
    public static final BitField PXN_TABLE = bit("PTE.PXNTable", 59);
    public static final BitField UXN_TABLE = bit("PTE.UXNTable", 60);
    public static final BitField AP_TABLE_NO_EL0 = bit("PTE.APTable[0]", 61);
    public static final BitField AP_TABLE_RO = bit("PTE.APTable[1]", 62);

    /** Output address bits [47:12] of a 48-bit OA descriptor; lower bits below the granule are RES0. */
    public static final BitField OA = bits("PTE.OA", 47, 12);
    /** OA[51:48] of a 64 KiB-granule descriptor with 52-bit output (FEAT_LPA). */
    public static final BitField OA_HI_64K = bits("PTE.OA[51:48]", 15, 12);
}
