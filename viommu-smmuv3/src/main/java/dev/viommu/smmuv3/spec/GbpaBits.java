package dev.viommu.smmuv3.spec;

import dev.viommu.core.regs.BitField;

import static dev.viommu.core.regs.BitField.bit;

/**
 * GBPA fields the model acts on (IHI0070 §6.3.14: MemAttr[3:0], MTCFG 4, ALLOCCFG[11:8], SHCFG[13:12],
 * PRIVCFG[17:16], INSTCFG[19:18], ABORT 20, Update 31; Linux 7.3 arm-smmu-v3.h GBPA_ABORT / GBPA_UPDATE agree).
 */
public final class GbpaBits {
    private GbpaBits() {}

    /** With SMMUEN = 0: 1 = abort all incoming transactions, 0 = bypass. */
    public static final BitField ABORT = bit("GBPA.ABORT", 20);
    /** Software sets it with the new fields; the SMMU clears it when they apply. */
    public static final BitField UPDATE = bit("GBPA.UPDATE", 31);
}
