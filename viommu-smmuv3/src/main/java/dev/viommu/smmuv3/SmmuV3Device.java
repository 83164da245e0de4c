package dev.viommu.smmuv3;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.core.regs.RegisterFile;
import dev.viommu.core.spi.DeviceContext;
import dev.viommu.core.spi.DeviceException;
import dev.viommu.core.spi.DeviceModel;
import dev.viommu.core.spi.Endpoint;
import dev.viommu.core.spi.MmioRegion;
import dev.viommu.core.spi.PageRequestService;
import dev.viommu.core.translate.AccessType;
import dev.viommu.core.translate.TranslationService;
import dev.viommu.smmuv3.spec.Cmd;
import dev.viommu.smmuv3.spec.Priq;
import dev.viommu.smmuv3.spec.Queue;
import dev.viommu.smmuv3.spec.SmmuReg;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * An emulated Arm SMMUv3 (IHI0070): one MMIO region of 128 KiB (page 0 and page 1), a command queue processed
 * synchronously on CMDQ_PROD writes, an event queue and a PRI queue in guest memory, and DMA translation for
 * emulated endpoints ({@link Translator}). Commands concerning passthrough streams go to a {@link HostDispatcher}.
 * <p>
 * Interrupts: when IDR0.MSI is advertised and a queue's IRQ_CFG0 address is non-zero, an interrupt is the MSI
 * write of IRQ_CFG1 to that address; otherwise it is a pulse (assert, deassert: the SMMU's wired interrupts are
 * edge-triggered) on a wired line: {@link #LINE_EVENTQ} 0, {@link #LINE_PRIQ} 1, {@link #LINE_GERROR} 2,
 * {@link #LINE_CMD_SYNC} 3. An MSI whose address is guest RAM (CMD_SYNC MSIPOLL) is written to RAM directly;
 * any other goes to {@code ctx.interrupts().msi}.
 * <p>
 * Not thread-safe: the sidecar serialises calls into a device.
 */
public final class SmmuV3Device implements DeviceModel {
    public static final int LINE_EVENTQ = 0, LINE_PRIQ = 1, LINE_GERROR = 2, LINE_CMD_SYNC = 3;

    static final int GERROR_CMDQ_ERR = 1, GERROR_EVENTQ_ABT = 1 << 2, GERROR_PRIQ_ABT = 1 << 3,
            GERROR_MSI_CMDQ_ABT = 1 << 4, GERROR_MSI_EVENTQ_ABT = 1 << 5, GERROR_MSI_PRIQ_ABT = 1 << 6,
            GERROR_MSI_GERROR_ABT = 1 << 7;
    private static final int CR0_SMMUEN = 1, CR0_PRIQEN = 2, CR0_EVENTQEN = 4, CR0_CMDQEN = 8;
    private static final int IRQ_GERROR = 1, IRQ_PRIQ = 2, IRQ_EVENTQ = 4;
    private static final long CR2_E2H = 1, CR2_PTM = 4;
    private static final long GBPA_UPDATE = 1L << 31;

    private static final Logger LOG = LoggerFactory.getLogger(SmmuV3Device.class);

    private final String id;
    private final SmmuV3Config cfg;
    private final DeviceContext ctx;
    private final RateLimitedLog guestLog;
    final RegisterFile<SmmuReg> regs = new RegisterFile<>(SmmuReg.class, 0x100);
    private final Region region = new Region();
    private final RegisterFile.WriteHook<SmmuReg> hook = this::written;
    final Translator translator;
    private final Commands commands;
    private final TlbiMatcher matcher = new TlbiMatcher();
    private final Map<String, Endpoint> endpoints = new LinkedHashMap<>();
    /** Passthrough StreamIDs, for routing: key (sid, 0). */
    private final DenseMap<Endpoint> passthrough = new DenseMap<>(4096);
    /** Outstanding page request groups: key (sid, ssidTag << 9 | PRG index). */
    private final DenseMap<Long> outstandingPrgs = new DenseMap<>(512);
    private final List<HostDispatcher.QueuedCommand> batch = new ArrayList<>();
    private final long[] steWords = new long[4];

    private HostDispatcher dispatcher = HostDispatcher.LOCAL;
    private PriResponseListener priListener = PriResponseListener.NONE;
    private final PageRequestPort pageRequestPort;
    private boolean syncPending;
    private int syncPendingIndex = -1;
    private Command.Sync syncPendingCmd;
    /** A configuration or TLB invalidation was consumed since the last CMD_SYNC completed. */
    private boolean invalidatedSinceSync;

    // Counters for describe() and tests.
    long commandsProcessed, syncs, sevs, eventsWritten, eventsDropped, eventOverflows, priWritten, priDropped,
            priOverflows, cmdErrors;

    public SmmuV3Device(final String id, final SmmuV3Config cfg, final DeviceContext ctx) {
        this.id = id;
        this.cfg = cfg;
        this.ctx = ctx;
        this.guestLog = new RateLimitedLog(LOG, id);
        this.commands = new Commands(cfg);
        this.translator = new Translator(this, cfg);
        this.pageRequestPort = cfg.pri() ? new PageRequestPort(this) : null;
        reset();
        // Gauges are read by the metrics scrape, outside the device lock: a stale depth is harmless.
        ctx.metrics().queueDepth("cmdq", () -> QueueIndex.count((int) regs.get(SmmuReg.CMDQ_PROD), (int) regs.get(SmmuReg.CMDQ_CONS), cmdqLog2()));
        ctx.metrics().queueDepth("eventq", () -> QueueIndex.count((int) regs.get(SmmuReg.EVENTQ_PROD), (int) regs.get(SmmuReg.EVENTQ_CONS), eventqLog2()));
        ctx.metrics().queueDepth("priq", () -> QueueIndex.count((int) regs.get(SmmuReg.PRIQ_PROD), (int) regs.get(SmmuReg.PRIQ_CONS), priqLog2()));
    }

    // ---------------------------------------------------------------- DeviceModel

    @Override public String id() { return id; }

    @Override public String driver() { return SmmuV3Config.DRIVER; }

    @Override public List<MmioRegion> mmioRegions() { return List.of(region); }

    @Override public TranslationService translation() { return translator; }

    /** The PRI queue as the core's page-request service: present with {@code pri=on}. */
    @Override public Optional<PageRequestService> pageRequests() { return Optional.ofNullable(pageRequestPort); }

    public SmmuV3Config config() { return cfg; }

    @Override
    public void attachEndpoint(final Endpoint endpoint) throws DeviceException {
        if (endpoints.containsKey(endpoint.id())) throw new DeviceException("endpoint " + endpoint.id() + " already attached");
        if (cfg.sidBits() < 32 && (Integer.toUnsignedLong(endpoint.sourceId()) >>> cfg.sidBits()) != 0) {
            throw new DeviceException("StreamID " + endpoint.sourceId() + " exceeds sidsize " + cfg.sidBits());
        }
        for (Endpoint e : endpoints.values()) {
            if (e.sourceId() == endpoint.sourceId()) throw new DeviceException("StreamID " + e.sourceId() + " is taken by " + e.id());
        }
        if (endpoint.kind() == Endpoint.Kind.PASSTHROUGH) {
            if (passthrough.isFull()) throw new DeviceException("too many passthrough endpoints");
            passthrough.put(endpoint.sourceId(), 0, endpoint, 0);
            translator.invalidateStream(endpoint.sourceId());   // the host translates it from now on
        }
        endpoints.put(endpoint.id(), endpoint);
    }

    @Override
    public void detachEndpoint(final String endpointId) throws DeviceException {
        final Endpoint e = endpoints.remove(endpointId);
        if (e == null) throw new DeviceException("endpoint " + endpointId + " is not attached");
        passthrough.remove(e.sourceId(), 0);
        translator.invalidateStream(e.sourceId());
        translator.notifyInvalidation(e.sourceId(), TranslationService.ANY_PASID, 0, 0);
    }

    /** Installs the host dispatcher (the host binding does this); {@link HostDispatcher#LOCAL} by default. */
    public void setDispatcher(final HostDispatcher d) { dispatcher = d == null ? HostDispatcher.LOCAL : d; }

    /** Where PRI_RESP commands (and automatic responses to overflowed groups) go: the page-request relay. */
    public void setPriResponseListener(final PriResponseListener l) { priListener = l == null ? PriResponseListener.NONE : l; }

    /** Where RESUME/STALL_TERM outcomes go, for emulated endpoints whose transactions stalled. */
    public void setStallListener(final Translator.StallListener l) { translator.stallListener(l); }

    @Override
    public void reset() {
        regs.reset();
        regs.set(SmmuReg.IDR0, cfg.idr0());
        regs.set(SmmuReg.IDR1, cfg.idr1());
        regs.set(SmmuReg.IDR3, cfg.idr3());
        regs.set(SmmuReg.IDR5, cfg.idr5());
        regs.set(SmmuReg.IIDR, SmmuV3Config.IIDR);
        regs.set(SmmuReg.AIDR, cfg.aidr());
        translator.enabled = false;
        translator.invalidateAll();
        translator.terminateAllStalls();
        batch.clear();
        outstandingPrgs.clear();
        syncPending = false;
        syncPendingCmd = null;
        translator.notifyInvalidation(TranslationService.ANY_SOURCE, TranslationService.ANY_PASID, 0, 0);
    }

    @Override public void close() { ctx.metrics().close(); }

    GuestMemory memory() { return ctx.memory().get(); }

    DeviceContext context() { return ctx; }

    RateLimitedLog guestLog() { return guestLog; }

    boolean smmuEnabled() { return (regs.get(SmmuReg.CR0ACK) & CR0_SMMUEN) != 0; }

    // ---------------------------------------------------------------- MMIO

    /** Page-1 offsets map onto the four page-1 registers; page 0 also decodes them (Cavium "page0 only"). */
    private static long decode(final long offset) {
        if (offset < SmmuReg.PAGE1) return offset < 0x100 ? offset : -1;
        final long o = offset - SmmuReg.PAGE1;
        return o >= SmmuReg.EVENTQ_PROD.offset() && o < SmmuReg.EVENTQ_PROD.offset() + 8
                || o >= SmmuReg.PRIQ_PROD.offset() && o < SmmuReg.PRIQ_PROD.offset() + 8 ? o : -1;
    }

    private final class Region implements MmioRegion {
        @Override public String name() { return "smmuv3-regs"; }

        @Override public long size() { return SmmuReg.REGION_SIZE; }

        @Override
        public long read(final long offset, final int size) {
            ctx.metrics().mmioReads.increment();
            final long o = decode(offset);
            if (o < 0 || o + size > 0x100) return 0;
            return regs.read(o, size);
        }

        @Override
        public void write(final long offset, final int size, final long value) {
            ctx.metrics().mmioWrites.increment();
            final long o = decode(offset);
            if (o < 0 || o + size > 0x100 || !regs.write(o, size, value, hook)) {
                guestLog.warn("write to unimplemented register", Long.toHexString(offset));
            }
        }
    }

    private void written(final SmmuReg r, final long old, final long now) {
        switch (r) {
            case CR0 -> cr0Written(old, now);
            case GBPA -> {
                if ((now & GBPA_UPDATE) == 0) {
                    regs.set(r, old);   // fields change only together with UPDATE (Linux arm_smmu_update_gbpa)
                } else {
                    regs.set(r, now & ~GBPA_UPDATE);   // applied at once: UPDATE reads back 0
                    if (!smmuEnabled()) translator.notifyInvalidation(TranslationService.ANY_SOURCE, TranslationService.ANY_PASID, 0, 0);
                }
            }
            case CR2 -> {
                // RO once SMMUEN is set; v3.2 on may only ignore such a write (§6.3.12). E2H is RES0 without
                // IDR0.HYP and PTM without IDR0.BTM. E2H selects EL2 or EL2-E2H for STRW = EL2 (StreamWorld).
                if (smmuEnabled()) refuse(r, old, "while SMMUEN=1");
                else regs.set(r, now & ~(cfg.hyp() ? 0 : CR2_E2H) & ~(cfg.btm() ? 0 : CR2_PTM));
            }
            case IRQ_CTRL -> regs.set(SmmuReg.IRQ_CTRLACK, now);
            case GERRORN -> {
                if ((old ^ now) != 0 && !cmdqErrorActive()) processCommandQueue();
                if (((old ^ now) & GERROR_EVENTQ_ABT) != 0) eventQueueMayBeWritable();
            }
            case STRTAB_BASE, STRTAB_BASE_CFG -> {
                if (smmuEnabled()) refuse(r, old, "while SMMUEN=1");
                else translator.invalidateAll();
            }
            case CMDQ_BASE -> {
                if (enabled(CR0_CMDQEN)) refuse(r, old, "while CMDQEN=1");
            }
            case CMDQ_PROD -> {
                regs.set(r, now & QueueIndex.mask(cmdqLog2()));
                processCommandQueue();
            }
            case CMDQ_CONS -> {
                if (enabled(CR0_CMDQEN)) refuse(r, old, "while CMDQEN=1");
                else regs.set(r, (old & Cmd.CONS_ERR.mask()) | (now & QueueIndex.mask(cmdqLog2())));
            }
            case EVENTQ_BASE -> {
                if (enabled(CR0_EVENTQEN)) refuse(r, old, "while EVENTQEN=1");
            }
            case EVENTQ_PROD -> {
                if (enabled(CR0_EVENTQEN)) refuse(r, old, "while EVENTQEN=1");
            }
            case EVENTQ_CONS -> eventQueueMayBeWritable();
            case PRIQ_BASE -> {
                if (enabled(CR0_PRIQEN)) refuse(r, old, "while PRIQEN=1");
            }
            case PRIQ_PROD -> {
                if (enabled(CR0_PRIQEN)) refuse(r, old, "while PRIQEN=1");
            }
            default -> { }
        }
    }

    private void refuse(final SmmuReg r, final long old, final String why) {
        regs.set(r, old);
        guestLog.warn("write ignored " + why, r);
    }

    private boolean enabled(final int cr0Bit) { return (regs.get(SmmuReg.CR0ACK) & cr0Bit) != 0; }

    private void cr0Written(final long old, final long now) {
        long v = now;
        if (!cfg.pri()) v &= ~CR0_PRIQEN;
        if (!cfg.ats()) v &= ~0x10L;   // ATSCHK
        regs.set(SmmuReg.CR0, v);
        final long was = regs.get(SmmuReg.CR0ACK);
        regs.set(SmmuReg.CR0ACK, v);   // every CR0 change takes effect at once
        translator.enabled = (v & CR0_SMMUEN) != 0;
        final long changed = was ^ v;
        if ((changed & CR0_SMMUEN) != 0) {
            if ((v & CR0_SMMUEN) == 0) translator.terminateAllStalls();
            translator.notifyInvalidation(TranslationService.ANY_SOURCE, TranslationService.ANY_PASID, 0, 0);
        }
        if ((changed & v & CR0_EVENTQEN) != 0) eventQueueMayBeWritable();
        if ((changed & CR0_CMDQEN) != 0) {
            if ((v & CR0_CMDQEN) != 0) processCommandQueue();
            else { flushBatch(); syncPending = false; syncPendingCmd = null; }
        }
    }

    // ---------------------------------------------------------------- command queue

    int cmdqLog2() { return Math.min((int) Queue.BASE_LOG2SIZE.get(regs.get(SmmuReg.CMDQ_BASE)), cfg.cmdqs()); }

    boolean cmdqErrorActive() {
        return ((regs.get(SmmuReg.GERROR) ^ regs.get(SmmuReg.GERRORN)) & GERROR_CMDQ_ERR) != 0;
    }

    /**
     * Consumes commands from CONS up to PROD (IHI0070 §3.5, §4.1). Stops at an error (CONS stays on the faulting
     * command with CMDQ_CONS.ERR set and GERROR.CMDQ_ERR toggled) and at a CMD_SYNC the dispatcher holds.
     * At most one queue's worth of entries per call, so a guest cannot make it loop.
     */
    void processCommandQueue() {
        if (!enabled(CR0_CMDQEN) || cmdqErrorActive() || syncPending) return;
        final GuestMemory mem = memory();
        final int log2 = cmdqLog2();
        final long base = Queue.BASE_ADDR.raw(regs.get(SmmuReg.CMDQ_BASE));
        final int prod = (int) regs.get(SmmuReg.CMDQ_PROD);
        int cons = (int) regs.get(SmmuReg.CMDQ_CONS);
        for (int n = 0; n <= (1 << log2) && !QueueIndex.empty(prod, cons, log2); n++) {
            final long addr = base + (long) QueueIndex.index(cons, log2) * Cmd.SIZE;
            final long d0, d1;
            try {
                d0 = mem.read64(addr);
                d1 = mem.read64(addr + 8);
            } catch (GuestMemoryException e) {
                commandError(cons, Cmd.CERROR_ABT, "command fetch abort", e);
                return;
            }
            final Command c = commands.decode(d0, d1);
            commandsProcessed++;
            final int queueIndex = cons & QueueIndex.mask(log2);
            if (c instanceof Command.Sync s) {
                syncs++;
                translator.publishMetrics();
                final HostDispatcher.SyncStatus st = hasHostEndpoints()
                        ? dispatcher.dispatch(new HostDispatcher.CommandBatch(List.copyOf(batch), s, queueIndex))
                        : HostDispatcher.SyncStatus.COMPLETE;
                batch.clear();
                if (st == HostDispatcher.SyncStatus.PENDING) {
                    syncPending = true;
                    syncPendingIndex = queueIndex;
                    syncPendingCmd = s;
                    regs.set(SmmuReg.CMDQ_CONS, cons);
                    return;
                }
                if (st == HostDispatcher.SyncStatus.ATC_INV_FAILED) {
                    commandError(cons, Cmd.CERROR_ATC_INV_SYNC, "ATC invalidation failed", null);
                    return;
                }
                cons = QueueIndex.inc(cons, log2);
                regs.set(SmmuReg.CMDQ_CONS, cons);   // complete before signalling
                syncCompleted();
                signalSync(s);
                continue;
            }
            if (c instanceof Command.Illegal bad) {
                commandError(cons, Cmd.CERROR_ILL, bad.reason(), null);
                return;
            }
            execute(c, queueIndex);
            cons = QueueIndex.inc(cons, log2);
            regs.set(SmmuReg.CMDQ_CONS, cons);
        }
    }

    /** Called by the dispatcher (under the device lock) when a held CMD_SYNC has completed on the host. */
    public void completeSync(final boolean atcInvalidationFailed) {
        if (!syncPending) return;
        syncPending = false;
        final int cons = (int) regs.get(SmmuReg.CMDQ_CONS);
        if (atcInvalidationFailed) {
            commandError(cons, Cmd.CERROR_ATC_INV_SYNC, "ATC invalidation failed", null);
            return;
        }
        regs.set(SmmuReg.CMDQ_CONS, QueueIndex.inc(cons, cmdqLog2()));
        final Command.Sync s = syncPendingCmd;
        syncPendingCmd = null;
        syncCompleted();
        signalSync(s);
        processCommandQueue();
    }

    private void commandError(final int cons, final int err, final String why, final Exception cause) {
        cmdErrors++;
        flushBatch();
        regs.set(SmmuReg.CMDQ_CONS, Cmd.CONS_ERR.with(cons & ~Cmd.CONS_ERR.mask(), err));
        guestLog.warn("command queue error " + err + " at CONS 0x" + Integer.toHexString(cons & 0xFFFFF), why);
        raiseGerror(GERROR_CMDQ_ERR);
    }

    /** A CMD_SYNC completed: stalls kept back across an invalidation before it are to be retried (§7.2.1). */
    private void syncCompleted() {
        if (!invalidatedSinceSync) return;
        invalidatedSinceSync = false;
        translator.invalidationSynchronised();
    }

    /** CMD_SYNC completion signal (IHI0070 §4.7.3): the MSI write of MSIData to MSIAddress, an IRQ, or SEV. */
    private void signalSync(final Command.Sync s) {
        switch (s.cs()) {
            case Cmd.CS_IRQ -> {
                if (cfg.msi()) {
                    if (!msiWrite(s.msiAddr(), s.msiData())) raiseGerror(GERROR_MSI_CMDQ_ABT);
                } else {
                    pulse(LINE_CMD_SYNC);
                }
            }
            case Cmd.CS_SEV -> { if (cfg.sev()) sevs++; }   // a WFE wake-up (none without IDR0.SEV): no guest-visible state
            default -> { }
        }
    }

    private boolean hasHostEndpoints() { return passthrough.size() > 0; }

    /** Passthrough streams are translated by the host: the emulated caches never hold or drop their entries. */
    boolean isPassthrough(final int sid) { return passthrough.size() > 0 && passthrough.find(sid, 0) >= 0; }

    private void queueForHost(final Command c, final int index) {
        if (hasHostEndpoints()) batch.add(new HostDispatcher.QueuedCommand(index, c));
    }

    private void queueForHostSid(final Command c, final int index, final int sid) {
        if (isPassthrough(sid)) batch.add(new HostDispatcher.QueuedCommand(index, c));
    }

    private void flushBatch() {
        if (batch.isEmpty()) return;
        dispatcher.dispatch(new HostDispatcher.CommandBatch(List.copyOf(batch), null, -1));
        batch.clear();
    }

    private void steBoundary(final int sid) {
        if (!isPassthrough(sid)) return;
        flushBatch();
        final StreamConfig decoded = translator.decodeSteForHost(sid, steWords);
        dispatcher.steChanged(sid, steWords.clone(), decoded);
    }

    /** The local effect of one command, and its routing to the host; invalidations are counted by command name. */
    private void execute(final Command c, final int index) {
        final String type;
        switch (c) {
            case Command.PrefetchConfig p -> {
                type = null;
                if (isPassthrough(p.sid())) queueForHostSid(c, index, p.sid());
                else translator.prefetch(p.sid(), p.ssv() ? p.ssid() : TranslationService.NO_PASID);
            }
            case Command.PrefetchAddr p -> { type = null; queueForHostSid(c, index, p.sid()); }
            case Command.CfgiSte s -> {
                type = "CFGI_STE";
                if (isPassthrough(s.sid())) {
                    queueForHostSid(c, index, s.sid());
                    steBoundary(s.sid());
                } else {
                    translator.invalidateStream(s.sid());
                    translator.notifyInvalidation(s.sid(), TranslationService.ANY_PASID, 0, 0);
                }
            }
            case Command.CfgiSteRange s -> {
                type = "CFGI_STE_RANGE";
                translator.invalidateStreams(s.first(), s.count());
                for (Endpoint e : endpoints.values()) {
                    if (Long.compareUnsigned(Integer.toUnsignedLong(e.sourceId()) - s.first(), s.count()) < 0) {
                        translator.notifyInvalidation(e.sourceId(), TranslationService.ANY_PASID, 0, 0);
                    }
                }
                if (hasHostEndpoints()) {
                    batch.add(new HostDispatcher.QueuedCommand(index, c));
                    for (int i = passthrough.size() - 1; i >= 0; i--) {
                        final int sid = (int) passthrough.key1At(i);
                        if (Long.compareUnsigned(Integer.toUnsignedLong(sid) - s.first(), s.count()) < 0) steBoundary(sid);
                    }
                }
            }
            case Command.CfgiAll a -> {
                type = "CFGI_ALL";
                translator.invalidateAll();
                translator.notifyInvalidation(TranslationService.ANY_SOURCE, TranslationService.ANY_PASID, 0, 0);
                if (hasHostEndpoints()) {
                    batch.add(new HostDispatcher.QueuedCommand(index, c));
                    for (int i = passthrough.size() - 1; i >= 0; i--) steBoundary((int) passthrough.key1At(i));
                }
            }
            case Command.CfgiCd d -> {
                type = "CFGI_CD";
                if (isPassthrough(d.sid())) {
                    queueForHostSid(c, index, d.sid());
                } else {
                    translator.invalidateSubstream(d.sid(), d.ssid());
                    translator.notifyInvalidation(d.sid(), d.ssid(), 0, 0);
                    if (d.ssid() == 0) translator.notifyInvalidation(d.sid(), TranslationService.NO_PASID, 0, 0);
                }
            }
            case Command.CfgiCdAll d -> {
                type = "CFGI_CD_ALL";
                if (isPassthrough(d.sid())) {
                    queueForHostSid(c, index, d.sid());
                } else {
                    translator.invalidateStream(d.sid());
                    translator.notifyInvalidation(d.sid(), TranslationService.ANY_PASID, 0, 0);
                }
            }
            case Command.TlbiNhAll t -> {
                type = "TLBI_NH_ALL";
                tlbi(matcher.nhAll(t.vmid()), 0, 0);
                queueForHost(c, index);
            }
            case Command.TlbiNhAsid t -> {
                type = "TLBI_NH_ASID";
                tlbi(matcher.nhAsid(t.vmid(), t.asid()), 0, 0);
                queueForHost(c, index);
            }
            case Command.TlbiNhVa t -> {
                type = t.allAsids() ? "TLBI_NH_VAA" : "TLBI_NH_VA";
                tlbi(matcher.va(Iotlb.REGIME_NH, t.vmid(), t.asid(), t.allAsids(), t.range()), t.range().start(), t.range().length());
                queueForHost(c, index);
            }
            case Command.TlbiEl2All t -> {
                type = "TLBI_EL2_ALL";
                tlbi(matcher.el2All(), 0, 0);
                queueForHost(c, index);
            }
            case Command.TlbiEl2Asid t -> {
                type = "TLBI_EL2_ASID";
                tlbi(matcher.el2Asid(t.asid()), 0, 0);
                queueForHost(c, index);
            }
            case Command.TlbiEl2Va t -> {
                type = t.allAsids() ? "TLBI_EL2_VAA" : "TLBI_EL2_VA";
                tlbi(matcher.va(Iotlb.REGIME_EL2, 0, t.asid(), t.allAsids(), t.range()), t.range().start(), t.range().length());
                queueForHost(c, index);
            }
            case Command.TlbiS12Vmall t -> {
                type = "TLBI_S12_VMALL";
                tlbi(matcher.s12Vmall(t.vmid()), 0, 0);
                queueForHost(c, index);
            }
            case Command.TlbiS2Ipa t -> {
                type = "TLBI_S2_IPA";
                // Consumers see input addresses; for nested streams the IPA says nothing about them: whole space.
                tlbi(matcher.s2Ipa(t.vmid(), t.range()), 0, 0);
                queueForHost(c, index);
            }
            case Command.TlbiNsnhAll t -> {
                type = "TLBI_NSNH_ALL";
                tlbi(matcher.nsnhAll(), 0, 0);
                queueForHost(c, index);
            }
            case Command.AtcInv a -> {
                type = "ATC_INV";
                final int pasid = a.ssv() ? (a.global() ? TranslationService.ANY_PASID : a.ssid()) : TranslationService.NO_PASID;
                if (isPassthrough(a.sid())) queueForHostSid(c, index, a.sid());
                else translator.notifyInvalidation(a.sid(), pasid, a.start(), a.length());
            }
            case Command.PriResp p -> {
                type = null;
                priResponse(p);
                queueForHostSid(c, index, p.sid());
            }
            case Command.Resume rs -> {
                type = null;
                translator.resume(rs.sid(), rs.stag(), rs.action());
                queueForHostSid(c, index, rs.sid());
            }
            case Command.StallTerm st -> {
                type = null;
                translator.stallTerm(st.sid());
                queueForHostSid(c, index, st.sid());
            }
            case Command.Sync s -> type = null;            // handled by the queue loop
            case Command.Illegal bad -> type = null;       // handled by the queue loop
        }
        if (type != null) {
            ctx.metrics().invalidation(type);   // invalidations by command name; hints and responses are not
            invalidatedSinceSync = true;
        }
    }

    private void tlbi(final TlbiMatcher m, final long start, final long length) {
        translator.tlbi(m);
        translator.notifyInvalidation(TranslationService.ANY_SOURCE, TranslationService.ANY_PASID, start, length);
    }

    // ---------------------------------------------------------------- GERROR and interrupts

    /** Toggles a GERROR bit to make the error active (B.10); an already-active error is left alone. */
    void raiseGerror(final int bit) {
        final long g = regs.get(SmmuReg.GERROR), n = regs.get(SmmuReg.GERRORN);
        if (((g ^ n) & bit) != 0) return;
        regs.set(SmmuReg.GERROR, g ^ bit);
        if ((regs.get(SmmuReg.IRQ_CTRLACK) & IRQ_GERROR) != 0) {
            if (!interrupt(SmmuReg.GERROR_IRQ_CFG0, SmmuReg.GERROR_IRQ_CFG1, LINE_GERROR) && bit != GERROR_MSI_GERROR_ABT) {
                raiseGerror(GERROR_MSI_GERROR_ABT);
            }
        }
    }

    /** Sends a queue/GERROR interrupt; false if an MSI write aborted. */
    private boolean interrupt(final SmmuReg cfg0, final SmmuReg cfg1, final int line) {
        final long addr = regs.get(cfg0);
        if (cfg.msi() && addr != 0) return msiWrite(addr, (int) regs.get(cfg1));
        pulse(line);
        return true;
    }

    private void pulse(final int line) {
        ctx.interrupts().line(line, true);
        ctx.interrupts().line(line, false);
    }

    /** A 32-bit MSI write: into guest RAM if the address is RAM (MSIPOLL), else to the interrupt sink. */
    private boolean msiWrite(final long addr, final int data) {
        final GuestMemory mem = memory();
        if (mem.contains(addr, 4)) {
            try {
                mem.write32(addr, data);
                return true;
            } catch (GuestMemoryException e) {
                return false;
            }
        }
        ctx.interrupts().msi(addr, data);
        return true;
    }

    // ---------------------------------------------------------------- event queue

    private int eventqLog2() { return Math.min((int) Queue.BASE_LOG2SIZE.get(regs.get(SmmuReg.EVENTQ_BASE)), cfg.eventqs()); }

    private int priqLog2() { return Math.min((int) Queue.BASE_LOG2SIZE.get(regs.get(SmmuReg.PRIQ_BASE)), cfg.priqs()); }

    /** Outcomes of {@link #writeEvent}. */
    static final int EVENT_WRITTEN = 0, EVENT_UNWRITABLE = 1, EVENT_ABORTED = 2;

    /**
     * Writes an event record (IHI0070 §7.2, §7.4). The queue is writable when EVENTQEN = 1, it is not full and no
     * EVENTQ_ABT_ERR is unacknowledged (§7.2.1); otherwise an ordinary record is discarded. When the queue is full
     * it is discarded and, unless an overflow is already outstanding (PROD.OVFLG ≠ CONS.OVACKFLG), PROD.OVFLG
     * toggles; records are written again as soon as there is room. (QEMU instead drops without a lasting flag.)
     * Linux 7.3 detects the toggle in queue_sync_prod_in and acknowledges it in queue_sync_cons_ovf; toggling
     * only while none is outstanding is IHI0070 §7.4's rule (and the only one under which Linux cannot miss one).
     * A {@code stall} record is never discarded: it is not written, no overflow is flagged, and the caller keeps
     * it until {@link #eventQueueMayBeWritable} (a write abort may still lose it, §7.2.2).
     */
    int writeEvent(final long d0, final long d1, final long d2, final long d3, final boolean stall) {
        if (!enabled(CR0_EVENTQEN) || gerrorActive(GERROR_EVENTQ_ABT)) {
            if (!stall) eventsDropped++;
            return EVENT_UNWRITABLE;
        }
        final int log2 = eventqLog2();
        final int prod = (int) regs.get(SmmuReg.EVENTQ_PROD);
        final int cons = (int) regs.get(SmmuReg.EVENTQ_CONS);
        if (QueueIndex.full(prod, cons, log2)) {
            if (stall) return EVENT_UNWRITABLE;
            eventsDropped++;
            if (((prod ^ cons) & (int) Queue.OVFLG.mask()) == 0) {
                eventOverflows++;
                regs.set(SmmuReg.EVENTQ_PROD, prod ^ (int) Queue.OVFLG.mask());
                eventInterrupt();
            }
            return EVENT_UNWRITABLE;
        }
        final long addr = Queue.BASE_ADDR.raw(regs.get(SmmuReg.EVENTQ_BASE)) + (long) QueueIndex.index(prod, log2) * 32;
        try {
            final GuestMemory mem = memory();
            mem.write64(addr, d0);
            mem.write64(addr + 8, d1);
            mem.write64(addr + 16, d2);
            mem.write64(addr + 24, d3);
        } catch (GuestMemoryException e) {
            eventsDropped++;
            raiseGerror(GERROR_EVENTQ_ABT);
            return EVENT_ABORTED;
        }
        eventsWritten++;
        regs.set(SmmuReg.EVENTQ_PROD, (prod & (int) Queue.OVFLG.mask()) | (QueueIndex.inc(prod, log2) & QueueIndex.mask(log2)));
        eventInterrupt();
        return EVENT_WRITTEN;
    }

    /** Whether the event queue is writable (IHI0070 §7.2.1): enabled, not full, no unacknowledged EVENTQ_ABT_ERR. */
    boolean eventQueueWritable() {
        return enabled(CR0_EVENTQEN) && !gerrorActive(GERROR_EVENTQ_ABT) && !QueueIndex.full(
                (int) regs.get(SmmuReg.EVENTQ_PROD), (int) regs.get(SmmuReg.EVENTQ_CONS), eventqLog2());
    }

    /** EVENTQEN set, CONS moved or EVENTQ_ABT_ERR acknowledged: stall records kept back may go out now. */
    private void eventQueueMayBeWritable() { translator.recordPendingStalls(); }

    private boolean gerrorActive(final int bit) {
        return ((regs.get(SmmuReg.GERROR) ^ regs.get(SmmuReg.GERRORN)) & bit) != 0;
    }

    private void eventInterrupt() {
        if ((regs.get(SmmuReg.IRQ_CTRLACK) & IRQ_EVENTQ) == 0) return;
        if (!interrupt(SmmuReg.EVENTQ_IRQ_CFG0, SmmuReg.EVENTQ_IRQ_CFG1, LINE_EVENTQ)) raiseGerror(GERROR_MSI_EVENTQ_ABT);
    }

    // ---------------------------------------------------------------- PRI queue

    /**
     * Injects a PCIe page request (IHI0070 §8): for the page-request relay and for emulated devices. Returns
     * false if it was not queued. The SMMU's automatic PRG responses (§8.1, §8.2): a request discarded while the
     * queue is full or in overflow is answered with Success if it ends its group (Last = 1), keeping its PASID
     * (IDR3.PPS = 1); with PRI on but the queue not writable (PRIQEN = 0, SMMUEN = 0, PRIQ_ABT_ERR active, or its
     * write aborts) every request is answered with Response Failure, without a PASID.
     *
     * @param pasid  the SubstreamID, or {@link TranslationService#NO_PASID}
     * @param access {@link AccessType} flags requested (READ, WRITE, EXEC, PRIV)
     */
    public boolean injectPageRequest(final int sid, final int pasid, final long addr, final int access,
                                     final int prgIndex, final boolean last) {
        final int outcome = queuePageRequest(sid, pasid, addr, access, prgIndex, last);
        if (outcome == PRI_REFUSED && cfg.pri()) {
            respond(sid, TranslationService.NO_PASID, prgIndex & 0x1FF, Priq.RESP_FAIL, true);
        }
        return outcome == PRI_QUEUED;
    }

    /** Outcomes of {@link #queuePageRequest}. */
    static final int PRI_QUEUED = 0, PRI_OVERFLOWED = 1, PRI_REFUSED = 2;

    /**
     * Writes a page request into the PRI queue. {@link #PRI_OVERFLOWED}: the queue was full or in overflow
     * (PROD.OVFLG ≠ CONS.OVACKFLG inhibits new entries, unlike the event queue: IHI0070 §8.1), the request was
     * discarded and (if it ended its group) answered automatically. {@link #PRI_REFUSED}: PRI off, PRIQEN = 0
     * (SMMUEN = 0 implies it), an unacknowledged PRIQ_ABT_ERR, or the queue write aborted (§8.2); nothing was
     * answered here.
     */
    int queuePageRequest(final int sid, final int pasid, final long addr, final int access, final int prgIndex,
                         final boolean last) {
        ctx.metrics().pageRequests.increment();
        if (!cfg.pri() || !enabled(CR0_PRIQEN) || !smmuEnabled() || gerrorActive(GERROR_PRIQ_ABT)) {
            priDropped++;
            return PRI_REFUSED;
        }
        final int log2 = priqLog2();
        final int prod = (int) regs.get(SmmuReg.PRIQ_PROD);
        final int cons = (int) regs.get(SmmuReg.PRIQ_CONS);
        final boolean overflow = ((prod ^ cons) & (int) Queue.OVFLG.mask()) != 0;
        if (overflow || QueueIndex.full(prod, cons, log2)) {
            priDropped++;
            if (!overflow) {   // toggled only if no overflow condition is present (§8.1)
                priOverflows++;
                regs.set(SmmuReg.PRIQ_PROD, prod ^ (int) Queue.OVFLG.mask());
                priInterrupt();
            }
            if (last) respond(sid, pasid, prgIndex & 0x1FF, Priq.RESP_SUCCESS, true);
            return PRI_OVERFLOWED;
        }
        long d0 = Priq.SID.with(0, Integer.toUnsignedLong(sid));
        if (pasid >= 0) d0 = Priq.SSV.with(Priq.SSID.with(d0, pasid & 0xFFFFF), true);
        d0 = Priq.PRIV.with(d0, (access & AccessType.PRIV) != 0);
        d0 = Priq.EXEC.with(d0, (access & AccessType.EXEC) != 0);
        d0 = Priq.READ.with(d0, (access & AccessType.READ) != 0);
        d0 = Priq.WRITE.with(d0, (access & AccessType.WRITE) != 0);
        d0 = Priq.LAST.with(d0, last);
        final long d1 = Priq.PRG_INDEX.with(0, prgIndex & 0x1FF) | Priq.ADDR.raw(addr);
        final long qaddr = Queue.BASE_ADDR.raw(regs.get(SmmuReg.PRIQ_BASE)) + (long) QueueIndex.index(prod, log2) * 16;
        try {
            memory().write64(qaddr, d0);
            memory().write64(qaddr + 8, d1);
        } catch (GuestMemoryException e) {
            priDropped++;
            raiseGerror(GERROR_PRIQ_ABT);
            return PRI_REFUSED;
        }
        if (last && !outstandingPrgs.isFull()) {
            outstandingPrgs.put(Integer.toUnsignedLong(sid), prgKey(pasid, prgIndex), addr, 0);
        }
        priWritten++;
        regs.set(SmmuReg.PRIQ_PROD, (prod & (int) Queue.OVFLG.mask()) | (QueueIndex.inc(prod, log2) & QueueIndex.mask(log2)));
        priInterrupt();
        return PRI_QUEUED;
    }

    /** A PRG response towards the endpoint: to the relay's listener and to the core's page-request responder. */
    private void respond(final int sid, final int pasid, final int prgIndex, final int resp, final boolean automatic) {
        priListener.respond(sid, pasid, prgIndex, resp, automatic);
        if (pageRequestPort != null) pageRequestPort.respond(sid, pasid, prgIndex, resp);
    }

    private static long prgKey(final int pasid, final int prg) {
        return ((long) Iotlb.ssidTag(pasid) << 9) | (prg & 0x1FF);
    }

    private void priInterrupt() {
        if ((regs.get(SmmuReg.IRQ_CTRLACK) & IRQ_PRIQ) == 0) return;
        if (!interrupt(SmmuReg.PRIQ_IRQ_CFG0, SmmuReg.PRIQ_IRQ_CFG1, LINE_PRIQ)) raiseGerror(GERROR_MSI_PRIQ_ABT);
    }

    /** PRI_RESP: only for an outstanding group (design note §3, req. 10); others are logged and ignored. */
    private void priResponse(final Command.PriResp p) {
        final int pasid = p.ssv() ? p.ssid() : TranslationService.NO_PASID;
        if (!outstandingPrgs.remove(Integer.toUnsignedLong(p.sid()), prgKey(pasid, p.prgIndex()))) {
            guestLog.warn("PRI_RESP for no outstanding page request group", p);
            return;
        }
        respond(p.sid(), pasid, p.prgIndex(), p.resp(), false);
    }

    // ---------------------------------------------------------------- state dump

    @Override
    public Map<String, Object> describe() {
        final Map<String, Object> m = new LinkedHashMap<>();
        m.put("driver", driver());
        m.put("id", id);
        final Map<String, Object> r = new LinkedHashMap<>();
        regs.snapshot().forEach((k, v) -> r.put(k, "0x" + Long.toHexString(v)));
        m.put("registers", r);
        m.put("streamTable", translator.describeStreams(endpoints.values()));
        m.put("caches", translator.describeCaches());
        final Map<String, Object> q = new LinkedHashMap<>();
        q.put("cmdq", Map.of("log2size", cmdqLog2(), "prod", hex(regs.get(SmmuReg.CMDQ_PROD)),
                "cons", hex(regs.get(SmmuReg.CMDQ_CONS)), "errorActive", cmdqErrorActive(),
                "syncHeldAt", syncPending ? syncPendingIndex : -1,
                "processed", commandsProcessed, "syncs", syncs, "errors", cmdErrors));
        q.put("eventq", Map.of("log2size", eventqLog2(), "prod", hex(regs.get(SmmuReg.EVENTQ_PROD)),
                "cons", hex(regs.get(SmmuReg.EVENTQ_CONS)), "written", eventsWritten, "dropped", eventsDropped,
                "overflows", eventOverflows));
        q.put("priq", Map.of("log2size", priqLog2(), "prod", hex(regs.get(SmmuReg.PRIQ_PROD)),
                "cons", hex(regs.get(SmmuReg.PRIQ_CONS)), "written", priWritten, "dropped", priDropped,
                "overflows", priOverflows, "outstandingGroups", outstandingPrgs.size()));
        m.put("queues", q);
        final List<Object> eps = new ArrayList<>();
        for (Endpoint e : endpoints.values()) eps.add(Map.of("id", e.id(), "sid", e.sourceId(), "kind", e.kind().name()));
        m.put("endpoints", eps);
        m.put("guestErrors", guestLog.count());
        return m;
    }

    private static String hex(final long v) { return "0x" + Long.toHexString(v); }

    /** Where PRI responses go. */
    @FunctionalInterface
    public interface PriResponseListener {
        /** {@code automatic}: the SMMU answered a group it had to drop (queue full or disabled). */
        void respond(int sid, int pasid, int prgIndex, int response, boolean automatic);

        PriResponseListener NONE = (s, p, g, r, a) -> { };
    }
}
