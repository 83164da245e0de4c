package dev.viommu.smmuv3;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.smmuv3.spec.EventId;
import dev.viommu.smmuv3.spec.Idr;
import dev.viommu.smmuv3.spec.Ste;
import dev.viommu.smmuv3.spec.StrtabL1;

/**
 * Finds and decodes stream table entries (IHI0070 §3.3, §5.2): linear and two-level tables, every validity
 * check that makes an STE ILLEGAL (C_BAD_STE), and out-of-range StreamIDs (C_BAD_STREAMID). Stateless apart
 * from the device's configuration; the caller caches the decoded result.
 */
final class StreamTable {
    private final SmmuV3Config cfg;
    /** The four STE dwords the model uses, read by the last successful {@link #fetch}. */
    final long[] words = new long[4];

    StreamTable(final SmmuV3Config cfg) { this.cfg = cfg; }

    /**
     * Fetches the STE of {@code sid} into {@link #words}. Returns false with {@code f} filled
     * (C_BAD_STREAMID or F_STE_FETCH) when there is none.
     */
    boolean fetch(final GuestMemory mem, final long strtabBase, final long strtabCfg, final int sid, final FaultRecord f) {
        final long steAddr = locate(mem, strtabBase, strtabCfg, sid, f);
        if (steAddr < 0) return false;
        try {
            for (int i = 0; i < 4; i++) words[i] = mem.load64Acquire(steAddr + 8L * i);   // each dword read once
        } catch (GuestMemoryException e) {
            f.fetchAddr = steAddr;
            f.fault(EventId.F_STE_FETCH);
            return false;
        }
        return true;
    }

    /** The STE's address, or -1 with the fault in {@code f}. */
    long locate(final GuestMemory mem, final long strtabBase, final long strtabCfg, final int sid, final FaultRecord f) {
        final long sidU = Integer.toUnsignedLong(sid);
        // LOG2SIZE above SIDSIZE behaves as SIDSIZE for range checks and indexing (IHI0070 §6.3.25).
        final int log2size = (int) Math.min(StrtabL1.CFG_LOG2SIZE.get(strtabCfg), cfg.sidBits());
        if (log2size < 64 && (sidU >>> log2size) != 0) return f.fault(EventId.C_BAD_STREAMID);
        // ADDR is aligned down to the table's size, at least 64 bytes: its low bits are ignored (§6.3.24). Linux's
        // tables are naturally aligned (dmam_alloc_coherent), so this only changes what a misaligned base means.
        final long addr = StrtabL1.BASE_ADDR.raw(strtabBase);
        // FMT: reserved values behave as linear, and FMT is RES0 without IDR0.ST_LEVEL (§6.3.25).
        if (StrtabL1.CFG_FMT.get(strtabCfg) != StrtabL1.FMT_2LVL || !cfg.strtab2lvl()) {
            return (addr & -(Ste.SIZE << log2size)) + sidU * Ste.SIZE;
        }
        // SPLIT: 6, 8 or 10; other values are reserved and behave as 6 (§6.3.25).
        int split = (int) StrtabL1.CFG_SPLIT.get(strtabCfg);
        if (split != 8 && split != 10) split = 6;
        final long l1Bytes = (long) StrtabL1.SIZE << Math.max(0, log2size - split);
        final long l1Addr = (addr & -Math.max(64L, l1Bytes)) + (sidU >>> split) * StrtabL1.SIZE;
        final long l1;
        try {
            l1 = mem.load64Acquire(l1Addr);
        } catch (GuestMemoryException e) {
            f.fetchAddr = l1Addr;
            return f.fault(EventId.F_STE_FETCH);
        }
        // Span 0, a reserved Span (12-31) or one above SPLIT + 1: no StreamID of the descriptor is valid (§5.1.1,
        // C_BAD_STREAMID §7.3.3); nor is one beyond the 2^(Span-1) STEs of the level-2 array.
        final int span = (int) StrtabL1.SPAN.get(l1);
        if (span == 0 || span > split + 1) return f.fault(EventId.C_BAD_STREAMID);
        final long l2Index = sidU & ((1L << split) - 1);
        if ((l2Index >>> (span - 1)) != 0) return f.fault(EventId.C_BAD_STREAMID);
        // L2Ptr[5 + (Span - 1):0] are taken as 0: the array is aligned to its size (§5.1).
        return (StrtabL1.L2PTR.raw(l1) & -(64L << (span - 1))) + l2Index * Ste.SIZE;
    }

    /** Decodes STE dwords 0–3. Never throws; an ILLEGAL STE yields {@link StreamConfig.Invalid} (C_BAD_STE). */
    StreamConfig decode(final long d0, final long d1, final long d2, final long d3) {
        if (!Ste.V.isSet(d0)) return bad("V=0");
        final int config = (int) Ste.CONFIG.get(d0);
        switch (config) {
            case Ste.CONFIG_BYPASS: return StreamConfig.BYPASS;
            case Ste.CONFIG_S1, Ste.CONFIG_S2, Ste.CONFIG_NESTED: break;
            default: return StreamConfig.ABORT;   // 0b000, and the reserved 0b0xx that behave as it (IHI0070 §5.2)
        }
        final boolean s1on = (config & 1) != 0, s2on = (config & 2) != 0;
        if (s1on && !cfg.stage1()) return bad("stage 1 not implemented");
        if (s2on && !cfg.stage2()) return bad("stage 2 not implemented");
        final boolean s2s = s2on && Ste.S2S.isSet(d2);
        // EATS is IGNORED without IDR0.ATS; 0b11 (DPT checks) is reserved without IDR3.DPT and behaves as 0b00;
        // Full ATS with S2S and split-stage ATS outside nesting or with S2S are ILLEGAL (§5.2 EATS).
        int eats = cfg.ats() ? (int) Ste.EATS.get(d1) : 0;
        if (eats == 3) eats = 0;
        if (eats == 1 && s2s || eats == 2 && (config != Ste.CONFIG_NESTED || s2s)) return bad("EATS");

        StreamConfig.S1 s1 = null;
        if (s1on) {
            // STRW is IGNORED (NS-EL1) when stage 2 translates; 0bx1 is ILLEGAL; EL2 needs IDR0.HYP (§5.2 STRW).
            final int strw = s2on ? Ste.STRW_NSEL1 : (int) Ste.STRW.get(d1);
            if (strw != Ste.STRW_NSEL1 && !(strw == Ste.STRW_EL2 && cfg.hyp())) return bad("STRW");
            // S1STALLD = 1 is ILLEGAL unless the stall model is configurable (STALL_MODEL 0b00) (§5.2, §5.5).
            final boolean stallD = Ste.S1STALLD.isSet(d1);
            if (stallD && cfg.stallModel() != Idr.STALL_MODEL_STALL) return bad("S1STALLD with a fixed stall model");
            // S1CDMax is IGNORED without substreams (IDR1.SSIDSIZE = 0); otherwise above SSIDSIZE is ILLEGAL.
            final int cdMax = cfg.ssidBits() == 0 ? 0 : (int) Ste.S1_CD_MAX.get(d0);
            if (cdMax > cfg.ssidBits()) return bad("S1CDMax above SSIDSIZE");
            int fmt = (int) Ste.S1FMT.get(d0);
            int s1dss = (int) Ste.S1DSS.get(d1);
            if (cdMax == 0) {
                fmt = Ste.S1FMT_LINEAR;             // S1Fmt and S1DSS are IGNORED without substreams
            } else {
                if (fmt != Ste.S1FMT_LINEAR && !cfg.cd2l()) return bad("S1Fmt two-level without CD2L");
                if (fmt == 3) fmt = Ste.S1FMT_LINEAR;   // reserved, behaves as 0b00 (§5.2 S1Fmt)
                if (s1dss == 3) s1dss = Ste.S1DSS_TERMINATE;   // reserved, behaves as 0b00 (§5.2 S1DSS)
            }
            final long ptr = Ste.S1_CONTEXT_PTR.raw(d0);
            if (!s2on && (ptr >>> cfg.oasBits()) != 0) return bad("S1ContextPtr above OAS");
            s1 = new StreamConfig.S1(fmt, ptr, cdMax, s1dss, stallD, eats, strw);
        }
        StreamConfig.S2 s2 = null;
        if (s2on) {
            if (!Ste.S2AA64.isSet(d2)) return bad("S2AA64=0 (AArch32 tables unsupported)");
            if (Ste.S2ENDI.isSet(d2)) return bad("S2ENDI (big-endian tables unsupported)");
            final int g = Ste.s2GranuleShift((int) Ste.S2TG.get(d2));
            if (g < 0 || !cfg.granule(g)) return bad("S2TG");
            // S2T0SZ: at most 39 (no STT); at least 64 - IAS, and 16 below 64 KiB (no DS); IAS = OAS with
            // AArch64-only tables (§5.2 S2T0SZ, §3.4). Out of range is ILLEGAL from SMMUv3.1.
            final int ia = 64 - (int) Ste.S2T0SZ.get(d2);
            if (ia > Math.min(g == 16 ? 52 : 48, cfg.oasBits()) || ia < 25) return bad("S2T0SZ");
            final int sl0 = (int) Ste.S2SL0.get(d2);
            final int start = switch (sl0) {
                case 0 -> g == 12 ? 2 : 3;
                case 1 -> g == 12 ? 1 : 2;
                case 2 -> g == 12 ? 0 : 1;
                default -> -1;
            };
            if (start < 0) return bad("S2SL0");
            final int stride = g - 3;
            final int lsb = g + (3 - start) * stride;
            final int bits = ia - lsb;
            if (bits < 1 || bits > stride + 4) return bad("S2SL0 inconsistent with S2T0SZ");   // ≤ 16 concatenated
            // S2PS above OAS, reserved values included, behaves as OAS (§5.2 S2PS).
            final int ps = Math.min(Idr.addressBits((int) Ste.S2PS.get(d2)), cfg.oasBits());
            long ttb = Ste.S2TTB.raw(d3);
            // ILLEGAL outside the effective S2PS, or above 48 bits with a granule below 64 KiB (§5.2 S2TTB).
            if ((ttb >>> ps) != 0 || g != 16 && (ttb >>> 48) != 0) return bad("S2TTB above S2PS");
            ttb = alignTableBase(ttb, bits, ps);
            if (s2s && !cfg.stalls()) return bad("S2S with terminate-only stall model");   // §5.5
            if (!s2s && cfg.stallModel() == Idr.STALL_MODEL_FORCE) return bad("S2S=0 with stall forced");   // §5.5
            // S2HA/S2HD beyond IDR0.HTTU are ILLEGAL, not ignored (§5.2 S2HA); {S2HA, S2HD} = 0b01 is reserved and,
            // being legal here, behaves as 0b00.
            final boolean ha = Ste.S2HA.isSet(d2), hdSet = Ste.S2HD.isSet(d2);
            if (ha && cfg.httu() < Idr.HTTU_AF) return bad("S2HA without IDR0.HTTU");
            if (hdSet && cfg.httu() < Idr.HTTU_AF_DIRTY) return bad("S2HD without IDR0.HTTU dirty-state support");
            final boolean hd = ha && hdSet;
            s2 = new StreamConfig.S2((int) Ste.S2VMID.get(d2), ia, g, start, ps, ttb, Ste.S2AFFD.isSet(d2), ha, hd,
                    s2s, Ste.S2R.isSet(d2));
        }
        // Stage-1-only streams are still tagged with the STE's VMID (TLBI_NH_* carry one).
        return new StreamConfig.Translate(s1, s2, (int) Ste.S2VMID.get(d2));
    }

    /**
     * A starting-level table base: bits below the table's size ({@code 8 << bits} bytes) are taken as zero, with
     * a 64-byte minimum for 52-bit output (IHI0070 §5.2 S2TTB, §5.4 TTB0; QEMU aligns with the same index mask).
     */
    static long alignTableBase(final long ttb, final int bits, final int oaBits) {
        final long size = oaBits == 52 ? Math.max(64L, 8L << bits) : 8L << bits;
        return ttb & -size;
    }

    private static StreamConfig.Invalid bad(final String why) {
        return new StreamConfig.Invalid(EventId.C_BAD_STE, why);
    }
}
