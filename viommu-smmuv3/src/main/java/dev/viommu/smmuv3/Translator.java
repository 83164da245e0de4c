package dev.viommu.smmuv3;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.core.metrics.DeviceMetrics;
import dev.viommu.core.spi.Endpoint;
import dev.viommu.core.translate.AccessType;
import dev.viommu.core.translate.InvalidationListener;
import dev.viommu.core.translate.InvalidationNotifier;
import dev.viommu.core.translate.Translation;
import dev.viommu.core.translate.TranslationService;
import dev.viommu.smmuv3.spec.Cd;
import dev.viommu.smmuv3.spec.EventId;
import dev.viommu.smmuv3.spec.Evt;
import dev.viommu.smmuv3.spec.GbpaBits;
import dev.viommu.smmuv3.spec.SmmuReg;
import dev.viommu.smmuv3.spec.Ste;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * DMA translation for emulated endpoints (IHI0070 §3.4 flow; smmuv3.md B.11): IOTLB first, then the STE and CD
 * config caches, then the walks. Faults become event records as the architecture says (CD.R, STE.S2R,
 * CR2.RECINVSID), stalls when the stall model and CD.S/STE.S2S ask for them. An IOTLB hit allocates nothing.
 */
public final class Translator implements TranslationService {
    /** Untranslated (bypass) accesses report a 1 GiB "page": the output is the input everywhere. */
    static final long BYPASS_PAGE = 1L << 30;
    /** Fault codes for terminations the architecture records no event for. */
    public static final int ABORT_NO_EVENT = 0;

    /** StallListener action: the transaction is retried (CMD_RESUME Ac = 1). */
    static final int RESUME_RETRY = 1;

    /**
     * Told when a stalled transaction is resumed (RESUME, or the SMMU's own retry of IHI0070 §7.2.1) or terminated
     * (STALL_TERM, RESUME abort, SMMUEN = 0).
     */
    public interface StallListener {
        /** {@code action}: 0 terminate, 1 retry, 2 abort (CMD_RESUME.Action). */
        void resumed(int sid, int stag, int action);

        StallListener NONE = (s, t, a) -> { };
    }

    private final SmmuV3Device dev;
    private final SmmuV3Config cfg;
    private final StreamTable streamTable;
    private final CdDecoder cdDecoder;
    private final PageWalker walker;
    private final Iotlb iotlb;
    /** The IOTLB's entry array and set mask, held here so a hit is one dependent load shorter. */
    private final long[] iotlbHot;
    private final int iotlbSetMask;
    private final DenseMap<StreamConfig> steCache;
    private final DenseMap<CdConfig> cdCache;
    private final DenseMap<Long> stalls = new DenseMap<>(SmmuV3Config.STALL_MAX);
    private final PendingStallRecords unrecordedStalls = new PendingStallRecords(SmmuV3Config.STALL_MAX);
    private final FaultRecord fault = new FaultRecord();
    private final InvalidationNotifier notifier = new InvalidationNotifier();
    private final StreamMatcher streamMatcher = new StreamMatcher();
    private final int ssidLimitBits;
    private StallListener stallListener = StallListener.NONE;
    private int nextStag;
    private int victim;
    /**
     * Translations and IOTLB hits are counted in plain fields and published to the meters in batches: a meter
     * increment is an atomic add, which would cost more than the IOTLB hit itself. Published every
     * {@link #METRICS_BATCH} of a kind, on every fault, at each CMD_SYNC and on describe(), so a scrape lags by
     * fewer than that many.
     */
    static final int METRICS_BATCH = 1024;
    private long pendingHits, pendingMisses, pendingOther;
    private long hits, misses;
    /** The decoded STE/CD per (StreamID, SSID) of recent misses: a miss whose context is here walks at once. */
    private final StreamContext[] contexts = new StreamContext[StreamContext.SLOTS];
    /** CR0ACK.SMMUEN, kept here by the device so the hot path reads one field. */
    boolean enabled;

    Translator(final SmmuV3Device dev, final SmmuV3Config cfg) {
        this.dev = dev;
        this.cfg = cfg;
        this.streamTable = new StreamTable(cfg);
        this.cdDecoder = new CdDecoder(cfg);
        this.walker = new PageWalker(cfg);
        this.iotlb = new Iotlb(cfg.iotlbEntries());
        this.iotlbHot = iotlb.hot;
        this.iotlbSetMask = iotlb.setMask();
        this.steCache = new DenseMap<>(cfg.configCacheEntries());
        this.cdCache = new DenseMap<>(cfg.configCacheEntries());
        this.ssidLimitBits = cfg.ssidBits();
        for (int i = 0; i < contexts.length; i++) contexts[i] = new StreamContext();
    }

    Iotlb iotlb() { return iotlb; }

    /** TLBI: drops what {@code m} matches (probing exact keys for VA/range forms when that is cheaper). */
    int tlbi(final TlbiMatcher m) {
        return m.byVa() ? iotlb.removeVa(m, m.start(), m.length()) : iotlb.removeIf(m);
    }

    void stallListener(final StallListener l) { stallListener = l == null ? StallListener.NONE : l; }

    @Override public void addInvalidationListener(final InvalidationListener l) { notifier.add(l); }

    @Override public void removeInvalidationListener(final InvalidationListener l) { notifier.remove(l); }

    void notifyInvalidation(final int sid, final int pasid, final long iova, final long size) {
        if (!notifier.isEmpty()) notifier.notify(sid, pasid, iova, size);
    }

    // ---------------------------------------------------------------- translate

    @Override
    public boolean translate(final int sid, final int pasidIn, final long iova, final int accessIn, final Translation out) {
        final int pasid = pasidIn < 0 ? NO_PASID : pasidIn;
        final int access = RequestedAccess.of(accessIn);   // writes are Data; a fetch needs execute only (§13.1.2)
        if (enabled && (pasid < 0 || (ssidLimitBits != 0 && (pasid >>> ssidLimitBits) == 0))) {
            final long k1 = Integer.toUnsignedLong(sid) << 21 | (pasid + 1), page = iova >>> 12;   // Iotlb.key1/ssidTag (NO_PASID + 1 = 0)
            final long[] h = iotlbHot;
            final int base = Iotlb.setBase(k1, page, iotlbSetMask);
            int at = -1;
            for (int w = 0, b = base; w < Iotlb.WAYS; w++, b += Iotlb.STRIDE) {
                if (h[b + 1] == page && h[b] == k1) {   // the page first: on a miss it differs in every way
                    final long m = h[b + 2];
                    final int have = (int) ((access & AccessType.PRIV) != 0 ? m >>> Iotlb.META_PRIV_SHIFT : m)
                            & (int) Iotlb.META_PERMS_MASK;
                    if ((access & PageWalker.rwx() & ~have) != 0) { at = b; break; }   // may have changed: walk again
                    if (++pendingHits >= METRICS_BATCH) publishMetrics();
                    return out.success((m & ~0xFFFL) | (iova & 0xFFF), have,
                            1L << (int) (m >>> Iotlb.META_SIZE_SHIFT & 0x3F)).ok;
                }
            }
            if (++pendingMisses >= METRICS_BATCH) publishMetrics();
            final StreamContext c = contexts[StreamContext.index(k1)];
            if (c.key1 == k1) return walk(c, sid, pasid, iova, access, out, base, at);
            return slow(sid, pasid, iova, access, out);
        }
        if (++pendingOther >= METRICS_BATCH) publishMetrics();
        if (!enabled) {
            // SMMUEN = 0: GBPA decides (IHI0070 §6.3.14); no event either way.
            if (GbpaBits.ABORT.isSet(dev.regs.get(SmmuReg.GBPA))) return out.fault(ABORT_NO_EVENT, "GBPA_ABORT").ok;
            return out.success(iova, PageWalker.rwx(), BYPASS_PAGE).ok;
        }
        return slow(sid, pasid, iova, access, out);   // an SSID the SMMU cannot carry: C_BAD_SUBSTREAMID there
    }

    /**
     * For the benchmarks' cost breakdown: the stage-1 walk alone of a (StreamID, SSID) whose context is in the
     * front, without the IOTLB probe or fill; -1 if the context is not there or the walk faults (no event).
     */
    long walkOnly(final int sid, final int pasid, final long iova, final int access) {
        final long k1 = Iotlb.key1(sid, Iotlb.ssidTag(pasid));
        final StreamContext c = contexts[StreamContext.index(k1)];
        if (c.key1 != k1 || c.cd == null || c.s2 != null) return -1;
        walker.memory(dev.memory());
        final long pa = walker.stage1(c.cd, c.el2, null, iova, access, fault);
        if (pa < 0) fault.clear();   // the walker writes the record only when it faults
        return pa;
    }

    /** IOTLB hits ({@code true}) or misses so far. */
    long lookups(final boolean hit) {
        publishMetrics();
        return hit ? hits : misses;
    }

    /** Publishes the batched translation and hit counts to the device's meters. */
    void publishMetrics() {
        final DeviceMetrics m = dev.context().metrics();
        final long translations = pendingHits + pendingMisses + pendingOther;
        if (translations != 0) m.translations.increment(translations);
        if (pendingHits != 0) m.iotlbHits.increment(pendingHits);
        if (pendingMisses != 0) m.iotlbMisses.increment(pendingMisses);
        hits += pendingHits;
        misses += pendingMisses;
        pendingHits = 0;
        pendingMisses = 0;
        pendingOther = 0;
    }

    /**
     * An IOTLB miss whose stream context is in the front: the walk and the fill, with no config-cache lookup and
     * no fault-record set-up unless the walk faults. Only the stage-1-only success path is here, so that this
     * method stays small enough for C2 to inline into {@link #translate} (a real call measured ≈ 4 ns per miss);
     * stage 2, nesting and faults go to {@link #walkStages} and {@link #stage1Fault}.
     */
    private boolean walk(final StreamContext c, final int sid, final int pasid, final long iova, final int access,
                         final Translation out, final int setBase, final int at) {
        walker.memory(dev.memory());
        final CdConfig cd = c.cd;
        if (cd == null || c.s2 != null) return walkStages(c, sid, pasid, iova, access, out, setBase, at);
        final PageWalker w = walker;
        final long pa = w.stage1(cd, c.el2, null, iova, access, fault);
        if (pa < 0) return stage1Fault(c, sid, pasid, iova, access, out);
        final int pp = w.permsPriv, pu = w.permsUnpriv;
        final long size = w.leafSize;
        // The walk touched guest memory only: the set is as the probe left it.
        iotlb.fillAt(setBase, at, c.key1, iova >>> 12, Iotlb.meta(pa & ~0xFFFL, pu, pp, size),
                Iotlb.leafTag(c.tag, w.global, size, 0), 0);
        return out.success(pa, (access & AccessType.PRIV) != 0 ? pp : pu, size).ok;
    }

    /** A stage-1 walk fault (the record is in {@link #fault}): CLASS/S2 say which stage; then the event. */
    private boolean stage1Fault(final StreamContext c, final int sid, final int pasid, final long iova, final int access,
                                final Translation out) {
        final FaultRecord f = fault;
        f.identify(sid, pasid, iova, access);
        if (f.s2) stageFault(f, c.s2.record(), c.s2.stall());
        else stageFault(f, c.cd.record(), c.cd.stall() && !c.s1StallDisabled);
        return raise(f, out);
    }

    /** {@link #walk} for streams with stage 2 (stage-2-only or nested) or with stage 1 bypassed. */
    private boolean walkStages(final StreamContext c, final int sid, final int pasid, final long iova, final int access,
                               final Translation out, final int setBase, final int at) {
        final FaultRecord f = fault;
        final CdConfig cd = c.cd;
        final StreamConfig.S2 s2 = c.s2;
        long ipa = iova;
        int pp = PageWalker.rwx(), pu = PageWalker.rwx();
        long s1Size = 0;
        boolean global = true;
        if (cd != null) {
            ipa = walker.stage1(cd, c.el2, s2, iova, access, f);
            if (ipa < 0) return stage1Fault(c, sid, pasid, iova, access, out);
            pp = walker.permsPriv;
            pu = walker.permsUnpriv;
            s1Size = walker.leafSize;
            global = walker.global;
        }
        long pa = ipa, s2Base = 0, s2Size = 0, size = s1Size;
        if (s2 != null) {
            pa = walker.stage2(s2, ipa, access, Evt.CLASS_IN, f);
            if (pa < 0) {
                f.identify(sid, pasid, iova, access);
                stageFault(f, s2.record(), s2.stall());
                return raise(f, out);
            }
            pp &= walker.permsPriv;
            pu &= walker.permsUnpriv;
            s2Base = walker.leafBase;
            s2Size = walker.leafSize;
            size = cd != null ? Math.min(s1Size, s2Size) : s2Size;
        }
        // The walk touched guest memory only: the set is as the probe left it.
        iotlb.fillAt(setBase, at, c.key1, iova >>> 12, Iotlb.meta(pa & ~0xFFFL, pu, pp, size),
                Iotlb.leafTag(c.tag, global, s1Size, s2Size), s2Base);
        return out.success(pa, (access & AccessType.PRIV) != 0 ? pp : pu, size).ok;
    }

    /** The uncached path: STE and CD from the config caches (or guest memory), then the walk via the front. */
    private boolean slow(final int sid, final int pasid, final long iova, final int access, final Translation out) {
        final GuestMemory mem = dev.memory();
        walker.memory(mem);
        final FaultRecord f = fault.reset(sid, pasid, iova, access);
        if (dev.isPassthrough(sid)) return out.fault(ABORT_NO_EVENT, "PASSTHROUGH_STREAM").ok;   // the host translates it
        final StreamConfig sc = streamConfig(mem, sid, f);
        if (sc == null) return raise(f, out);
        return switch (sc) {
            case StreamConfig.Abort a -> out.fault(ABORT_NO_EVENT, "STE_ABORT").ok;
            case StreamConfig.Bypass b -> {
                if (pasid < 0) yield out.success(iova, PageWalker.rwx(), BYPASS_PAGE).ok;
                f.fault(EventId.C_BAD_SUBSTREAMID);   // a SubstreamID with stage 1 disabled (IHI0070 §5.2 S1Fmt)
                yield raise(f, out);
            }
            case StreamConfig.Invalid bad -> { f.fault(bad.eventId()); yield raise(f, out); }
            case StreamConfig.Translate t -> translateStream(mem, t, sid, pasid, iova, access, f, out);
        };
    }

    /** The cached or freshly decoded STE, or null with the fault in {@code f}. */
    private StreamConfig streamConfig(final GuestMemory mem, final int sid, final FaultRecord f) {
        StreamConfig sc = steCache.get(Integer.toUnsignedLong(sid), 0);
        if (sc != null) return sc;
        if (!streamTable.fetch(mem, dev.regs.get(SmmuReg.STRTAB_BASE), dev.regs.get(SmmuReg.STRTAB_BASE_CFG), sid, f)) {
            if (f.eventId == EventId.C_BAD_STREAMID) f.record = (dev.regs.get(SmmuReg.CR2) & 2) != 0;   // RECINVSID
            return null;
        }
        final long[] w = streamTable.words;
        sc = streamTable.decode(w[0], w[1], w[2], w[3]);
        if (sc instanceof StreamConfig.Invalid bad) {
            dev.guestLog().warn("C_BAD_STE for StreamID " + Integer.toUnsignedString(sid), bad.reason());
            f.fault(bad.eventId());
            return null;
        }
        steCache.put(Integer.toUnsignedLong(sid), 0, sc, victim++);   // invalid STEs are never cached
        return sc;
    }

    /** Resolves the stream's CD (S1DSS, SSID checks, CD fetch), fills the front, and walks. */
    private boolean translateStream(final GuestMemory mem, final StreamConfig.Translate t, final int sid, final int pasid,
                                    final long iova, final int access, final FaultRecord f, final Translation out) {
        final StreamConfig.S1 s1 = t.s1();
        final StreamConfig.S2 s2 = t.s2();
        final int world = s1 == null ? StreamWorld.NS_EL1 : StreamWorld.of(s1.strw(), e2h());
        CdConfig cd = null;
        if (s1 != null) {
            int cdIndex = 0;
            boolean bypassS1 = false;
            if (pasid < 0) {
                if (s1.cdMax() != 0) {
                    switch (s1.s1dss()) {
                        case Ste.S1DSS_TERMINATE -> { f.fault(EventId.F_STREAM_DISABLED); return raise(f, out); }
                        case Ste.S1DSS_BYPASS -> bypassS1 = true;
                        default -> cdIndex = 0;
                    }
                }
            } else {
                if (s1.cdMax() == 0 || (pasid >>> s1.cdMax()) != 0) {
                    f.fault(EventId.C_BAD_SUBSTREAMID);
                    return raise(f, out);
                }
                if (s1.s1dss() == Ste.S1DSS_SSID0 && pasid == 0) {   // substream 0 is reserved for no-SSID traffic
                    f.fault(EventId.F_STREAM_DISABLED);               // IHI0070 §5.2 S1DSS = 0b10
                    return raise(f, out);
                }
                cdIndex = pasid;
            }
            if (!bypassS1) {
                cd = cdCache.get(Integer.toUnsignedLong(sid), cdIndex);
                if (cd == null) {
                    cd = fetchCd(mem, s1, s2, sid, cdIndex, world, f);
                    if (cd == null) return raise(f, out);
                }
            } else if (s2 == null) {
                return out.success(iova, PageWalker.rwx(), BYPASS_PAGE).ok;   // S1DSS bypass, stage 2 bypassed
            }
        } else if (pasid >= 0) {
            f.fault(EventId.C_BAD_SUBSTREAMID);   // a SubstreamID with stage 1 disabled (IHI0070 §5.2 S1Fmt)
            return raise(f, out);
        }
        final long k1 = Iotlb.key1(sid, Iotlb.ssidTag(pasid));
        final StreamContext c = contexts[StreamContext.index(k1)];
        c.set(k1, t, cd, world, s1 != null && s1.stallDisabled());
        f.clear();
        final long page = iova >>> 12;
        return walk(c, sid, pasid, iova, access, out, iotlb.setBase(k1, page), iotlb.find(k1, page));
    }

    /**
     * CR2.E2H, which selects EL2 or EL2-E2H for STRW = EL2 (IHI0070 §6.3.12). It can change only while SMMUEN = 0
     * and software must then invalidate EL2 configuration and TLB entries (§6.3.12.3), so it is read when a
     * stream's configuration is resolved and cached with it.
     */
    private boolean e2h() { return (dev.regs.get(SmmuReg.CR2) & 1) != 0; }

    /**
     * Fetches and decodes CD {@code cdIndex} for a stream of {@link StreamWorld} {@code world}; in nested mode
     * every CD-table address is an IPA (CLASS=CD).
     */
    private CdConfig fetchCd(final GuestMemory mem, final StreamConfig.S1 s1, final StreamConfig.S2 s2, final int sid,
                             final int cdIndex, final int world, final FaultRecord f) {
        final long ptr = s1.contextPtr();
        long cdAddr;
        if (s1.fmt() == Ste.S1FMT_LINEAR) {
            cdAddr = ptr + (long) cdIndex * Cd.SIZE;
        } else {
            final int split = s1.fmt() == Ste.S1FMT_4K_L2 ? 6 : 10;
            final long l1 = ptr + (long) (cdIndex >>> split) * 8;
            final long l1pa = s2 == null ? l1 : walker.stage2(s2, l1, AccessType.READ, Evt.CLASS_CD, f);
            if (l1pa < 0) { stageFault(f, s2.record(), false); return null; }
            final long desc;
            try {
                desc = mem.load64Acquire(l1pa);
            } catch (GuestMemoryException e) {
                f.fetchAddr = l1pa;
                f.fault(EventId.F_CD_FETCH);
                return null;
            }
            if (!Cd.L1_V.isSet(desc)) { f.fault(EventId.C_BAD_SUBSTREAMID); return null; }
            cdAddr = Cd.L1_L2PTR.raw(desc) + (long) (cdIndex & ((1 << split) - 1)) * Cd.SIZE;
        }
        final long pa = s2 == null ? cdAddr : walker.stage2(s2, cdAddr, AccessType.READ, Evt.CLASS_CD, f);
        if (pa < 0) { stageFault(f, s2.record(), false); return null; }
        final long d0, d1, d2;
        try {
            d0 = mem.load64Acquire(pa);
            d1 = mem.load64Acquire(pa + 8);
            d2 = mem.load64Acquire(pa + 16);
        } catch (GuestMemoryException e) {
            f.fetchAddr = pa;
            f.fault(EventId.F_CD_FETCH);
            return null;
        }
        final CdConfig cd = cdDecoder.decode(d0, d1, d2, s1.stallDisabled(), world);
        if (cd == null) {
            dev.guestLog().warn("C_BAD_CD for StreamID " + Integer.toUnsignedString(sid) + " CD " + cdIndex, cdDecoder.lastReason);
            f.fault(EventId.C_BAD_CD);
            return null;
        }
        cdCache.put(Integer.toUnsignedLong(sid), cdIndex, cd, victim++);
        return cd;
    }

    /** A translation-class fault: recorded per R/S2R; stalled when S/S2S and the stall model allow it. */
    private void stageFault(final FaultRecord f, final boolean record, final boolean stall) {
        if (!f.isTranslationFault()) return;   // F_WALK_EABT and friends are always recorded
        f.record = record;
        if (stall && cfg.stalls() && !stalls.isFull()) {
            f.stall = true;
            f.stag = nextStag++ & 0xFFFF;
            f.record = true;
            stalls.put(Integer.toUnsignedLong(f.sid), f.stag, f.inputAddr, 0);
        }
    }

    private boolean raise(final FaultRecord f, final Translation out) {
        publishMetrics();
        dev.context().metrics().fault(f.name());
        if (f.stall) recordStall(f);
        else if (f.record) dev.writeEvent(f.dw0(), f.dw1(), f.dw2(), f.dw3(), false);
        final boolean ok = out.fault(f.eventId, f.name()).ok;
        f.clear();   // the success paths rely on a clean record
        return ok;
    }

    // ---------------------------------------------------------------- stalls

    /** A stall's record goes behind any kept back before it, and waits with them while the queue cannot take it. */
    private void recordStall(final FaultRecord f) {
        unrecordedStalls.add(f.sid, f.stag, f.dw0(), f.dw1(), f.dw2(), f.dw3());
        recordPendingStalls(false);   // no retry from inside a translation: its fault record is still in use
    }

    /** The event queue may have become writable: records kept back go out, and marked stalls are retried. */
    void recordPendingStalls() { recordPendingStalls(true); }

    /**
     * Writes the stall records kept back, oldest first, while the event queue takes them (§7.2.1). A record
     * marked for retry (its stream was invalidated and synchronised meanwhile) is not written: once the queue is
     * writable its transaction is released with Retry, as though resumed, and faults again (recorded then) or
     * succeeds. Bounded by the records kept (each pass removes one).
     */
    private void recordPendingStalls(final boolean mayRetry) {
        while (unrecordedStalls.size() > 0) {
            if (unrecordedStalls.firstRetries()) {
                if (!mayRetry || !dev.eventQueueWritable()) return;
                final int sid = unrecordedStalls.firstSid(), stag = unrecordedStalls.firstStag();
                unrecordedStalls.removeFirst();
                stalls.remove(Integer.toUnsignedLong(sid), stag);
                stallListener.resumed(sid, stag, RESUME_RETRY);
                continue;
            }
            final int r = dev.writeEvent(unrecordedStalls.first(0), unrecordedStalls.first(1), unrecordedStalls.first(2),
                    unrecordedStalls.first(3), true);
            if (r == SmmuV3Device.EVENT_UNWRITABLE) return;
            unrecordedStalls.removeFirst();   // written, or lost to a write abort (§7.2.2 permits it)
        }
    }

    /** An invalidation completed by CMD_SYNC: stalls whose records still wait are to be retried (§7.2.1). */
    void invalidationSynchronised() {
        if (unrecordedStalls.size() == 0) return;
        unrecordedStalls.markAllForRetry();
        recordPendingStalls(true);
    }

    void resume(final int sid, final int stag, final int action) {
        if (!stalls.remove(Integer.toUnsignedLong(sid), stag & 0xFFFF)) {
            dev.guestLog().warn("RESUME for no stalled transaction", sid + "/" + stag);
            return;
        }
        unrecordedStalls.remove(sid, stag & 0xFFFF);
        stallListener.resumed(sid, stag & 0xFFFF, action);
    }

    /**
     * Clearing SMMUEN (and so a reset) terminates every stalled transaction (IHI0070 §3.12.2: software may rely on
     * it instead of RESUME/STALL_TERM, and STAGs may be reused afterwards): each endpoint is told, as by
     * STALL_TERM, and the stall table (at most STALL_MAX) is free again.
     */
    void terminateAllStalls() {
        unrecordedStalls.clear();
        for (int i = stalls.size() - 1; i >= 0; i--) {
            final int sid = (int) stalls.key1At(i), stag = (int) stalls.key2At(i);
            stalls.removeAt(i);
            stallListener.resumed(sid, stag, 0);
        }
    }

    void stallTerm(final int sid) {
        unrecordedStalls.remove(sid, -1);
        for (int i = stalls.size() - 1; i >= 0; i--) {
            if (stalls.key1At(i) == Integer.toUnsignedLong(sid)) {
                final int stag = (int) stalls.key2At(i);
                stalls.removeAt(i);
                stallListener.resumed(sid, stag, 0);
            }
        }
    }

    // ---------------------------------------------------------------- invalidation

    /** Drops the STE, every CD and every IOTLB entry of one stream. */
    void invalidateStream(final int sid) {
        invalidateStreams(Integer.toUnsignedLong(sid), 1);
    }

    /** Drops streams [{@code first}, {@code first + count}); cost proportional to the live entries. */
    void invalidateStreams(final long first, final long count) {
        removeSids(steCache, first, count);
        removeSids(cdCache, first, count);
        dropContexts();
        iotlb.removeIf(streamMatcher.streams(first, count));
    }

    /** CFGI_CD: drops one CD and the IOTLB entries of that substream (CD 0 also serves no-SSID traffic). */
    void invalidateSubstream(final int sid, final int ssid) {
        cdCache.remove(Integer.toUnsignedLong(sid), ssid);
        dropContexts();
        iotlb.removeIf(streamMatcher.substream(sid, ssid));
    }

    void invalidateAll() {
        steCache.clear();
        cdCache.clear();
        dropContexts();
        iotlb.clear();
    }

    /** Any configuration invalidation empties the context front: {@link StreamContext#SLOTS} stores. */
    private void dropContexts() {
        for (StreamContext c : contexts) c.drop();
    }

    private static void removeSids(final DenseMap<?> m, final long first, final long count) {
        for (int i = m.size() - 1; i >= 0; i--) {
            if (Long.compareUnsigned(m.key1At(i) - first, count) < 0) m.removeAt(i);
        }
    }

    private static final class StreamMatcher implements Iotlb.Matcher {
        private long first, count;
        private int ssidTag = -1;

        StreamMatcher streams(final long f, final long c) { first = f; count = c; ssidTag = -1; return this; }

        StreamMatcher substream(final int sid, final int ssid) {
            first = Integer.toUnsignedLong(sid);
            count = 1;
            ssidTag = ssid + 1;
            return this;
        }

        @Override
        public boolean matches(final long key1, final long page, final long tag, final long s2Base) {
            if (Long.compareUnsigned((key1 >>> 21) - first, count) >= 0) return false;
            final int t = (int) (key1 & 0x1FFFFF);
            return ssidTag < 0 || t == ssidTag || (ssidTag == 1 && t == 0);
        }
    }

    // ---------------------------------------------------------------- host view and state dump

    /** The STE of {@code sid} decoded for the host dispatcher: dwords into {@code words}; never reads CDs. */
    StreamConfig decodeSteForHost(final int sid, final long[] words) {
        final FaultRecord f = new FaultRecord().reset(sid, NO_PASID, 0, 0);
        java.util.Arrays.fill(words, 0);
        if (!streamTable.fetch(dev.memory(), dev.regs.get(SmmuReg.STRTAB_BASE), dev.regs.get(SmmuReg.STRTAB_BASE_CFG), sid, f)) {
            return new StreamConfig.Invalid(f.eventId, f.name());
        }
        System.arraycopy(streamTable.words, 0, words, 0, 4);
        return streamTable.decode(words[0], words[1], words[2], words[3]);
    }

    List<Object> describeStreams(final Iterable<Endpoint> endpoints) {
        final List<Object> l = new ArrayList<>();
        final long[] w = new long[4];
        for (Endpoint e : endpoints) {
            final Map<String, Object> m = new LinkedHashMap<>();
            m.put("sid", e.sourceId());
            m.put("endpoint", e.id());
            final StreamConfig sc = decodeSteForHost(e.sourceId(), w);
            m.put("ste", List.of(hex(w[0]), hex(w[1]), hex(w[2]), hex(w[3])));
            m.put("config", String.valueOf(sc));
            m.put("cached", steCache.find(Integer.toUnsignedLong(e.sourceId()), 0) >= 0);
            l.add(m);
        }
        for (int i = 0; i < steCache.size(); i++) {
            l.add(Map.of("sid", Long.toString(steCache.key1At(i)), "cachedConfig", String.valueOf(steCache.valueAt(i))));
        }
        return l;
    }

    Map<String, Object> describeCaches() {
        publishMetrics();
        final Map<String, Object> m = new LinkedHashMap<>();
        m.put("iotlb", Map.of("entries", iotlb.size(), "capacity", iotlb.capacity(), "ways", Iotlb.WAYS, "hits", hits,
                "misses", misses, "evictions", iotlb.evictions()));
        m.put("steCache", Map.of("entries", steCache.size(), "capacity", steCache.capacity()));
        m.put("cdCache", Map.of("entries", cdCache.size(), "capacity", cdCache.capacity()));
        m.put("stalledTransactions", stalls.size());
        m.put("unrecordedStalls", unrecordedStalls.size());
        m.put("httuUpdates", walker.httuUpdates);
        return m;
    }

    /**
     * PREFETCH_CONFIG: loads the STE (and, for a substream, its CD) into the config caches. A hint: nothing is
     * recorded if the structures are bad, and passthrough streams are never prefetched (their CDs are the host's).
     */
    void prefetch(final int sid, final int pasid) {
        final GuestMemory mem = dev.memory();
        walker.memory(mem);
        final FaultRecord f = new FaultRecord().reset(sid, pasid, 0, 0);
        final StreamConfig sc = streamConfig(mem, sid, f);
        if (sc instanceof StreamConfig.Translate t && t.s1() != null) {
            final int cdIndex = pasid < 0 ? 0 : pasid;
            if (pasid >= 0 && (t.s1().cdMax() == 0 || (pasid >>> t.s1().cdMax()) != 0)) return;
            if (cdCache.find(Integer.toUnsignedLong(sid), cdIndex) < 0) {
                fetchCd(mem, t.s1(), t.s2(), sid, cdIndex, StreamWorld.of(t.s1().strw(), e2h()), f);
            }
        }
    }

    private static String hex(final long v) { return "0x" + Long.toHexString(v); }
}
