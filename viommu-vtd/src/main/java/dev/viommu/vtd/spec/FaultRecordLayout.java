package dev.viommu.vtd.spec;

import dev.viommu.core.regs.BitField;

/** Fault recording register FRCD (128 bits at CAP.FRO×16 + n×16; vtd.md A.4). */
public final class FaultRecordLayout {
    private FaultRecordLayout() {}

    public static final int SIZE = 16;
    // QW0
    /** Faulting page address; for interrupt-remapping faults bits 63:48 hold the interrupt index. */
    public static final BitField FI = BitField.bits("FRCD.FI", 63, 12);
    public static final BitField FI_INTR_INDEX = BitField.bits("FRCD.FI.IIDX", 63, 48);
    // QW1
    public static final BitField SID = BitField.bits("FRCD.SID", 15, 0);
    public static final BitField T2 = BitField.bit("FRCD.T2", 28);
    public static final BitField PRIV = BitField.bit("FRCD.PRIV", 29);
    public static final BitField EXE = BitField.bit("FRCD.EXE", 30);
    public static final BitField PP = BitField.bit("FRCD.PP", 31);
    public static final BitField FR = BitField.bits("FRCD.FR", 39, 32);
    public static final BitField PV = BitField.bits("FRCD.PV", 59, 40);
    public static final BitField AT = BitField.bits("FRCD.AT", 61, 60);
    /** 1 = read request, 0 = write (Linux {@code dma_frcd_type}). */
    public static final BitField T1 = BitField.bit("FRCD.T1", 62);
    public static final BitField F = BitField.bit("FRCD.F", 63);
}
