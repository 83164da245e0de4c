package dev.viommu.smmuv3.spec;

import dev.viommu.core.regs.BitField;

import static dev.viommu.core.regs.BitField.bit;

/** GBPA fields the model acts on (IHI0070 §6.3.14; smmuv3.md B.1, sub-fields ⚠). */
public final class GbpaBits {
    private GbpaBits() {}

    /** With SMMUEN = 0: 1 = abort all incoming transactions, 0 = bypass. */
    public static final BitField ABORT = bit("GBPA.ABORT", 20);
    /** Software sets it with the new fields; the SMMU clears it when they apply. */
    public static final BitField UPDATE = bit("GBPA.UPDATE", 31);
}
