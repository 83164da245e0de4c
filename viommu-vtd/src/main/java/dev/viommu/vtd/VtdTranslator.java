package dev.viommu.vtd;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.core.metrics.DeviceMetrics;
import dev.viommu.core.translate.AccessType;
import dev.viommu.core.translate.InvalidationListener;
import dev.viommu.core.translate.InvalidationNotifier;
import dev.viommu.core.translate.Translation;
import dev.viommu.core.translate.TranslationService;
import dev.viommu.vtd.spec.ContextEntry;
import dev.viommu.vtd.spec.FaultReason;
import dev.viommu.vtd.spec.FsPte;
import dev.viommu.vtd.spec.PasidDirEntry;
import dev.viommu.vtd.spec.PasidEntry;
import dev.viommu.vtd.spec.RootEntry;
import dev.viommu.vtd.spec.ScalableContextEntry;
import dev.viommu.vtd.spec.SsPte;

import java.util.function.Supplier;

/**
 * DMA remapping for requests from emulated endpoints (VT-d chapter 3): the root and context tables, in scalable
 * mode the PASID directory and table, then the walk the PGTT selects (first-stage, second-stage, nested or
 * pass-through). Decoded entries live in the context cache, PASID cache and IOTLB; an IOTLB hit reads no guest
 * memory and allocates nothing. Faults are recorded through {@link FaultRecorder} unless FPD suppresses them.
 * <p>
 * Walk state is kept in fields (the device serialises calls), so the miss path allocates nothing either.
 */
final class VtdTranslator implements TranslationService {
    private static final long INTR_FIRST = 0xFEE0_0000L, INTR_LAST = 0xFEEF_FFFFL;
    private static final int FULL = Iotlb.UR | Iotlb.UW | Iotlb.SR | Iotlb.SW | Iotlb.DIRTY_DONE;

    private final VtdConfig cfg;
    private final Supplier<GuestMemory> memory;
    private final DeviceMetrics metrics;
    private final FaultRecorder faults;
    final CacheEpoch epoch = new CacheEpoch();
    final DirectCache contextCache = new DirectCache(epoch);
    final MicroTlb l0 = new MicroTlb(epoch);
    final PasidCache pasidCache;
    final Iotlb iotlb;
    private final TableReader tables = new TableReader();
    final InvalidationNotifier notifier = new InvalidationNotifier();
    private final long hawMask;
    /** Input addresses above MGAW (CAP.MGAW + 1 = aw-bits) fault; the mask of the bits below it. */
    private final long mgawMask;
    /** Second-stage entry address bits, fixed by the configuration. */
    private final long ssAddrMask;
    /**
     * Second-stage reserved bits (vtd.md A.10.1), fixed by the configuration: bits 51:HAW and 62 (TM) always; SNP
     * in non-leaves and, without ECAP.SC, in leaves; the address bits below the page size in 2 MiB / 1 GiB leaves.
     * {@link #ssDirRsvd} is the non-leaf mask (PS clear). {@link #ssRsvd}, indexed by {@code 2 * level + PS}, is
     * the mask of the walk's last entry: at level 1 PS is ignored (both slots hold the 4 KiB leaf mask); PS at
     * level 4 or 5 is reserved, so those slots hold the non-leaf mask with PS.
     */
    private final long ssDirRsvd;
    private final long[] ssRsvd = new long[12];

    // state latched by the device (GSTS.TES, RTADDR at SRTP)
    boolean enabled;
    long rta;
    int ttm;

    // the request being translated and its L0 slot, for MicroTlb fills; l0Mask drops SR/SW where a supervisor
    // request must fault
    private int curSid, curPasid, curSlot, l0Mask;

    // walk outputs
    private long wOut;
    private int wLevel;
    private int wPerms;
    private boolean fpd;
    // second-stage walk outputs (kept apart: a nested walk runs SS walks inside an FS walk); ssPerms: R and W
    // ANDed over the levels, as Iotlb bits for user and supervisor requests alike (UR | SR, UW | SW)
    private long ssOut;
    private int ssLevel, ssPerms;

    long hits, misses, translations;
    /** What the Micrometer counters have been told so far (see {@link #publishMetrics}). */
    private long pubHits, pubMisses, pubTranslations;
    /** Counters are published every 2^10 translations, not per translation: a Micrometer increment is a CAS. */
    private static final int PUBLISH_MASK = 0x3FF;

    VtdTranslator(final VtdConfig cfg, final Supplier<GuestMemory> memory, final DeviceMetrics metrics,
                  final FaultRecorder faults) {
        this.cfg = cfg;
        this.memory = memory;
        this.metrics = metrics;
        this.faults = faults;
        this.pasidCache = new PasidCache(Math.max(64, cfg.iotlbEntries() / 16), epoch);
        this.iotlb = new Iotlb(cfg.iotlbEntries(), epoch);
        this.hawMask = (1L << cfg.haw()) - 1;
        this.mgawMask = (1L << cfg.awBits()) - 1;
        this.ssAddrMask = SsPte.ADDR_MASK & hawMask;
        final long always = (SsPte.ADDR_MASK & ~hawMask) | SsPte.TM;
        final long leafSnp = cfg.snoopControl() ? 0 : SsPte.SNP;
        this.ssDirRsvd = always | SsPte.SNP;
        for (int level = 1; level <= 5; level++) {
            final long belowPage = (1L << (12 + 9 * (level - 1))) - 1 & ~0xFFFL;
            final long dir = always | SsPte.SNP | (level >= 4 ? SsPte.PS : 0);
            ssRsvd[2 * level] = level == 1 ? always | leafSnp : dir;
            ssRsvd[2 * level + 1] = level >= 4 ? dir : always | leafSnp | belowPage;
        }
    }

    @Override
    public void addInvalidationListener(final InvalidationListener l) { notifier.add(l); }

    @Override
    public void removeInvalidationListener(final InvalidationListener l) { notifier.remove(l); }

    void flushAll() {
        contextCache.clear();
        pasidCache.invalidateAll();
        iotlb.invalidateAll();
    }

    /**
     * Hands the translation, hit and miss counts to the device's meters. Called every 2^10 translations and by the
     * device on register accesses, describe() and close, so query-metrics lags by at most that many translations
     * between guest register accesses.
     */
    void publishMetrics() {
        if (translations != pubTranslations) {
            metrics.translations.increment(translations - pubTranslations);
            pubTranslations = translations;
        }
        if (hits != pubHits) {
            metrics.iotlbHits.increment(hits - pubHits);
            pubHits = hits;
        }
        if (misses != pubMisses) {
            metrics.iotlbMisses.increment(misses - pubMisses);
            pubMisses = misses;
        }
    }

    @Override
    public boolean translate(final int sid, final int pasid, final long iova, final int access, final Translation out) {
        if ((++translations & PUBLISH_MASK) == 0) publishMetrics();
        if ((sid & ~0xFFFF) != 0 || (pasid != NO_PASID && (pasid & ~0xFFFFF) != 0)) {
            out.fault(0, "invalid-request");
            return false;
        }
        if (!enabled) {                       // GSTS.TES = 0: DMA is not remapped
            out.success(iova, AccessType.READ | AccessType.WRITE, 4096);
            return true;
        }
        final int acc = (access & (AccessType.READ | AccessType.WRITE)) == 0 ? access | AccessType.READ : access;
        final int s = MicroTlb.slot(sid, pasid, iova);
        if (l0.holds(s, sid, pasid, iova) && grant(l0.perms(s), l0.output(s, iova), l0.level(s), acc, out)) return true;
        return miss(sid, pasid, iova, acc, out, s);
    }

    /**
     * An L0 miss. Legacy mode (TTM = 00) is handled here, inline: the context entry, the IOTLB and, on an IOTLB
     * miss, the second-stage walk and the fill. Scalable mode is {@link #scalable}.
     * <p>
     * JIT shape: this method is deliberately larger than C2's FreqInlineSize (325 bytecodes), so that it is never
     * inlined into {@link #translate}: translate stays small and is inlined into its callers for the L0 hit, while
     * this method is compiled as one unit with {@link #ssWalk}, {@link #fill} and the IOTLB inlined (each under
     * 325 bytecodes). {@code VtdTranslatorShapeTest} checks these sizes.
     */
    private boolean miss(final int sid, final int pasid, final long iova, final int acc, final Translation out,
                         final int l0Slot) {
        curSid = sid;
        curPasid = pasid;
        curSlot = l0Slot;
        l0Mask = -1;
        fpd = false;
        int fr;
        if (ttm != 0) {
            fr = ttm == 1 && cfg.scalable() ? scalable(sid, pasid, iova, acc, out) : FaultReason.SM_RTA_INVALID;
        } else if (pasid != NO_PASID) {
            fr = FaultReason.SM_TTM0_PASID;
        } else if (!contextCache.contains(sid) && (fr = fetchLegacyContext(memory.get(), sid)) != 0) {
            // fr set: the root or context entry faulted
        } else {
            final long c0 = contextCache.qw0(sid), c1 = contextCache.qw1(sid);
            fpd = ContextEntry.FPD.isSet(c0);
            final int did = (int) ContextEntry.DID.get(c1);
            final int e;
            if (ContextEntry.TT.get(c0) == ContextEntry.TT_PASS_THROUGH) {
                fr = passThrough(iova, out, FaultReason.ADDR_BEYOND_MGAW);
            } else if ((e = iotlb.lookup(did, Iotlb.NO_PASID_TAG, iova)) >= 0 && hit(e, iova, acc, out)) {
                fr = 0;
            } else {
                tables.bind(memory.get());
                fr = ssWalk(ContextEntry.SLPTPTR.raw(c0), (int) ContextEntry.AW.get(c1) + 2, iova, acc, false, false);
                if (fr == 0) {
                    final long output = ssOut;
                    if (output >= INTR_FIRST && output <= INTR_LAST) {
                        fr = FaultReason.INTERRUPT_ADDR;
                    } else {
                        fill(did, Iotlb.NO_PASID_TAG, iova, acc, out, e, output, ssLevel, ssPerms | Iotlb.DIRTY_DONE);
                    }
                }
            }
        }
        if (fr == 0) return true;
        fault(sid, pasid, iova, acc, fr, out);
        return false;
    }

    private void fault(final int sid, final int pasid, final long iova, final int acc, final int fr, final Translation out) {
        metrics.fault(FaultReason.name(fr));
        if (!(fpd && FaultReason.qualified(fr))) {
            faults.record(sid, pasid != NO_PASID, pasid, iova, fr, (acc & AccessType.WRITE) == 0,
                    (acc & AccessType.PRIV) != 0, (acc & AccessType.EXEC) != 0);
        }
        out.fault(fr, FaultReason.name(fr));
    }

    /** Fills {@code out} from IOTLB entry {@code e} if it grants the access (and remembers it in the L0); false to re-walk. */
    private boolean hit(final int e, final long iova, final int acc, final Translation out) {
        final int p = iotlb.perms(e);
        final long output = iotlb.output(e, iova);
        final int level = iotlb.level(e);
        if (!grant(p, output, level, acc, out)) return false;
        l0.put(curSlot, curSid, curPasid, iova, output & ~0xFFFL, p & l0Mask, level);
        return true;
    }

    /** Fills {@code out} if permission bits {@code p} grant {@code acc}; false to re-walk (and fault if still denied). */
    private boolean grant(final int p, final long output, final int level, final int acc, final Translation out) {
        final boolean priv = (acc & AccessType.PRIV) != 0;
        final boolean r = (p & (priv ? Iotlb.SR : Iotlb.UR)) != 0;
        final boolean w = (p & (priv ? Iotlb.SW : Iotlb.UW)) != 0;
        if ((acc & AccessType.READ) != 0 && !r) return false;
        if ((acc & AccessType.WRITE) != 0 && (!w || (p & Iotlb.DIRTY_DONE) == 0)) return false;
        hits++;
        out.success(output, (r ? AccessType.READ : 0) | (w ? AccessType.WRITE : 0), 1L << (12 + 9 * level));
        return true;
    }

    /**
     * Caches a walk's result ({@code output} for {@code iova}, a page of {@code level}, permissions {@code perms})
     * in the IOTLB and the L0 and fills {@code out}. {@code found}: the IOTLB lookup's result for this request.
     */
    private void fill(final int did, final int tag, final long iova, final int acc, final Translation out, final int found,
                      final long output, final int level, final int perms) {
        misses++;
        final long size = 1L << (12 + 9 * level);
        final long outPage = output & -size, outAddr = outPage | (iova & (size - 1));
        iotlb.insert(did, tag, iova, level, outPage, perms, found);
        l0.put(curSlot, curSid, curPasid, iova, outAddr & ~0xFFFL, perms & l0Mask, level);
        final boolean priv = (acc & AccessType.PRIV) != 0;
        final boolean r = (perms & (priv ? Iotlb.SR : Iotlb.UR)) != 0;
        final boolean w = (perms & (priv ? Iotlb.SW : Iotlb.UW)) != 0;
        out.success(outAddr, (r ? AccessType.READ : 0) | (w ? AccessType.WRITE : 0), size);
    }

    /** GSTS.TES = 1 but the context (or PASID entry) passes requests through untranslated, below the host width. */
    private int passThrough(final long iova, final Translation out, final int beyond) {
        if ((iova & ~hawMask) != 0) return beyond;
        out.success(iova, AccessType.READ | AccessType.WRITE, 4096);
        return 0;
    }

    // ------------------------------------------------------------------ legacy mode (the walk is in miss())

    /** Reads, checks and caches the legacy context entry of {@code sid}. Returns a fault reason or 0. */
    int fetchLegacyContext(final GuestMemory mem, final int sid) {
        final long re0, re1, c0, c1;
        try {
            final long ra = rta + (long) (sid >>> 8) * RootEntry.SIZE;
            re0 = mem.load64Acquire(ra);
            re1 = mem.load64Acquire(ra + 8);
        } catch (GuestMemoryException e) {
            return FaultReason.ROOT_TABLE_ADDR;
        }
        if (!RootEntry.P.isSet(re0)) return FaultReason.ROOT_NOT_PRESENT;
        final long ctp = RootEntry.CTP.raw(re0);
        if ((re0 & RootEntry.RSVD_PTR_QW) != 0 || re1 != 0 || (ctp & ~hawMask) != 0) return FaultReason.ROOT_RSVD;
        try {
            final long ca = ctp + (long) (sid & 0xFF) * ContextEntry.SIZE;
            c0 = mem.load64Acquire(ca);
            c1 = mem.load64Acquire(ca + 8);
        } catch (GuestMemoryException e) {
            return FaultReason.CONTEXT_TABLE_ADDR;
        }
        fpd = ContextEntry.FPD.isSet(c0);                   // for this entry's qualified faults (0x02, 0x03)
        if (!ContextEntry.P.isSet(c0)) return FaultReason.CONTEXT_NOT_PRESENT;
        final int tt = (int) ContextEntry.TT.get(c0);
        if ((c0 & ContextEntry.RSVD_QW0) != 0 || (c1 & ContextEntry.RSVD_QW1) != 0
                || (tt != ContextEntry.TT_PASS_THROUGH && (ContextEntry.SLPTPTR.raw(c0) & ~hawMask) != 0)) {
            return FaultReason.CONTEXT_RSVD;
        }
        if (tt == 3 || (tt == ContextEntry.TT_TRANSLATE_ATS && !cfg.deviceIotlb())
                || (tt == ContextEntry.TT_PASS_THROUGH && !cfg.passThrough())) {
            return FaultReason.CONTEXT_INVALID;
        }
        if (tt != ContextEntry.TT_PASS_THROUGH && !awSupported((int) ContextEntry.AW.get(c1))) {
            return FaultReason.CONTEXT_INVALID;
        }
        contextCache.put(sid, c0, c1);
        return 0;
    }

    private boolean awSupported(final int aw) {
        return aw >= 1 && aw <= 3 && ((cfg.sagaw() >>> aw) & 1) != 0;
    }

    // ------------------------------------------------------------------ scalable mode

    private int scalable(final int sid, final int pasid, final long iova, final int acc, final Translation out) {
        if (!contextCache.contains(sid)) {
            final int fr = fetchScalableContext(memory.get(), sid);
            if (fr != 0) return fr;
        }
        final long c0 = contextCache.qw0(sid), c1 = contextCache.qw1(sid);
        fpd = ScalableContextEntry.FPD.isSet(c0);
        final int p;
        if (pasid != NO_PASID) {
            if (!ScalableContextEntry.PASIDE.isSet(c0)) return FaultReason.SM_PASIDE_CLEAR;
            if (pasid >>> cfg.pasidBits() != 0) return FaultReason.SM_PASID_TOO_LARGE;
            p = pasid;
        } else {
            p = (int) ScalableContextEntry.RID_PASID.get(c1);
            if (p != 0) return FaultReason.SM_RID_PASID;      // ECAP.RPS = 0: RID_PASID must be 0
        }
        if ((p >>> 6) >= (1 << (ScalableContextEntry.PDTS.get(c0) + 7))) return FaultReason.SM_PASID_TOO_LARGE;
        int pe = pasidCache.lookup(sid, p);
        if (pe < 0) {
            final int fr = fetchPasidEntry(memory.get(), sid, p, ScalableContextEntry.PASIDDIRPTR.raw(c0));
            if (fr != 0) return fr;
            pe = pasidCache.lookup(sid, p);
        }
        final long q0 = pasidCache.qw0(pe), q1 = pasidCache.qw1(pe), q2 = pasidCache.qw2(pe);
        fpd |= pasidCache.dirFpd(pe) || PasidEntry.FPD.isSet(q0);
        if (!PasidEntry.SRE.isSet(q2)) {
            if ((acc & AccessType.PRIV) != 0) return FaultReason.SM_SRE_CLEAR;
            l0Mask = ~(Iotlb.SR | Iotlb.SW);        // a later supervisor request must not hit the L0
        }
        final int pgtt = (int) PasidEntry.PGTT.get(q0);
        if (pgtt == PasidEntry.PGTT_PT) return passThrough(iova, out, FaultReason.SM_ADDR_BEYOND_MAX);
        final int did = (int) PasidEntry.DID.get(q1);
        final int e = iotlb.lookup(did, p, iova);
        if (e >= 0 && hit(e, iova, acc, out)) return 0;
        final GuestMemory mem = tables.bind(memory.get());
        final int ssLevels = (int) PasidEntry.AW.get(q0) + 2;
        final boolean ssade = PasidEntry.SSADE.isSet(q0);
        final long sspt = PasidEntry.SSPTPTR.raw(q0);
        final int fr;
        switch (pgtt) {
            case PasidEntry.PGTT_SS -> {
                fr = ssWalk(sspt, ssLevels, iova, acc, true, ssade);
                if (fr != 0) return fr;
                wOut = ssOut;
                wLevel = ssLevel;
                wPerms = ssPerms | (ssade && (acc & AccessType.WRITE) == 0 ? 0 : Iotlb.DIRTY_DONE);
            }
            case PasidEntry.PGTT_FS, PasidEntry.PGTT_NESTED -> {
                fr = fsWalk(mem, PasidEntry.FSPTPTR.raw(q2), 4 + (int) PasidEntry.FSPM.get(q2), iova, acc,
                        PasidEntry.WPE.isSet(q2), pgtt == PasidEntry.PGTT_NESTED, sspt, ssLevels, ssade);
                if (fr != 0) return fr;
            }
            default -> { return FaultReason.SM_PTE_INVALID; }
        }
        if (wOut >= INTR_FIRST && wOut <= INTR_LAST) return FaultReason.SM_INTERRUPT_ADDR;
        fill(did, p, iova, acc, out, e, wOut, wLevel, wPerms);
        return 0;
    }

    int fetchScalableContext(final GuestMemory mem, final int sid) {
        final long re0, re1;
        try {
            final long ra = rta + (long) (sid >>> 8) * RootEntry.SIZE;
            re0 = mem.load64Acquire(ra);
            re1 = mem.load64Acquire(ra + 8);
        } catch (GuestMemoryException e) {
            return FaultReason.SM_ROOT_FETCH;
        }
        final long half = (sid & 0x80) != 0 ? re1 : re0;   // UP/UCTP for devfn 128-255
        if (!RootEntry.P.isSet(half)) return FaultReason.SM_ROOT_NOT_PRESENT;
        final long ctp = RootEntry.CTP.raw(half);
        if ((half & RootEntry.RSVD_PTR_QW) != 0 || (ctp & ~hawMask) != 0) return FaultReason.SM_ROOT_RSVD;
        final long c0, c1, c2, c3;
        try {
            final long ca = ctp + (long) (sid & 0x7F) * ScalableContextEntry.SIZE;
            c0 = mem.load64Acquire(ca);
            c1 = mem.load64Acquire(ca + 8);
            c2 = mem.load64Acquire(ca + 16);
            c3 = mem.load64Acquire(ca + 24);
        } catch (GuestMemoryException e) {
            return FaultReason.SM_CONTEXT_FETCH;
        }
        fpd = ScalableContextEntry.FPD.isSet(c0);           // for this entry's qualified faults (0x41, 0x43)
        if (!ScalableContextEntry.P.isSet(c0)) return FaultReason.SM_CONTEXT_NOT_PRESENT;
        if ((c0 & ScalableContextEntry.RSVD_QW0) != 0 || (c1 & ScalableContextEntry.RSVD_QW1) != 0 || c2 != 0 || c3 != 0
                || (ScalableContextEntry.PASIDDIRPTR.raw(c0) & ~hawMask) != 0) {
            return FaultReason.SM_CONTEXT_RSVD;
        }
        if ((ScalableContextEntry.DTE.isSet(c0) && !cfg.deviceIotlb()) || (ScalableContextEntry.PRE.isSet(c0) && !cfg.svm())
                || (ScalableContextEntry.PASIDE.isSet(c0) && !cfg.pasid())) {
            return FaultReason.SM_CONTEXT_INVALID;
        }
        contextCache.put(sid, c0, c1);
        return 0;
    }

    int fetchPasidEntry(final GuestMemory mem, final int sid, final int p, final long dirBase) {
        final long de;
        try {
            de = mem.load64Acquire(dirBase + (long) (p >>> 6) * PasidDirEntry.SIZE);
        } catch (GuestMemoryException e) {
            return FaultReason.SM_PDIR_FETCH;
        }
        final boolean dirFpd = PasidDirEntry.FPD.isSet(de);
        fpd |= dirFpd;
        if (!PasidDirEntry.P.isSet(de)) return FaultReason.SM_PDIR_NOT_PRESENT;
        final long tbl = PasidDirEntry.SMPTBLPTR.raw(de);
        if ((de & PasidDirEntry.RSVD) != 0 || (tbl & ~hawMask) != 0) return FaultReason.SM_PDIR_RSVD;
        final long a = tbl + (long) (p & 0x3F) * PasidEntry.SIZE;
        final long q0, q1, q2;
        long rest = 0;
        try {
            q0 = mem.load64Acquire(a);
            q1 = mem.load64Acquire(a + 8);
            q2 = mem.load64Acquire(a + 16);
            for (int i = 3; i < 8; i++) rest |= mem.load64Acquire(a + 8L * i);
        } catch (GuestMemoryException e) {
            return FaultReason.SM_PTE_FETCH;
        }
        fpd |= PasidEntry.FPD.isSet(q0);
        if (!PasidEntry.P.isSet(q0)) return FaultReason.SM_PTE_NOT_PRESENT;
        final int pgtt = (int) PasidEntry.PGTT.get(q0);
        final boolean usesSs = pgtt == PasidEntry.PGTT_SS || pgtt == PasidEntry.PGTT_NESTED;
        final boolean usesFs = pgtt == PasidEntry.PGTT_FS || pgtt == PasidEntry.PGTT_NESTED;
        if ((q0 & PasidEntry.RSVD_QW0) != 0 || (q1 & PasidEntry.RSVD_QW1) != 0 || (q2 & PasidEntry.RSVD_QW2) != 0 || rest != 0
                || (usesSs && (PasidEntry.SSPTPTR.raw(q0) & ~hawMask) != 0)
                || (usesFs && (PasidEntry.FSPTPTR.raw(q2) & ~hawMask) != 0)) {
            return FaultReason.SM_PTE_RSVD;
        }
        final boolean ok = switch (pgtt) {
            case PasidEntry.PGTT_FS -> cfg.fsSupported() && fspmOk(q2);
            case PasidEntry.PGTT_SS -> cfg.secondStage() && awSupported((int) PasidEntry.AW.get(q0));
            case PasidEntry.PGTT_NESTED -> cfg.nestSupported() && fspmOk(q2) && awSupported((int) PasidEntry.AW.get(q0));
            case PasidEntry.PGTT_PT -> cfg.passThrough();
            default -> false;
        };
        if (!ok || (PasidEntry.PGSNP.isSet(q1) && !cfg.snoopControl())) return FaultReason.SM_PTE_INVALID;
        pasidCache.insert(sid, p, (int) PasidEntry.DID.get(q1), q0, q1, q2, dirFpd);
        return 0;
    }

    private boolean fspmOk(final long q2) {
        final long fspm = PasidEntry.FSPM.get(q2);
        return fspm == 0 || (fspm == 1 && cfg.awBits() == 57);
    }

    // ------------------------------------------------------------------ second-stage walk

    /**
     * Walks a second-stage table (VT-d 3.7; vtd.md A.10.1, A.10.3) for {@code addr}, through the bound
     * {@link #tables}. On success sets {@link #ssOut} (the full output address), {@link #ssLevel} and
     * {@link #ssPerms} (R and W ANDed over the levels). {@code sm}: report scalable-mode fault reasons.
     * {@code ad}: SSADE, set A on every entry used and D on the leaf for writes.
     * <p>
     * Each level does one read and one combined test (permission, presence, reserved bits); anything unusual
     * (a fault, an A/D update) leaves the loop for a separate method, so the common walk stays small enough for
     * C2 to inline into the translation.
     */
    private int ssWalk(final long root, final int levels, final long addr, final int acc, final boolean sm,
                       final boolean ad) {
        if ((addr >>> (12 + 9 * levels)) != 0 || (addr & ~mgawMask) != 0) {
            return sm ? FaultReason.SM_ADDR_BEYOND_MAX : FaultReason.ADDR_BEYOND_MGAW;
        }
        // never 0 (translate() makes a request without R or W a read), so an entry granting every needed bit is present
        final long need = (acc & AccessType.WRITE) == 0 ? SsPte.R
                : (acc & AccessType.READ) != 0 ? SsPte.R | SsPte.W : SsPte.W;
        final long dirRsvd = ssDirRsvd;
        long table = root;
        long rw = SsPte.R | SsPte.W;                      // R and W ANDed over the levels
        for (int level = levels; ; level--) {
            final long index = (addr >>> (3 + 9 * level)) & 0x1FF;            // shift 12 + 9 * (level - 1)
            final long pte = tables.readEntry(table, index);  // 0 (not present) when unreadable
            rw &= pte;
            if (level == 1 || (pte & SsPte.PS) != 0) return ssLeaf(table + index * 8, pte, rw, level, addr, need, sm, ad);
            if (((need & ~rw) | (pte & dirRsvd)) != 0) return ssEntryFault(pte, rw, need, sm);
            if (ad && !ssSetAd(table + index * 8, pte, false)) return FaultReason.SM_SS_FETCH;
            table = pte & ssAddrMask;
        }
    }

    /** R and W of a second-stage walk (SsPte bits 1:0) as {@link Iotlb} permissions for any request. */
    private static final int[] SS_PERMS =
            {0, Iotlb.UR | Iotlb.SR, Iotlb.UW | Iotlb.SW, Iotlb.UR | Iotlb.SR | Iotlb.UW | Iotlb.SW};

    /**
     * The last entry of a second-stage walk: level 1, or PS set (a 2 MiB / 1 GiB page at level 2 / 3, reserved
     * at level 4 or 5). Checks it as {@link #ssWalk} checks the others, sets D for a write under SSADE, and
     * records the result. Returns 0 or the fault reason.
     */
    private int ssLeaf(final long ea, final long pte, final long rw, final int level, final long addr, final long need,
                       final boolean sm, final boolean ad) {
        final long rsvd = ssRsvd[2 * level + ((int) (pte >>> 7) & 1)];          // by level and PS
        if (((need & ~rw) | (pte & rsvd)) != 0) return ssEntryFault(pte, rw, need, sm);
        if (ad && !ssSetAd(ea, pte, (need & SsPte.W) != 0)) return FaultReason.SM_SS_FETCH;
        final long size = 1L << (3 + 9 * level);
        ssOut = (pte & ssAddrMask & -size) | (addr & (size - 1));
        ssLevel = level - 1;
        ssPerms = SS_PERMS[(int) rw & 3];
        return 0;
    }

    /**
     * The fault reason of a second-stage entry that failed the walk's combined test: a fetch error (the entry read
     * as 0), then a not-present entry or missing permission (R and W ANDed over the levels), then reserved bits.
     */
    private int ssEntryFault(final long pte, final long rw, final long need, final boolean sm) {
        if (tables.takeFetchError()) return sm ? FaultReason.SM_SS_FETCH : FaultReason.PAGING_ENTRY_FETCH;
        if ((pte & (SsPte.R | SsPte.W)) == 0 || (rw & need) != need) {
            if (sm) return FaultReason.SM_SS_PERM;
            return (need & SsPte.W) != 0 && (rw & SsPte.W) == 0 ? FaultReason.WRITE : FaultReason.READ;
        }
        return sm ? FaultReason.SM_SS_RSVD : FaultReason.PAGING_RSVD;
    }

    /** SSADE: sets A in the entry at {@code ea}, and D when {@code dirty} (a write through a leaf), if not yet set. */
    private boolean ssSetAd(final long ea, final long pte, final boolean dirty) {
        final long bits = SsPte.A | (dirty ? SsPte.D : 0);
        return (pte & bits) == bits || setBits(tables.memory(), ea, pte, bits);
    }

    /** Sets {@code bits} in the entry at {@code gpa} with a compare-and-set, as hardware does; bounded retries. */
    private static boolean setBits(final GuestMemory mem, final long gpa, final long seen, final long bits) {
        long v = seen;
        for (int i = 0; i < 4; i++) {
            try {
                if (mem.compareAndSet64(gpa, v, v | bits)) return true;
                final long now = mem.load64Acquire(gpa);
                if ((now & ~(FsPte.A | FsPte.D | SsPte.A | SsPte.D)) != (seen & ~(FsPte.A | FsPte.D | SsPte.A | SsPte.D))) {
                    return false;                // the entry changed under us: the guest must invalidate
                }
                v = now;
            } catch (GuestMemoryException e) {
                return false;
            }
        }
        return false;
    }

    // ------------------------------------------------------------------ first-stage walk

    /**
     * Walks an IA-32e first-stage table (VT-d 3.6; vtd.md A.10.2). With {@code nested} every table address and
     * the final output are translated through the second stage. On success sets {@link #wOut},
     * {@link #wLevel} and {@link #wPerms}.
     */
    private int fsWalk(final GuestMemory mem, final long root, final int levels, final long addr, final int acc,
                       final boolean wpe, final boolean nested, final long ssRoot, final int ssLevels, final boolean ssade) {
        final int width = 12 + 9 * levels;
        final long top = addr >> (width - 1);             // canonical: bits 63:width-1 all equal
        if (top != 0 && top != -1) return FaultReason.SM_NON_CANONICAL;
        final boolean user = (acc & AccessType.PRIV) == 0, wantW = (acc & AccessType.WRITE) != 0;
        long table = root;
        boolean rw = true, us = true;
        int minLevel = 3;
        for (int level = levels; level >= 1; level--) {
            final int shift = 12 + 9 * (level - 1);
            long ea = table + ((addr >>> shift) & 0x1FF) * 8;
            if (nested) {
                // the FS entry's address is a GPA of the second stage
                final int fr = ssWalk(ssRoot, ssLevels, ea, AccessType.READ, true, ssade);
                if (fr != 0) {
                    if (fr == FaultReason.SM_ADDR_BEYOND_MAX) return FaultReason.SM_NESTED_FS_BEYOND_MGAW;
                    if (fr == FaultReason.SM_SS_PERM) {
                        return level == levels ? FaultReason.SM_NESTED_FSPML4_READ : FaultReason.SM_NESTED_FS_READ;
                    }
                    return fr;
                }
                ea = ssOut;
                minLevel = Math.min(minLevel, 3);
            }
            final long pte = tables.read(ea);
            if ((pte & FsPte.P) == 0) {
                if (!tables.takeFetchError()) return FaultReason.SM_FS_NOT_PRESENT;
                return level == levels ? FaultReason.SM_FSPTPTR_INVALID : FaultReason.SM_FS_FETCH;
            }
            final boolean leaf = level == 1 || (level <= 3 && (pte & FsPte.PS) != 0);
            long rsvd = pte & FsPte.ADDR_MASK & ~hawMask;
            if (level >= 4 && (pte & FsPte.PS) != 0) rsvd |= FsPte.PS;
            if (leaf && level > 1) rsvd |= pte & ((1L << shift) - 1) & ~0x1FFFL;   // bit 12 is PAT
            if (rsvd != 0) return FaultReason.SM_FS_RSVD;
            rw &= (pte & FsPte.RW) != 0;
            us &= (pte & FsPte.US) != 0;
            if (leaf) {
                if (user && !us) return FaultReason.SM_US_CLEAR;
                if (wantW && !rw && (user || wpe)) return FaultReason.SM_WRITE;
            }
            final long bits = FsPte.A | (leaf && wantW ? FsPte.D : 0);
            if ((pte & bits) != bits) {
                if (nested && (ssPerms & Iotlb.UW) == 0) return FaultReason.SM_NESTED_FS_WRITE;
                if (!setBits(mem, ea, pte, bits)) return FaultReason.SM_FS_AD_UPDATE;
            }
            if (leaf) {
                final long size = 1L << shift;
                long outAddr = (pte & FsPte.ADDR_MASK & hawMask & ~(size - 1)) | (addr & (size - 1));
                int outLevel = level - 1;
                boolean fr_ = true, fw = true;
                if (nested) {
                    final int fr = ssWalk(ssRoot, ssLevels, outAddr, acc & (AccessType.READ | AccessType.WRITE), true, ssade);
                    if (fr != 0) return fr;
                    outAddr = ssOut;
                    outLevel = Math.min(outLevel, ssLevel);
                    fr_ = (ssPerms & Iotlb.UR) != 0;
                    fw = (ssPerms & Iotlb.UW) != 0;
                }
                wOut = outAddr;
                wLevel = outLevel;
                final boolean dirty = (pte & FsPte.D) != 0 || wantW;
                wPerms = (us && fr_ ? Iotlb.UR : 0) | (us && rw && fw ? Iotlb.UW : 0) | (fr_ ? Iotlb.SR : 0)
                        | ((rw || !wpe) && fw ? Iotlb.SW : 0) | (dirty && (!nested || !ssade || wantW) ? Iotlb.DIRTY_DONE : 0);
                return 0;
            }
            table = pte & FsPte.ADDR_MASK & hawMask;
        }
        throw new AssertionError("unreachable: level 1 is always a leaf");
    }

    // ------------------------------------------------------------------ for the device

    /** Resolves the DID a source uses for requests without PASID, or -1 (for invalidation notices). */
    int domainOf(final int sid) {
        if (!contextCache.contains(sid)) return -1;
        return ttm == 0 ? (int) ContextEntry.DID.get(contextCache.qw1(sid)) : -1;
    }

    static final int FULL_PERMS = FULL;
}
