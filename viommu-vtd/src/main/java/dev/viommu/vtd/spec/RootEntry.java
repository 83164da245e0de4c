package dev.viommu.vtd.spec;

import dev.viommu.core.regs.BitField;

/**
 * Root-table entry (16 bytes, 256 per table, indexed by bus; vtd.md A.9.1). Legacy: P and CTP in QW0, QW1
 * reserved. Scalable: LP/LCTP in QW0 (devfn 0-127), UP/UCTP in QW1 (devfn 128-255).
 */
public final class RootEntry {
    private RootEntry() {}

    public static final int SIZE = 16;
    public static final BitField P = BitField.bit("RE.P", 0);
    public static final BitField CTP = BitField.bits("RE.CTP", 63, 12);
    /** Reserved bits of each qword that carries a pointer (11:1). */
    public static final long RSVD_PTR_QW = 0xFFEL;
}
