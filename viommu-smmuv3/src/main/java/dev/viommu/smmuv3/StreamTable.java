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
        // LOG2SIZE above SIDSIZE behaves as SIDSIZE (IHI0070 §6.3.24).
        final int log2size = (int) Math.min(StrtabL1.CFG_LOG2SIZE.get(strtabCfg), cfg.sidBits());
        if (log2size < 64 && (sidU >>> log2size) != 0) return f.fault(EventId.C_BAD_STREAMID);
        final long base = StrtabL1.BASE_ADDR.raw(strtabBase);
        final int fmt = (int) StrtabL1.CFG_FMT.get(strtabCfg);
        if (fmt == StrtabL1.FMT_LINEAR) return base + sidU * Ste.SIZE;
        if (fmt != StrtabL1.FMT_2LVL || !cfg.strtab2lvl()) {
            // A reserved FMT: no StreamID resolves ⚠ (CONSTRAINED UNPREDICTABLE in the spec; we pick "none").
            return f.fault(EventId.C_BAD_STREAMID);
        }
        int split = (int) StrtabL1.CFG_SPLIT.get(strtabCfg);
        split = split <= 6 ? 6 : split <= 8 ? 8 : 10;          // reserved SPLIT values: nearest legal ⚠
        split = Math.min(split, log2size);
        final long l1Addr = base + (sidU >>> split) * StrtabL1.SIZE;
        final long l1;
        try {
            l1 = mem.load64Acquire(l1Addr);
        } catch (GuestMemoryException e) {
            f.fetchAddr = l1Addr;
            return f.fault(EventId.F_STE_FETCH);
        }
        int span = (int) StrtabL1.SPAN.get(l1);
        if (span == 0) return f.fault(EventId.C_BAD_STREAMID);
        span = Math.min(span, split + 1);                      // Span above SPLIT+1 is treated as SPLIT+1 ⚠
        final long l2Index = sidU & ((1L << split) - 1);
        if ((l2Index >>> (span - 1)) != 0) return f.fault(EventId.C_BAD_STREAMID);
        return StrtabL1.L2PTR.raw(l1) + l2Index * Ste.SIZE;
    }

    /** Decodes STE dwords 0–3. Never throws; an ILLEGAL STE yields {@link StreamConfig.Invalid} (C_BAD_STE). */
    StreamConfig decode(final long d0, final long d1, final long d2, final long d3) {
        if (!Ste.V.isSet(d0)) return bad("V=0");
        final int config = (int) Ste.CONFIG.get(d0);
        switch (config) {
            case Ste.CONFIG_ABORT: return StreamConfig.ABORT;
            case Ste.CONFIG_BYPASS: return StreamConfig.BYPASS;
            case Ste.CONFIG_S1, Ste.CONFIG_S2, Ste.CONFIG_NESTED: break;
            default: return bad("reserved Config");
        }
        final boolean s1on = (config & 1) != 0, s2on = (config & 2) != 0;
        if (s1on && !cfg.stage1()) return bad("stage 1 not implemented");
        if (s2on && !cfg.stage2()) return bad("stage 2 not implemented");
        final int eats = (int) Ste.EATS.get(d1);
        if (eats == 3 || (eats != 0 && !cfg.ats())) return bad("EATS");
        final int strw = (int) Ste.STRW.get(d1);
        if (strw != Ste.STRW_NSEL1 && !(strw == Ste.STRW_EL2 && cfg.hyp())) return bad("STRW");

        StreamConfig.S1 s1 = null;
        if (s1on) {
            final int cdMax = (int) Ste.S1_CD_MAX.get(d0);
            if (cdMax > cfg.ssidBits()) return bad("S1CDMax above SSIDSIZE");
            final int fmt = (int) Ste.S1FMT.get(d0);
            final int s1dss = (int) Ste.S1DSS.get(d1);
            if (cdMax != 0) {
                if (fmt == 3 || (fmt != Ste.S1FMT_LINEAR && !cfg.cd2l())) return bad("S1Fmt");
                if (s1dss == 3) return bad("S1DSS");
            }
            final long ptr = Ste.S1_CONTEXT_PTR.raw(d0);
            if (!s2on && (ptr >>> cfg.oasBits()) != 0) return bad("S1ContextPtr above OAS");
            s1 = new StreamConfig.S1(cdMax == 0 ? Ste.S1FMT_LINEAR : fmt, ptr, cdMax, s1dss, Ste.S1STALLD.isSet(d1),
                    eats, strw);
        }
        StreamConfig.S2 s2 = null;
        if (s2on) {
            if (!Ste.S2AA64.isSet(d2)) return bad("S2AA64=0 (AArch32 tables unsupported)");
            if (Ste.S2ENDI.isSet(d2)) return bad("S2ENDI (big-endian tables unsupported)");
            final int g = Ste.s2GranuleShift((int) Ste.S2TG.get(d2));
            if (g < 0 || !cfg.granule(g)) return bad("S2TG");
            final int ia = 64 - (int) Ste.S2T0SZ.get(d2);
            final int maxIa = g == 16 && cfg.oasBits() == 52 ? 52 : 48;
            if (ia > maxIa || ia < 25) return bad("S2T0SZ");
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
            final int ps = Math.min(Idr.addressBits((int) Ste.S2PS.get(d2)), cfg.oasBits());
            long ttb = Ste.S2TTB.raw(d3);
            if ((ttb >>> ps) != 0) return bad("S2TTB above S2PS");
            ttb &= ~(Math.max(64L, 8L << bits) - 1);            // low bits of a misaligned base are ignored ⚠
            final boolean s2s = Ste.S2S.isSet(d2);
            if (s2s && !cfg.stalls()) return bad("S2S with terminate-only stall model");
            if (!s2s && cfg.stallModel() == Idr.STALL_MODEL_FORCE) return bad("S2S=0 with stall forced");
            final boolean ha = Ste.S2HA.isSet(d2) && cfg.httu() >= Idr.HTTU_AF;
            final boolean hd = ha && Ste.S2HD.isSet(d2) && cfg.httu() >= Idr.HTTU_AF_DIRTY;
            s2 = new StreamConfig.S2((int) Ste.S2VMID.get(d2), ia, g, start, ps, ttb, Ste.S2AFFD.isSet(d2), ha, hd,
                    s2s, Ste.S2R.isSet(d2));
        }
        // Stage-1-only streams are still tagged with the STE's VMID (TLBI_NH_* carry one).
        return new StreamConfig.Translate(s1, s2, (int) Ste.S2VMID.get(d2));
    }

    private static StreamConfig.Invalid bad(final String why) {
        return new StreamConfig.Invalid(EventId.C_BAD_STE, why);
    }
}
