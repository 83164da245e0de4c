package dev.viommu.smmuv3;

import dev.viommu.smmuv3.spec.Cd;
import dev.viommu.smmuv3.spec.Idr;

/**
 * Decodes context descriptors (IHI0070 §5.4) with the checks that make a CD ILLEGAL (C_BAD_CD). Only the
 * emulated-endpoint path uses it: the model never decodes CDs of passthrough streams (design note §4).
 */
final class CdDecoder {
    private final SmmuV3Config cfg;
    /** Why the last decode failed, for the rate-limited log and describe(). */
    String lastReason;

    CdDecoder(final SmmuV3Config cfg) { this.cfg = cfg; }

    /**
     * The decoded CD, or null when it is ILLEGAL (the caller raises C_BAD_CD). {@code s1StallD} is the STE's
     * S1STALLD, which makes CD.S = 1 ILLEGAL under the configurable stall model (IHI0070 §5.5); {@code world} is
     * the STE's {@link StreamWorld}, which decides which fields exist (§5.4.1: "the legality of a CD is, in
     * part, affected by ... StreamWorld").
     */
    CdConfig decode(final long d0, final long d1, final long d2, final boolean s1StallD, final int world) {
        if (!Cd.V.isSet(d0)) return bad("V=0");
        if (!Cd.AA64.isSet(d0)) return bad("AA64=0 (AArch32 tables unsupported)");
        // StreamWorld EL2 (not EL2-E2H) has one VA range: EPD0/EPD1 are IGNORED with effective value 0, and TTB1
        // is unreachable, so T1SZ, TG1, TTB1, HAD1 and TBI1 are RES0 and not checked (§5.4 EPD0, T1SZ, §5.4.1).
        final boolean oneRange = world == StreamWorld.NS_EL2;
        final boolean epd0 = !oneRange && Cd.EPD0.isSet(d0), epd1 = !oneRange && Cd.EPD1.isSet(d0);
        // §5.4 ENDI: IGNORED when the effective EPD0 and EPD1 are both 1 (no walk can read a table); otherwise
        // ENDI = 1 is ILLEGAL with IDR0.TTENDIAN = 0b10 (little-endian only).
        if (Cd.ENDI.isSet(d0) && !(epd0 && epd1)) return bad("ENDI (big-endian tables unsupported)");
        // IDR0.TERM_MODEL = 1: CD.A = 0 is ILLEGAL (§5.5; QEMU decode_cd rejects it too).
        if (!Cd.A.isSet(d0)) return bad("A=0 with TERM_MODEL=1");
        // §5.5: CD.S = 1 is ILLEGAL with terminate-only stalls, or with S1STALLD under STALL_MODEL 0b00;
        // CD.S = 0 is ILLEGAL when stalls are forced (Linux sets CD.S whenever ARM_SMMU_FEAT_STALL_FORCE).
        final boolean stall = Cd.S.isSet(d0);
        if (stall && !cfg.stalls()) return bad("S=1 with terminate-only stall model");
        if (stall && s1StallD) return bad("S=1 with STE.S1STALLD");
        if (!stall && cfg.stallModel() == Idr.STALL_MODEL_FORCE) return bad("S=0 with stall forced");
        // IPS above OAS, reserved values included, behaves as OAS (§5.4 IPS).
        final int ips = Math.min(Idr.addressBits((int) Cd.IPS.get(d0)), cfg.oasBits());
        CdConfig.Tt tt0 = null, tt1 = null;
        if (!epd0) {
            tt0 = tt((int) Cd.T0SZ.get(d0), Cd.tg0Shift((int) Cd.TG0.get(d0)), Cd.TTB0.raw(d1), Cd.HAD0.isSet(d1), ips);
            if (tt0 == null) return null;
        }
        if (!oneRange && !epd1) {
            tt1 = tt((int) Cd.T1SZ.get(d0), Cd.tg1Shift((int) Cd.TG1.get(d0)), Cd.TTB1.raw(d2), Cd.HAD1.isSet(d2), ips);
            if (tt1 == null) return null;
        }
        // HA/HD beyond IDR0.HTTU are ILLEGAL, not ignored (§5.4 HA; CdIllegal in §5.4.2). {HD, HA} = 0b10 is
        // reserved and, being legal here, behaves as 0b00.
        final boolean haSet = Cd.HA.isSet(d0), hdSet = Cd.HD.isSet(d0);
        if (haSet && cfg.httu() < Idr.HTTU_AF) return bad("HA without IDR0.HTTU");
        if (hdSet && cfg.httu() < Idr.HTTU_AF_DIRTY) return bad("HD without IDR0.HTTU dirty-state support");
        final boolean hd = haSet && hdSet;
        return new CdConfig((int) Cd.ASID.get(d0), tt0, tt1, ips, Cd.AFFD.isSet(d0), haSet, hd, Cd.WXN.isSet(d0),
                Cd.TBI0.isSet(d0), !oneRange && Cd.TBI1.isSet(d0), stall, Cd.R.isSet(d0), Cd.ASET.isSet(d0));
    }

    /** One table's walk parameters; start level = 4 − ⌈(IA − g) / (g − 3)⌉ (VMSAv8-64). */
    private CdConfig.Tt tt(final int tsz, final int g, final long ttb, final boolean had, final int ips) {
        if (g < 0 || !cfg.granule(g)) return bad("TGx");
        final int ia = 64 - tsz;
        // TxSZ outside [16, 39] (no VAX, no STT) is ILLEGAL from SMMUv3.1 (§5.4 T0SZ; QEMU decode_cd agrees).
        if (ia > 48 || ia < 25) return bad("TxSZ");
        // TTBx outside the effective IPS, or above 48 bits with a granule below 64 KiB, is ILLEGAL (§5.4 TTB0).
        if ((ttb >>> ips) != 0 || g != 16 && (ttb >>> 48) != 0) return bad("TTBx above IPS");
        final int stride = g - 3;
        final int levels = (ia - g + stride - 1) / stride;
        final int start = 4 - levels;
        final int bits = ia - (g + (3 - start) * stride);
        return new CdConfig.Tt(ia, g, start, StreamTable.alignTableBase(ttb, bits, ips), had);
    }

    private <T> T bad(final String why) {
        lastReason = why;
        return null;
    }
}
