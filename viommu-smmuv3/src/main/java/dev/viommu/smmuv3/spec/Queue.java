package dev.viommu.smmuv3.spec;

import dev.viommu.core.regs.BitField;

import static dev.viommu.core.regs.BitField.bit;
import static dev.viommu.core.regs.BitField.bits;

/** Queue base and index register fields, common to the three queues (IHI0070 §3.5, §6.3.2x; smmuv3.md B.7). */
public final class Queue {
    private Queue() {}

    public static final BitField BASE_LOG2SIZE = bits("Q_BASE.LOG2SIZE", 4, 0);
    public static final BitField BASE_ADDR = bits("Q_BASE.ADDR", 51, 5);
    /** Overflow flag in EVENTQ/PRIQ PROD; OVACKFLG at the same bit of CONS. */
    public static final BitField OVFLG = bit("Q.OVFLG", 31);
    /** Index plus wrap bit: the widest queue is 2^19 entries. */
    public static final BitField INDEX = bits("Q.WR_RD", 19, 0);
}
