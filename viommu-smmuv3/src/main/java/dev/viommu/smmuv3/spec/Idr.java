package dev.viommu.smmuv3.spec;

import dev.viommu.core.regs.BitField;

import static dev.viommu.core.regs.BitField.bit;
import static dev.viommu.core.regs.BitField.bits;

/** ID register fields (IHI0070 §6.3.1–6.3.6; reference smmuv3.md B.2, checked against Linux arm-smmu-v3.h). */
public final class Idr {
    private Idr() {}

    // IDR0
    public static final BitField S2P = bit("IDR0.S2P", 0);
    public static final BitField S1P = bit("IDR0.S1P", 1);
    public static final BitField TTF = bits("IDR0.TTF", 3, 2);
    public static final BitField COHACC = bit("IDR0.COHACC", 4);
    public static final BitField BTM = bit("IDR0.BTM", 5);
    public static final BitField HTTU = bits("IDR0.HTTU", 7, 6);
    public static final BitField HYP = bit("IDR0.HYP", 9);
    public static final BitField ATS = bit("IDR0.ATS", 10);
    public static final BitField ASID16 = bit("IDR0.ASID16", 12);
    public static final BitField MSI = bit("IDR0.MSI", 13);
    public static final BitField SEV = bit("IDR0.SEV", 14);
    public static final BitField PRI = bit("IDR0.PRI", 16);
    public static final BitField VMID16 = bit("IDR0.VMID16", 18);
    public static final BitField CD2L = bit("IDR0.CD2L", 19);
    public static final BitField TTENDIAN = bits("IDR0.TTENDIAN", 22, 21);
    public static final BitField STALL_MODEL = bits("IDR0.STALL_MODEL", 25, 24);
    public static final BitField TERM_MODEL = bit("IDR0.TERM_MODEL", 26);
    public static final BitField ST_LVL = bits("IDR0.ST_LVL", 28, 27);

    public static final int TTF_AARCH64 = 2;
    public static final int TTENDIAN_LE = 2;
    public static final int STALL_MODEL_STALL = 0;
    public static final int STALL_MODEL_TERMINATE = 1;
    public static final int STALL_MODEL_FORCE = 2;
    public static final int HTTU_NONE = 0, HTTU_AF = 1, HTTU_AF_DIRTY = 2;

    // IDR1
    public static final BitField SIDSIZE = bits("IDR1.SIDSIZE", 5, 0);
    public static final BitField SSIDSIZE = bits("IDR1.SSIDSIZE", 10, 6);
    public static final BitField PRIQS = bits("IDR1.PRIQS", 15, 11);
    public static final BitField EVENTQS = bits("IDR1.EVENTQS", 20, 16);
    public static final BitField CMDQS = bits("IDR1.CMDQS", 25, 21);

    // IDR3
    public static final BitField HAD = bit("IDR3.HAD", 2);
    /** Stage-2 XN[1:0] (EL0/EL1 execute-never); mandatory with S2P from SMMUv3.1 (IHI0070 §6.3.4). */
    public static final BitField XNX = bit("IDR3.XNX", 4);
    /** PRI overflow auto-responses carry the request's PASID without checking STE.PPAR (IHI0070 §6.3.4, §8.1). */
    public static final BitField PPS = bit("IDR3.PPS", 5);
    /** Stage-2 forced write-back (STE.S2FWB); 1 in every SMMUv3.2 or later (IHI0070 §6.3.4). */
    public static final BitField FWB = bit("IDR3.FWB", 8);
    /** Range TLBI and level hint; mandatory from SMMUv3.2, optional before (§4.4.1.1, §6.3.4). */
    public static final BitField RIL = bit("IDR3.RIL", 10);
    /** Break-before-make level; 0b01 or 0b10 in every SMMUv3.2 or later (§6.3.4, §3.21.1). */
    public static final BitField BBML = bits("IDR3.BBML", 12, 11);

    // AIDR (§6.3.8)
    public static final BitField ARCH_MINOR_REV = bits("AIDR.ArchMinorRev", 3, 0);
    public static final BitField ARCH_MAJOR_REV = bits("AIDR.ArchMajorRev", 7, 4);
    public static final int ARCH_V3_1 = 1, ARCH_V3_2 = 2;

    // IDR5
    public static final BitField OAS = bits("IDR5.OAS", 2, 0);
    public static final BitField GRAN4K = bit("IDR5.GRAN4K", 4);
    public static final BitField GRAN16K = bit("IDR5.GRAN16K", 5);
    public static final BitField GRAN64K = bit("IDR5.GRAN64K", 6);
    public static final BitField VAX = bits("IDR5.VAX", 11, 10);
    public static final BitField STALL_MAX = bits("IDR5.STALL_MAX", 31, 16);

    /**
     * The OAS/IPS/S2PS encoding (0..6) as a number of address bits. 0b111 is reserved in SMMUv3.1–3.3 and behaves
     * as 0b110 (IHI0070 §5.2 S2PS, §5.4 IPS); callers cap the result at OAS, as both fields require.
     */
    public static int addressBits(final int encoding) {
        return switch (encoding) {
            case 0 -> 32;
            case 1 -> 36;
            case 2 -> 40;
            case 3 -> 42;
            case 4 -> 44;
            case 5 -> 48;
            default -> 52;
        };
    }

    /** The inverse of {@link #addressBits}; -1 if {@code bits} has no encoding. */
    public static int oasEncoding(final int bits) {
        return switch (bits) {
            case 32 -> 0;
            case 36 -> 1;
            case 40 -> 2;
            case 42 -> 3;
            case 44 -> 4;
            case 48 -> 5;
            case 52 -> 6;
            default -> -1;
        };
    }
}
