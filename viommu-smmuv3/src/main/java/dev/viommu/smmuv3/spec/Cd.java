package dev.viommu.smmuv3.spec;

import dev.viommu.core.regs.BitField;

import static dev.viommu.core.regs.BitField.bit;
import static dev.viommu.core.regs.BitField.bits;

/**
 * Context descriptor, 64 bytes (IHI0070 §5.4; smmuv3.md B.5, checked against Linux CTXDESC_CD_*), and the
 * level-1 CD descriptor of two-level CD tables. Dwords 3–7 (MAIR, AMAIR, IMPDEF, MPAM) do not affect this
 * model's translations.
 */
public final class Cd {
    private Cd() {}

    public static final int SIZE = 64;

    // Dword 0
    public static final BitField T0SZ = bits("CD.T0SZ", 5, 0);
    public static final BitField TG0 = bits("CD.TG0", 7, 6);
    public static final BitField EPD0 = bit("CD.EPD0", 14);
    public static final BitField ENDI = bit("CD.ENDI", 15);
    public static final BitField T1SZ = bits("CD.T1SZ", 21, 16);
    public static final BitField TG1 = bits("CD.TG1", 23, 22);
    public static final BitField EPD1 = bit("CD.EPD1", 30);
    public static final BitField V = bit("CD.V", 31);
    public static final BitField IPS = bits("CD.IPS", 34, 32);
    public static final BitField AFFD = bit("CD.AFFD", 35);
    public static final BitField WXN = bit("CD.WXN", 36);
    public static final BitField UWXN = bit("CD.UWXN", 37);
    public static final BitField TBI0 = bit("CD.TBI0", 38);
    public static final BitField TBI1 = bit("CD.TBI1", 39);
    public static final BitField PAN = bit("CD.PAN", 40);
    public static final BitField AA64 = bit("CD.AA64", 41);
    public static final BitField HD = bit("CD.HD", 42);
    public static final BitField HA = bit("CD.HA", 43);
    public static final BitField S = bit("CD.S", 44);
    public static final BitField R = bit("CD.R", 45);
    public static final BitField A = bit("CD.A", 46);
    public static final BitField ASET = bit("CD.ASET", 47);
    public static final BitField ASID = bits("CD.ASID", 63, 48);

    // Dword 1 / 2
    public static final BitField HAD0 = bit("CD.HAD0", 1);
    public static final BitField TTB0 = bits("CD.TTB0", 51, 4);
    public static final BitField HAD1 = bit("CD.HAD1", 1);
    public static final BitField TTB1 = bits("CD.TTB1", 51, 4);

    // Level-1 CD descriptor
    public static final BitField L1_V = bit("L1CD.V", 0);
    public static final BitField L1_L2PTR = bits("L1CD.L2Ptr", 51, 12);

    /** TG0 encoding: 0 = 4 KiB, 1 = 64 KiB, 2 = 16 KiB; the granule shift or -1. */
    public static int tg0Shift(final int tg) {
        return switch (tg) {
            case 0 -> 12;
            case 1 -> 16;
            case 2 -> 14;
            default -> -1;
        };
    }

    /** TG1 has a different encoding: 1 = 16 KiB, 2 = 4 KiB, 3 = 64 KiB; the granule shift or -1. */
    public static int tg1Shift(final int tg) {
        return switch (tg) {
            case 1 -> 14;
            case 2 -> 12;
            case 3 -> 16;
            default -> -1;
        };
    }
}
