package dev.viommu.smmuv3.spec;

import dev.viommu.core.regs.BitField;

import static dev.viommu.core.regs.BitField.bit;
import static dev.viommu.core.regs.BitField.bits;

/**
 * Stream table entry, 64 bytes = eight little-endian dwords (IHI0070 §5.2; smmuv3.md B.4, checked against Linux
 * arm-smmu-v3.h STRTAB_STE_*). Field names carry the dword they live in. Dwords 4–7 are not used by this model.
 */
public final class Ste {
    private Ste() {}

    public static final int SIZE = 64;

    // Dword 0
    public static final BitField V = bit("STE.V", 0);
    public static final BitField CONFIG = bits("STE.Config", 3, 1);
    public static final BitField S1FMT = bits("STE.S1Fmt", 5, 4);
    public static final BitField S1_CONTEXT_PTR = bits("STE.S1ContextPtr", 51, 6);
    public static final BitField S1_CD_MAX = bits("STE.S1CDMax", 63, 59);

    public static final int CONFIG_ABORT = 0b000;
    public static final int CONFIG_BYPASS = 0b100;
    public static final int CONFIG_S1 = 0b101;
    public static final int CONFIG_S2 = 0b110;
    public static final int CONFIG_NESTED = 0b111;

    public static final int S1FMT_LINEAR = 0;
    /** Two-level, 4 KiB leaf tables of 64 CDs (index SSID[5:0]). */
    public static final int S1FMT_4K_L2 = 1;
    /** Two-level, 64 KiB leaf tables of 1024 CDs (index SSID[9:0]). */
    public static final int S1FMT_64K_L2 = 2;

    // Dword 1
    public static final BitField S1DSS = bits("STE.S1DSS", 1, 0);
    public static final BitField S1CIR = bits("STE.S1CIR", 3, 2);
    public static final BitField S1COR = bits("STE.S1COR", 5, 4);
    public static final BitField S1CSH = bits("STE.S1CSH", 7, 6);
    public static final BitField MEV = bit("STE.MEV", 19);
    public static final BitField S2FWB = bit("STE.S2FWB", 25);
    public static final BitField S1STALLD = bit("STE.S1STALLD", 27);
    public static final BitField EATS = bits("STE.EATS", 29, 28);
    public static final BitField STRW = bits("STE.STRW", 31, 30);
    public static final BitField SHCFG = bits("STE.SHCFG", 45, 44);

    public static final int S1DSS_TERMINATE = 0;
    public static final int S1DSS_BYPASS = 1;
    public static final int S1DSS_SSID0 = 2;
    public static final int STRW_NSEL1 = 0;
    public static final int STRW_EL2 = 2;

    // Dword 2
    public static final BitField S2VMID = bits("STE.S2VMID", 15, 0);
    public static final BitField S2T0SZ = bits("STE.S2T0SZ", 37, 32);
    public static final BitField S2SL0 = bits("STE.S2SL0", 39, 38);
    public static final BitField S2TG = bits("STE.S2TG", 47, 46);
    public static final BitField S2PS = bits("STE.S2PS", 50, 48);
    public static final BitField S2AA64 = bit("STE.S2AA64", 51);
    public static final BitField S2ENDI = bit("STE.S2ENDI", 52);
    public static final BitField S2AFFD = bit("STE.S2AFFD", 53);
    public static final BitField S2PTW = bit("STE.S2PTW", 54);
    public static final BitField S2HD = bit("STE.S2HD", 55);
    public static final BitField S2HA = bit("STE.S2HA", 56);
    public static final BitField S2S = bit("STE.S2S", 57);
    public static final BitField S2R = bit("STE.S2R", 58);

    // Dword 3
    public static final BitField S2TTB = bits("STE.S2TTB", 51, 4);

    /** Stage-2 TG encoding: 0 = 4 KiB, 1 = 64 KiB, 2 = 16 KiB; returns the granule shift or -1 (reserved). */
    public static int s2GranuleShift(final int tg) {
        return switch (tg) {
            case 0 -> 12;
            case 1 -> 16;
            case 2 -> 14;
            default -> -1;
        };
    }
}
