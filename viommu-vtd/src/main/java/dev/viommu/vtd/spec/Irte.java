package dev.viommu.vtd.spec;

import dev.viommu.core.regs.BitField;

/**
 * Interrupt remapping table entry (128 bits; Linux {@code struct irte} in include/linux/dmar.h), remapped
 * format (IM/PST = 0). Posted format is not supported (CAP.PI = 0), so PST = 1 is a reserved-bit fault.
 */
public final class Irte {
    private Irte() {}

    public static final int SIZE = 16;
    // QW0
    public static final BitField P = BitField.bit("IRTE.P", 0);
    public static final BitField FPD = BitField.bit("IRTE.FPD", 1);
    public static final BitField DM = BitField.bit("IRTE.DM", 2);
    public static final BitField RH = BitField.bit("IRTE.RH", 3);
    public static final BitField TM = BitField.bit("IRTE.TM", 4);
    public static final BitField DLM = BitField.bits("IRTE.DLM", 7, 5);
    /** bits 12:15 reserved, and PST (bit 15) = posted: unsupported. */
    public static final BitField VECTOR = BitField.bits("IRTE.V", 23, 16);
    public static final BitField DST = BitField.bits("IRTE.DST", 63, 32);
    /** Reserved in QW0: 15:12 and 31:24. In xAPIC mode DST bits 63:48 and 39:32 are reserved too. */
    public static final long RSVD_QW0 = 0xFF00_F000L;
    public static final long RSVD_QW0_XAPIC = 0xFFFF_00FF_0000_0000L;
    // QW1
    public static final BitField SID = BitField.bits("IRTE.SID", 15, 0);
    public static final BitField SQ = BitField.bits("IRTE.SQ", 17, 16);
    public static final BitField SVT = BitField.bits("IRTE.SVT", 19, 18);
    public static final long RSVD_QW1 = 0xFFFF_FFFF_FFF0_0000L;

    /** SVT values: no check, SID+SQ, bus range (SID[15:8] = start bus, SID[7:0] = end bus). */
    public static final int SVT_NONE = 0, SVT_SID_SQ = 1, SVT_BUS = 2;

    // Remappable MSI address (x86 msi.h: dmar_format, dmar_subhandle_valid, dmar_index_0_14, dmar_index_15)
    public static final long MSI_ADDR_BASE = 0xFEE0_0000L;
    public static final BitField MSI_INDEX_15 = BitField.bit("MSI.IDX15", 2);
    public static final BitField MSI_SHV = BitField.bit("MSI.SHV", 3);
    public static final BitField MSI_FORMAT = BitField.bit("MSI.IF", 4);
    public static final BitField MSI_INDEX_0_14 = BitField.bits("MSI.IDX0_14", 19, 5);
}
