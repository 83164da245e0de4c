package dev.viommu.vtd;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.regs.RegisterFile;
import dev.viommu.core.spi.DeviceContext;
import dev.viommu.core.spi.DeviceException;
import dev.viommu.core.spi.DeviceModel;
import dev.viommu.core.spi.Endpoint;
import dev.viommu.core.spi.InterruptRemapper;
import dev.viommu.core.spi.MmioRegion;
import dev.viommu.core.spi.PageRequestService;
import dev.viommu.core.translate.TranslationService;
import dev.viommu.vtd.spec.ContextEntry;
import dev.viommu.vtd.spec.FaultReason;
import dev.viommu.vtd.spec.FaultRecordLayout;
import dev.viommu.vtd.spec.InvDesc;
import dev.viommu.vtd.spec.InvDescs;
import dev.viommu.vtd.spec.PasidEntry;
import dev.viommu.vtd.spec.ScalableContextEntry;
import dev.viommu.vtd.spec.VtdReg;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntPredicate;
import java.util.function.Supplier;

/**
 * One emulated Intel VT-d remapping unit ({@code intel-iommu}). MMIO region 0 is its 4 KiB register page. It
 * translates DMA for emulated endpoints ({@link #translation()}), remaps MSIs ({@link #interruptRemapping()}),
 * takes page requests ({@link #injectPageRequest}) and tells a host binding of guest invalidations
 * ({@link #setHostSeam}). The sidecar serialises calls into it.
 */
public final class VtdDevice implements DeviceModel {
    private final String id;
    private final VtdConfig cfg;
    private final DeviceContext ctx;
    private final Supplier<GuestMemory> memory;
    private final RegisterFile<VtdReg> regs = new RegisterFile<>(VtdReg.class, VtdReg.REGION_SIZE);
    private final FaultRecorder faults;
    private final VtdTranslator translator;
    private final InvalidationQueue iq;
    private final PageRequestQueue prq;
    private final InterruptRemappingUnit ir;
    private final Map<String, Endpoint> endpoints = new LinkedHashMap<>();
    private final GuestLog log;
    private final InvDescs.Features features;
    private final MmioRegion region;
    private final Optional<PageRequestService> pageRequests;
    private final Optional<InterruptRemapper> interruptRemapper;
    private VtdHostSeam seam = VtdHostSeam.NONE;
    private long unknownMmio;

    public VtdDevice(final String id, final VtdConfig cfg, final DeviceContext ctx) {
        this.id = id;
        this.cfg = cfg;
        this.ctx = ctx;
        this.memory = ctx.memory();
        this.log = new GuestLog(id);
        this.faults = new FaultRecorder(cfg.nfr(), new FaultRecorder.Listener() {
            @Override public void faultCondition() {
                final long before = regs.get(VtdReg.FSTS);
                syncFsts();
                // only a record that sets PPF is an interrupt condition; PFO is not (FECTL_REG.IP)
                if ((before & VtdReg.FSTS_PPF) == 0 && faults.ppf()) faultStatusSet(before);
            }

            @Override public void recordCleared() { syncFsts(); maybeClearFaultIp(); }
        });
        this.translator = new VtdTranslator(cfg, memory, ctx.metrics(), faults);
        this.iq = new InvalidationQueue(this, memory);
        this.prq = new PageRequestQueue(this, memory);
        this.ir = new InterruptRemappingUnit(this, memory);
        this.features = new InvDescs.Features(cfg.dmaDrain(), cfg.svm(), cfg.scalable(), true, VtdConfig.MAMV);
        this.region = new MmioRegion() {
            @Override public String name() { return "vtd-regs"; }

            @Override public long size() { return VtdReg.REGION_SIZE; }

            @Override public long read(final long offset, final int size) { return mmioRead(offset, size); }

            @Override public void write(final long offset, final int size, final long value) { mmioWrite(offset, size, value); }
        };
        this.pageRequests = cfg.svm() ? Optional.of(new PageRequestPort(this)) : Optional.empty();
        this.interruptRemapper = cfg.intremap()
                ? Optional.of((sid, address, data, out) -> ir.remap(sid, address, data, out)) : Optional.empty();
        ctx.metrics().queueDepth("iotlb", () -> translator.iotlb.size());
        reset();
    }

    // ------------------------------------------------------------------ DeviceModel

    @Override public String id() { return id; }

    @Override public String driver() { return VtdProvider.DRIVER; }

    @Override public List<MmioRegion> mmioRegions() { return List.of(region); }

    @Override public TranslationService translation() { return translator; }

    /** The interrupt-remapping service for MSIs of devices behind this unit, with decoded results. */
    public InterruptRemapping interruptRemapping() { return ir; }

    /** Page requests from emulated endpoints (present with {@code svm}): {@link PageRequestPort}. */
    @Override public Optional<PageRequestService> pageRequests() { return pageRequests; }

    /** Interrupt remapping for the hypervisor (present with {@code intremap}); the fault is recorded on a block. */
    @Override public Optional<InterruptRemapper> interruptRemapper() { return interruptRemapper; }

    public VtdConfig config() { return cfg; }

    /** Installs the host binding's seam ({@link VtdHostSeam#NONE} by default). */
    public void setHostSeam(final VtdHostSeam s) { seam = s == null ? VtdHostSeam.NONE : s; }

    @Override
    public void attachEndpoint(final Endpoint ep) throws DeviceException {
        if (endpoints.containsKey(ep.id())) throw new DeviceException("endpoint " + ep.id() + " is already attached");
        if ((ep.sourceId() & ~0xFFFF) != 0) throw new DeviceException("source id " + ep.sourceId() + " is not a PCI requester ID");
        for (Endpoint e : endpoints.values()) {
            if (e.sourceId() == ep.sourceId()) throw new DeviceException("requester ID " + ep.sourceId() + " is taken by " + e.id());
        }
        if (ep.kind() == Endpoint.Kind.PASSTHROUGH && "none".equals(ctx.host().kind())) {
            throw new DeviceException("passthrough endpoint " + ep.id() + " needs a host IOMMU backend");
        }
        endpoints.put(ep.id(), ep);
    }

    @Override
    public void detachEndpoint(final String endpointId) throws DeviceException {
        if (endpoints.remove(endpointId) == null) throw new DeviceException("endpoint " + endpointId + " is not attached");
    }

    @Override
    public void reset() {
        regs.reset();
        regs.set(VtdReg.VER, cfg.version());
        regs.set(VtdReg.CAP, cfg.cap());
        regs.set(VtdReg.ECAP, cfg.ecap());
        faults.reset();
        translator.flushAll();
        translator.enabled = false;
        translator.rta = 0;
        translator.ttm = 0;
        ir.enabled = false;
        ir.cfis = false;
        ir.latch(0);
        prq.reset();
    }

    @Override
    public void close() {
        translator.publishMetrics();
        ctx.metrics().close();
    }

    // ------------------------------------------------------------------ MMIO

    long mmioRead(final long offset, final int size) {
        ctx.metrics().mmioReads.increment();
        translator.publishMetrics();
        if (faults.contains(offset)) return faults.read(offset, size);
        return regs.read(offset, size);
    }

    void mmioWrite(final long offset, final int size, final long value) {
        ctx.metrics().mmioWrites.increment();
        translator.publishMetrics();
        if (faults.contains(offset)) {
            faults.write(offset, size, value);
            return;
        }
        if (!regs.write(offset, size, value, this::written)) {
            unknownMmio++;
            log.warn("write to unknown register", offset, value);
        }
    }

    private void written(final VtdReg r, final long old, final long now) {
        switch (r) {
            case GCMD -> command(now);
            case CCMD -> { if (VtdReg.CCMD_ICC.isSet(now)) contextCommand(now); }
            case IOTLB -> { if (VtdReg.IOTLB_IVT.isSet(now)) iotlbCommand(now); }
            case FSTS -> {
                if (!((now & VtdReg.FSTS_PFO) != 0)) faults.clearPfo();
                syncFsts();
                maybeClearFaultIp();
                if ((old & VtdReg.FSTS_IQE) != 0 && (now & VtdReg.FSTS_IQE) == 0) iq.process();   // resume at IQH
            }
            case FECTL -> unmask(VtdReg.FECTL, now, VtdReg.FEADDR, VtdReg.FEUADDR, VtdReg.FEDATA);
            case ICS -> { if ((now & VtdReg.ICS_IWC) == 0) regs.setBits(VtdReg.IECTL, VtdReg.CTL_IP, false); }
            case IECTL -> unmask(VtdReg.IECTL, now, VtdReg.IEADDR, VtdReg.IEUADDR, VtdReg.IEDATA);
            case PRS -> { if ((now & VtdReg.PRS_PPR) == 0) regs.setBits(VtdReg.PECTL, VtdReg.CTL_IP, false); }   // PPR serviced
            case PECTL -> unmask(VtdReg.PECTL, now, VtdReg.PEADDR, VtdReg.PEUADDR, VtdReg.PEDATA);
            case IQT -> iq.process();
            default -> { }
        }
    }

    /** GCMD: compare persistent bits with GSTS, act on one-shot bits (vtd.md "GCMD/GSTS behaviour"). */
    private void command(final long cmd) {
        long sts = regs.get(VtdReg.GSTS);
        if ((cmd & VtdReg.SRTP) != 0) {
            final long rtaddr = regs.get(VtdReg.RTADDR);
            translator.rta = VtdReg.RTADDR_RTA.raw(rtaddr);
            translator.ttm = (int) VtdReg.RTADDR_TTM.get(rtaddr);
            translator.flushAll();           // conservative: as if CAP.ESRTPS (costs nothing the guest relies on)
            sts |= VtdReg.SRTP;
        }
        if ((cmd & VtdReg.SIRTP) != 0 && cfg.intremap()) {
            ir.latch(regs.get(VtdReg.IRTA));
            sts |= VtdReg.SIRTP;
        }
        final boolean te = (cmd & VtdReg.TE) != 0;
        translator.enabled = te;
        sts = te ? sts | VtdReg.TE : sts & ~VtdReg.TE;
        final boolean qie = (cmd & VtdReg.QIE) != 0;
        if (qie != ((sts & VtdReg.QIE) != 0)) {
            regs.set(VtdReg.IQH, 0);         // the queue restarts from its base on enable and disable
            sts = qie ? sts | VtdReg.QIE : sts & ~VtdReg.QIE;
        }
        final boolean ire = (cmd & VtdReg.IRE) != 0 && cfg.intremap();
        ir.enabled = ire;
        sts = ire ? sts | VtdReg.IRE : sts & ~VtdReg.IRE;
        final boolean cfi = (cmd & VtdReg.CFI) != 0 && cfg.intremap();
        ir.cfis = cfi;
        sts = cfi ? sts | VtdReg.CFI : sts & ~VtdReg.CFI;
        regs.set(VtdReg.GSTS, sts);
        if (qie) iq.process();
    }

    private void contextCommand(final long ccmd) {
        final int cirg = (int) VtdReg.CCMD_CIRG.get(ccmd);
        final int did = (int) VtdReg.CCMD_DID.get(ccmd), sid = (int) VtdReg.CCMD_SID.get(ccmd);
        if (cirg != 0) contextInvalidate(cirg, did, sid, (int) VtdReg.CCMD_FM.get(ccmd));
        long v = VtdReg.CCMD_ICC.with(ccmd, false);
        v = VtdReg.CCMD_CAIG.with(v, cirg);
        regs.set(VtdReg.CCMD, v);
    }

    private void iotlbCommand(final long cmd) {
        int g = (int) VtdReg.IOTLB_IIRG.get(cmd);
        final int did = (int) VtdReg.IOTLB_DID.get(cmd);
        final long iva = regs.get(VtdReg.IVA);
        final int am = (int) VtdReg.IVA_AM.get(iva);
        // IAIG 00: an incorrect request (reserved IIRG, AM above MAMV) is ignored. Intel Core datasheet vol. 2
        // IOTLB_REG.IAIG; QEMU vtd_iotlb_flush (am > VTD_MAMV: iaig 0).
        if (g == 3 && am > VtdConfig.MAMV) g = 0;
        // AM is "the number of low order bits of the ADDR field that must be masked for the invalidation operation"
        // (Intel 12th-gen Core datasheet vol. 2, IVA_REG.AM): a misaligned ADDR is not an error, its low bits drop.
        final long addr = g == 3 ? VtdReg.IVA_ADDR.raw(iva) & -(1L << (12 + am)) : VtdReg.IVA_ADDR.raw(iva);
        if (g != 0) g = iotlbInvalidate(g, did, addr, am, VtdReg.IVA_IH.isSet(iva));
        long v = VtdReg.IOTLB_IVT.with(cmd, false);
        v = VtdReg.IOTLB_IAIG.with(v, g);
        regs.set(VtdReg.IOTLB, v);
    }

    // ------------------------------------------------------------------ invalidation

    /** Executes one queued-invalidation descriptor; false if a wait descriptor's status write failed. */
    boolean execute(final InvDesc d) {
        switch (d) {
            case InvDesc.ContextCache c -> contextInvalidate(c.g(), c.did(), c.sid(), c.fm());
            case InvDesc.Iotlb t -> iotlbInvalidate(t.g(), t.did(), t.addr(), t.am(), t.ih());
            case InvDesc.DevTlb t -> devTlbInvalidate(t.sid(), TranslationService.NO_PASID, t.addr(), t.size());
            case InvDesc.Iec i -> {
                ctx.metrics().invalidation("iec");
                ir.invalidate(i.indexSelective(), i.im(), i.iidx());
            }
            case InvDesc.Wait w -> { return completeWait(w); }
            case InvDesc.PasidIotlb p -> pasidIotlbInvalidate(p);
            case InvDesc.PasidCache p -> pasidCacheInvalidate(p.g(), p.did(), p.pasid());
            case InvDesc.PasidDevTlb p ->
                    devTlbInvalidate(p.sid(), p.global() ? TranslationService.ANY_PASID : p.pasid(), p.addr(), p.size());
            case InvDesc.PageGroupResponse r -> {
                ctx.metrics().invalidation("page-group-response");
                prq.respond(r.rid(), r.pasidPresent(), r.pasid(), r.prgi(), r.code());
            }
            case InvDesc.Illegal bad -> throw new IllegalStateException("illegal descriptors never reach execute");
        }
        return true;
    }

    private boolean completeWait(final InvDesc.Wait w) {
        ctx.metrics().invalidation("wait");
        // Everything before this descriptor is done (processing is synchronous), so fence and page drain hold.
        if (w.statusWrite()) {
            try {
                memory.get().write32(w.statusAddr(), w.statusData());
            } catch (dev.viommu.core.mem.GuestMemoryException e) {
                log.warn("invalidation wait status write outside RAM", w.statusAddr(), w.statusData());
                return false;
            }
        }
        if (w.interrupt() && (regs.get(VtdReg.ICS) & VtdReg.ICS_IWC) == 0) {
            regs.set(VtdReg.ICS, VtdReg.ICS_IWC);
            raise(VtdReg.IECTL, VtdReg.IEADDR, VtdReg.IEUADDR, VtdReg.IEDATA);
        }
        return true;
    }

    private void contextInvalidate(final int g, final int did, final int sid, final int fm) {
        final VtdTranslator t = translator;
        final IntPredicate match;
        switch (g) {
            case 1 -> {
                ctx.metrics().invalidation("context-global");
                match = s -> true;
            }
            case 2 -> {
                ctx.metrics().invalidation("context-domain");
                // scalable context entries carry no DID: a domain-selective flush drops them all
                match = t.ttm == 0 ? s -> ContextEntry.DID.get(t.contextCache.qw1(s)) == did : s -> true;
            }
            default -> {
                ctx.metrics().invalidation("context-device");
                final int ignore = fm == 0 ? 0 : fm == 1 ? 0b100 : fm == 2 ? 0b110 : 0b111;
                match = s -> ((s ^ sid) & ~ignore & 0xFFFF) == 0;
            }
        }
        if (g == 1) t.contextCache.clear(); else t.contextCache.removeIf(match);
        if (t.ttm == 1) {
            if (g == 1) t.pasidCache.invalidateAll(); else t.pasidCache.invalidateSource(match);
        }
        t.notifier.notify(g == 3 && fm == 0 ? sid : TranslationService.ANY_SOURCE, TranslationService.ANY_PASID, 0, 0);
        if (seam != VtdHostSeam.NONE) {
            for (Endpoint ep : endpoints.values()) {
                if (g == 1 || g == 2 || match.test(ep.sourceId())) seam.onEvent(contextEvent(ep.sourceId()));
            }
        }
    }

    /** Returns the granularity done (IAIG): a page-selective flush the IOTLB did domain-wide reports 2. */
    private int iotlbInvalidate(final int g, final int did, final long addr, final int am, final boolean ih) {
        final Iotlb tlb = translator.iotlb;
        final VtdBindingEvent.Scope scope;
        int done = g;
        switch (g) {
            case 1 -> {
                ctx.metrics().invalidation("iotlb-global");
                tlb.invalidateAll();
                scope = VtdBindingEvent.Scope.GLOBAL;
                translator.notifier.notify(TranslationService.ANY_SOURCE, TranslationService.ANY_PASID, 0, 0);
            }
            case 2 -> {
                ctx.metrics().invalidation("iotlb-domain");
                tlb.invalidateDomain(did);
                scope = VtdBindingEvent.Scope.DOMAIN;
                translator.notifier.notify(TranslationService.ANY_SOURCE, TranslationService.ANY_PASID, 0, 0);
            }
            default -> {
                ctx.metrics().invalidation("iotlb-page");
                done = tlb.invalidateRange(did, -1, addr, am) ? 3 : 2;
                scope = VtdBindingEvent.Scope.PAGES;
                translator.notifier.notify(TranslationService.ANY_SOURCE, TranslationService.ANY_PASID, addr, 1L << (12 + am));
            }
        }
        if (seam != VtdHostSeam.NONE) {                // no event object per flush without a host binding
            seam.onEvent(new VtdBindingEvent.IotlbInvalidated(scope, did, TranslationService.ANY_PASID,
                    g == 3 ? addr : 0, g == 3 ? 1L << (12 + am) : 0, ih));
        }
        return done;
    }

    private void pasidIotlbInvalidate(final InvDesc.PasidIotlb p) {
        final Iotlb tlb = translator.iotlb;
        if (p.g() == 2) {
            ctx.metrics().invalidation("piotlb-pasid");
            tlb.invalidatePasid(p.did(), p.pasid());
            translator.notifier.notify(TranslationService.ANY_SOURCE, p.pasid(), 0, 0);
            if (seam != VtdHostSeam.NONE) {
                seam.onEvent(new VtdBindingEvent.IotlbInvalidated(VtdBindingEvent.Scope.PASID, p.did(), p.pasid(), 0, 0, false));
            }
        } else {
            ctx.metrics().invalidation("piotlb-page");
            tlb.invalidateRange(p.did(), p.pasid(), p.addr(), p.am());
            final long size = 1L << (12 + p.am());
            translator.notifier.notify(TranslationService.ANY_SOURCE, p.pasid(), p.addr(), size);
            if (seam != VtdHostSeam.NONE) {
                seam.onEvent(new VtdBindingEvent.IotlbInvalidated(VtdBindingEvent.Scope.PASID_PAGES, p.did(), p.pasid(),
                        p.addr(), size, p.ih()));
            }
        }
    }

    private void pasidCacheInvalidate(final int g, final int did, final int pasid) {
        final PasidCache pc = translator.pasidCache;
        switch (g) {
            case 0 -> { ctx.metrics().invalidation("pasid-cache-domain"); pc.invalidateDomain(did); }
            case 1 -> { ctx.metrics().invalidation("pasid-cache-pasid"); pc.invalidatePasid(did, pasid); }
            default -> { ctx.metrics().invalidation("pasid-cache-global"); pc.invalidateAll(); }
        }
        translator.notifier.notify(TranslationService.ANY_SOURCE, g == 1 ? pasid : TranslationService.ANY_PASID, 0, 0);
        if (seam != VtdHostSeam.NONE && translator.ttm == 1) {
            for (Endpoint ep : endpoints.values()) {
                seam.onEvent(pasidEvent(ep.sourceId(), g == 1 ? pasid : 0));
            }
        }
    }

    private void devTlbInvalidate(final int sid, final int pasid, final long addr, final boolean s) {
        ctx.metrics().invalidation(pasid == TranslationService.NO_PASID ? "devtlb" : "pasid-devtlb");
        final long size = dev.viommu.vtd.spec.InvDescs.atsRangeSize(addr, s);
        final long base = size == 0 ? 0 : addr & ~(size - 1);
        translator.notifier.notify(sid, pasid, base, size);
        seam.onEvent(new VtdBindingEvent.DevTlbInvalidated(sid, pasid, base, size));
    }

    private VtdBindingEvent contextEvent(final int sid) {
        final GuestMemory mem = memory.get();
        final VtdTranslator t = translator;
        t.contextCache.remove(sid);
        if (t.ttm == 0) {
            final int fr = t.fetchLegacyContext(mem, sid);
            if (fr != 0) return new VtdBindingEvent.ContextChanged(sid, null, fr);
            final long c0 = t.contextCache.qw0(sid), c1 = t.contextCache.qw1(sid);
            return new VtdBindingEvent.ContextChanged(sid, new VtdBindingEvent.DecodedContext(false,
                    (int) ContextEntry.TT.get(c0), ContextEntry.SLPTPTR.raw(c0), (int) ContextEntry.AW.get(c1),
                    (int) ContextEntry.DID.get(c1), ContextEntry.FPD.isSet(c0), false, false, false, 0, 0), 0);
        }
        final int fr = scalableContext(sid);
        if (fr != 0) return new VtdBindingEvent.ContextChanged(sid, null, fr);
        final long c0 = t.contextCache.qw0(sid);
        return new VtdBindingEvent.ContextChanged(sid, new VtdBindingEvent.DecodedContext(true, -1, 0, 0, -1,
                ScalableContextEntry.FPD.isSet(c0), ScalableContextEntry.PASIDE.isSet(c0), ScalableContextEntry.PRE.isSet(c0),
                ScalableContextEntry.DTE.isSet(c0), ScalableContextEntry.PASIDDIRPTR.raw(c0),
                (int) ScalableContextEntry.PDTS.get(c0)), 0);
    }

    private VtdBindingEvent pasidEvent(final int sid, final int pasid) {
        final VtdTranslator t = translator;
        int fr = scalableContext(sid);
        if (fr == 0) {
            int e = t.pasidCache.lookup(sid, pasid);
            if (e < 0) {
                fr = t.fetchPasidEntry(memory.get(), sid, pasid, ScalableContextEntry.PASIDDIRPTR.raw(t.contextCache.qw0(sid)));
                e = fr == 0 ? t.pasidCache.lookup(sid, pasid) : -1;
            }
            if (e >= 0) {
                final long q0 = t.pasidCache.qw0(e), q1 = t.pasidCache.qw1(e), q2 = t.pasidCache.qw2(e);
                return new VtdBindingEvent.PasidEntryChanged(sid, pasid, new VtdBindingEvent.DecodedPasidEntry(
                        (int) PasidEntry.PGTT.get(q0), (int) PasidEntry.DID.get(q1), (int) PasidEntry.AW.get(q0),
                        PasidEntry.SSPTPTR.raw(q0), PasidEntry.SSADE.isSet(q0), PasidEntry.FSPTPTR.raw(q2),
                        (int) PasidEntry.FSPM.get(q2), PasidEntry.SRE.isSet(q2), PasidEntry.WPE.isSet(q2),
                        PasidEntry.EAFE.isSet(q2), PasidEntry.PGSNP.isSet(q1),
                        PasidEntry.FPD.isSet(q0) || t.pasidCache.dirFpd(e)), 0);
            }
        }
        return new VtdBindingEvent.PasidEntryChanged(sid, pasid, null, fr);
    }

    /** Makes sure the scalable context entry of {@code sid} is cached; returns a fault reason or 0. */
    int scalableContext(final int sid) {
        if (translator.contextCache.contains(sid)) return 0;
        return translator.fetchScalableContext(memory.get(), sid);
    }

    // ------------------------------------------------------------------ page requests

    /**
     * Injects a page request from an emulated endpoint or the page-request relay (VT-d 7.5). The matching
     * page-group response (the guest's type-9 descriptor for the last request of the group) goes to
     * {@code responder}. Returns {@link PageRequestQueue#QUEUED} (-1), {@link PageRequestQueue#DROPPED} (-2:
     * overflow of a request that is not last in its group), {@link PageRequestQueue#UNDELIVERED} (-3: the
     * descriptor could not be written; nothing is answered) or a response code the unit gave at once (then
     * {@code responder} is not called).
     *
     * @param pasid the PASID, or {@link TranslationService#NO_PASID}
     */
    public int injectPageRequest(final int sourceId, final int pasid, final long address, final boolean read,
                                 final boolean write, final boolean privileged, final boolean lastInGroup,
                                 final int groupIndex, final PageResponder responder) {
        ctx.metrics().pageRequests.increment();
        return prq.inject(sourceId & 0xFFFF, pasid, address, read, write, privileged, lastInGroup, groupIndex, responder);
    }

    /**
     * The page request queue overflowed: PRS.PRO is set. Not an interrupt condition (PECTL_REG.IP lists only
     * PPR); Linux's prq handler looks at PRO after each batch it was interrupted for.
     */
    void pageRequestOverflow() {
        regs.set(VtdReg.PRS, regs.get(VtdReg.PRS) | VtdReg.PRS_PRO);
    }

    /**
     * A last-in-group page request was added to the queue: PRS.PPR is set, and if it was clear this is the page
     * request event's interrupt condition ("a page group request with LPG Set was added to the page request queue,
     * resulting in hardware setting PPR. If the PPR field was already Set ... it is not treated as a new interrupt
     * condition": Intel 12th-gen Core datasheet vol. 2, PECTL_REG.IP). Requests that are not last in their group
     * only advance PQT; the guest reads them when the group's last one interrupts it.
     */
    void pageRequestGroupQueued() {
        final long prs = regs.get(VtdReg.PRS);
        if ((prs & VtdReg.PRS_PPR) != 0) return;
        regs.set(VtdReg.PRS, prs | VtdReg.PRS_PPR);
        raise(VtdReg.PECTL, VtdReg.PEADDR, VtdReg.PEUADDR, VtdReg.PEDATA);
    }

    // ------------------------------------------------------------------ faults and events

    void recordFault(final int sid, final boolean pp, final int pasid, final long addr, final int fr, final boolean read) {
        ctx.metrics().fault(FaultReason.name(fr));
        faults.record(sid, pp, pasid, addr, fr, read, false, false);
    }

    void interruptFault(final int sid, final int handle, final int fr, final boolean fpd) {
        ctx.metrics().fault(FaultReason.name(fr));
        if (fpd && FaultReason.qualified(fr)) return;
        faults.record(sid, false, 0, FaultRecordLayout.FI_INTR_INDEX.with(0, handle & 0xFFFF), fr, false, false, false);
    }

    void invalidationQueueError(final int iqei) {
        regs.set(VtdReg.IQERCD, VtdReg.IQERCD_IQEI.with(regs.get(VtdReg.IQERCD) & ~VtdReg.IQERCD_IQEI.mask(), iqei));
        final long fsts = regs.get(VtdReg.FSTS);
        if ((fsts & VtdReg.FSTS_IQE) != 0) return;
        regs.set(VtdReg.FSTS, fsts | VtdReg.FSTS_IQE);
        faultStatusSet(fsts);
    }

    /** The FSTS status fields: with any of them already set, setting another is no new interrupt condition. */
    private static final long FSTS_STATUS = 0x7F;      // PFO, PPF, AFO, APF, IQE, ICE, ITE

    /**
     * An interrupt condition of the fault event was detected (a record setting PPF, or IQE, ICE, ITE being set).
     * {@code before}: FSTS before it. "If any of the status fields in the Fault Status register was already Set at
     * the time of setting any of these fields, it is not treated as a new interrupt condition" (Intel Core Ultra
     * SoC I/O registers, FECTL_REG.IP; QEMU vtd_generate_fault_event does the same).
     */
    private void faultStatusSet(final long before) {
        if ((before & FSTS_STATUS) == 0) raiseFaultEvent();
    }

    private void syncFsts() {
        long v = regs.get(VtdReg.FSTS) & (VtdReg.FSTS_IQE | VtdReg.FSTS_ICE | VtdReg.FSTS_ITE);
        if (faults.ppf()) v |= VtdReg.FSTS_PPF;
        if (faults.pfo()) v |= VtdReg.FSTS_PFO;
        v = VtdReg.FSTS_FRI.with(v, faults.fri());
        regs.set(VtdReg.FSTS, v);
    }

    private void maybeClearFaultIp() {
        final long cond = VtdReg.FSTS_PFO | VtdReg.FSTS_PPF | VtdReg.FSTS_IQE | VtdReg.FSTS_ICE | VtdReg.FSTS_ITE;
        if ((regs.get(VtdReg.FSTS) & cond) == 0) regs.setBits(VtdReg.FECTL, VtdReg.CTL_IP, false);
    }

    private void raiseFaultEvent() { raise(VtdReg.FECTL, VtdReg.FEADDR, VtdReg.FEUADDR, VtdReg.FEDATA); }

    /** An interrupt condition: send the MSI if not masked, else set IP (VT-d 7.3.1 / 6.5.2.9 / 7.5.1). */
    private void raise(final VtdReg ctl, final VtdReg addr, final VtdReg uaddr, final VtdReg data) {
        final long c = regs.get(ctl);
        if ((c & VtdReg.CTL_IM) != 0) {
            regs.set(ctl, c | VtdReg.CTL_IP);
            return;
        }
        regs.set(ctl, c & ~VtdReg.CTL_IP);
        ctx.interrupts().msi(regs.get(addr) | regs.get(uaddr) << 32, (int) regs.get(data));
    }

    /** Software cleared IM while IP was set: the pending interrupt goes out now. */
    private void unmask(final VtdReg ctl, final long now, final VtdReg addr, final VtdReg uaddr, final VtdReg data) {
        if ((now & VtdReg.CTL_IM) == 0 && (now & VtdReg.CTL_IP) != 0) raise(ctl, addr, uaddr, data);
    }

    // ------------------------------------------------------------------ package access

    RegisterFile<VtdReg> registers() { return regs; }

    VtdTranslator translator() { return translator; }

    InvDescs.Features descriptorFeatures() { return features; }

    GuestLog log() { return log; }

    // ------------------------------------------------------------------ query-viommu

    @Override
    public Map<String, Object> describe() {
        translator.publishMetrics();
        final Map<String, Object> m = new LinkedHashMap<>();
        m.put("driver", VtdProvider.DRIVER);
        m.put("id", id);
        m.put("mode", translator.ttm == 1 ? "scalable" : "legacy");
        m.put("translationEnabled", translator.enabled);
        m.put("rootTable", "0x" + Long.toHexString(translator.rta));
        final Map<String, Object> r = new LinkedHashMap<>();
        regs.snapshot().forEach((k, v) -> r.put(k, "0x" + Long.toHexString(v)));
        m.put("registers", r);
        final Map<String, Object> caches = new LinkedHashMap<>();
        caches.put("context", translator.contextCache.size());
        caches.put("pasid", translator.pasidCache.size());
        caches.put("iotlb", translator.iotlb.size());
        caches.put("iotlbCapacity", translator.iotlb.capacity());
        caches.put("iotlbHits", translator.hits);
        caches.put("iotlbMisses", translator.misses);
        caches.put("interruptEntry", ir.iec.size());
        m.put("caches", caches);
        m.put("faultRecords", faults.describe());
        m.put("faultsRecorded", faults.recordedCount());
        m.put("faultsDropped", faults.droppedCount());
        final Map<String, Object> irm = new LinkedHashMap<>();
        irm.put("enabled", ir.enabled);
        irm.put("table", "0x" + Long.toHexString(ir.irtBase));
        irm.put("entries", ir.entries);
        irm.put("x2apic", ir.eime);
        irm.put("compatibilityFormat", ir.cfis);
        irm.put("remapped", ir.remapped);
        irm.put("blocked", ir.blocked);
        m.put("interruptRemapping", irm);
        m.put("invalidationQueue", Map.of("processed", iq.processed, "errors", iq.errors));
        m.put("pageRequests", Map.of("written", prq.written, "overflows", prq.overflows, "writeErrors", prq.writeErrors,
                "outstanding", prq.outstanding(), "responses", prq.responses, "unmatchedResponses", prq.unmatchedResponses));
        final List<Object> eps = new ArrayList<>();
        for (Endpoint e : endpoints.values()) {
            eps.add(Map.of("id", e.id(), "kind", e.kind().name().toLowerCase(java.util.Locale.ROOT),
                    "sid", String.format("%02x:%02x.%d", e.sourceId() >>> 8, (e.sourceId() >>> 3) & 0x1F, e.sourceId() & 7)));
        }
        m.put("endpoints", eps);
        m.put("unknownMmioWrites", unknownMmio);
        return m;
    }
}
