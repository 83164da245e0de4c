package dev.viommu.virtio.iommu;

import dev.viommu.core.host.HostException;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.core.spi.DeviceContext;
import dev.viommu.core.spi.DeviceException;
import dev.viommu.core.spi.DeviceModel;
import dev.viommu.core.spi.Endpoint;
import dev.viommu.core.spi.MmioRegion;
import dev.viommu.core.translate.AccessType;
import dev.viommu.core.translate.InvalidationListener;
import dev.viommu.core.translate.InvalidationNotifier;
import dev.viommu.core.translate.Translation;
import dev.viommu.core.translate.TranslationService;
import dev.viommu.virtio.spec.FaultRecord;
import dev.viommu.virtio.spec.IommuConfig;
import dev.viommu.virtio.spec.IommuFeature;
import dev.viommu.virtio.spec.ProbeProperty;
import dev.viommu.virtio.spec.VirtioFeature;
import dev.viommu.virtio.transport.DescriptorChain;
import dev.viommu.virtio.transport.PciCapability;
import dev.viommu.virtio.transport.PciLayout;
import dev.viommu.virtio.transport.RateLimitedLog;
import dev.viommu.virtio.transport.VirtioDevice;
import dev.viommu.virtio.transport.VirtioMmioTransport;
import dev.viommu.virtio.transport.VirtioPciTransport;
import dev.viommu.virtio.transport.VirtioTransport;
import dev.viommu.virtio.transport.Virtqueue;
import org.slf4j.LoggerFactory;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.viommu.virtio.spec.IommuRequest.*;

/**
 * The virtio-iommu device (virtio 1.2/1.3 §5.13) behind virtio-mmio or virtio-pci. It handles ATTACH, DETACH,
 * MAP, UNMAP and PROBE from the request queue, reports faults on the event queue, translates DMA for emulated
 * endpoints and hands passthrough endpoints' changes to a {@link HostBinding} before it acknowledges them.
 * The sidecar serialises every call into one device, so there is no locking here.
 */
public final class VirtioIommuDevice implements DeviceModel, VirtioDevice, TranslationService {
    /** Which virtio transport the device sits behind. */
    public enum Transport { MMIO, PCI }

    public static final int REQUEST_QUEUE = 0;
    public static final int EVENT_QUEUE = 1;
    private static final int FAULT_BACKLOG = 256;
    private static final long IDENTITY_PAGE = 1L << 30;
    private static final VarHandle LE32 = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LE64 = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LE16 = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    private final String id;
    private final String driver;
    private final VirtioIommuConfig cfg;
    private final DeviceContext ctx;
    private final HostBinding binding;
    private final Transport kind;
    private final VirtioTransport transport;
    private final List<MmioRegion> regions;
    private final RateLimitedLog guestErrors = new RateLimitedLog(LoggerFactory.getLogger(VirtioIommuDevice.class), 20, 1000);

    private final IntObjectMap<EndpointState> endpoints = new IntObjectMap<>();
    private final Map<String, EndpointState> endpointsByName = new HashMap<>();
    private final IntObjectMap<Domain> domains = new IntObjectMap<>();
    private long totalMappings;
    private int bypass;
    private final InvalidationNotifier notifier = new InvalidationNotifier();
    private final FaultQueue faults = new FaultQueue(FAULT_BACKLOG);

    // per-request scratch, reused
    private final DescriptorChain chain;
    private final DescriptorChain eventChain;
    private final byte[] req = new byte[PROBE_SIZE];
    private final byte[] tail = new byte[TAIL_SIZE];
    private final byte[] props;
    private final byte[] faultBuf = new byte[FaultRecord.SIZE];
    private final long[] statusCounts = new long[16];
    private long faultsReported, faultsDelivered;
    // queue depths for the metrics gauges (read by the scrape thread, written under the sidecar's device lock)
    private volatile int requestBacklog, faultBacklog;

    // UNMAP visitor state (the device is its own visitor: no capturing lambda per request)
    private final UnmapVisitor unmapVisitor = new UnmapVisitor();

    public VirtioIommuDevice(final String id, final String driver, final Transport kind, final VirtioIommuConfig cfg,
                             final DeviceContext ctx, final HostBinding binding) {
        this.id = id;
        this.driver = driver;
        this.cfg = cfg;
        this.ctx = ctx;
        this.binding = binding;
        this.kind = kind;
        this.bypass = cfg.bootBypass() ? 1 : 0;
        this.chain = new DescriptorChain(cfg.queueSize());
        this.eventChain = new DescriptorChain(cfg.queueSize());
        this.props = new byte[cfg.probeSize()];
        if (kind == Transport.MMIO) {
            final VirtioMmioTransport t = new VirtioMmioTransport(this, ctx.memory(), ctx.interrupts());
            transport = t;
            regions = CountedRegion.all(List.of(t), ctx.metrics());
        } else {
            final VirtioPciTransport t = new VirtioPciTransport(this, ctx.memory(), ctx.interrupts());
            transport = t;
            regions = CountedRegion.all(t.regions(), ctx.metrics());
        }
        transport.onDeviceError(why -> ctx.events().emit("VIRTIO_DEVICE_NEEDS_RESET", Map.of("device", id, "reason", why)));
        // requestq: requests made available but not yet consumed after the last doorbell (the per-kick budget
        // leaves some for the next one); eventq: fault records waiting for event buffers.
        ctx.metrics().queueDepth("requestq", () -> requestBacklog);
        ctx.metrics().queueDepth("eventq", () -> faultBacklog);
    }

    // ================================================================ DeviceModel

    @Override public String id() { return id; }

    @Override public String driver() { return driver; }

    @Override public List<MmioRegion> mmioRegions() { return regions; }

    @Override public TranslationService translation() { return this; }

    @Override public void doorbell(final int queue) { transport.notifyQueue(queue); }

    /** virtio-pci: the PCI function's configuration space (data-plane region 0xFF). */
    @Override
    public java.util.Optional<dev.viommu.core.spi.PciFunction> pci() {
        return transport instanceof VirtioPciTransport p ? java.util.Optional.of(p.config()) : java.util.Optional.empty();
    }

    public VirtioTransport transport() { return transport; }

    public VirtioIommuConfig config() { return cfg; }

    /** The virtio-pci capability description for configuration space, or empty for virtio-mmio. */
    public List<PciCapability> pciCapabilities() {
        return transport instanceof VirtioPciTransport p ? p.capabilities() : List.of();
    }

    /** The whole PCI face (IDs, BARs ↔ regions, capabilities, MSI-X), or null for virtio-mmio. */
    public PciLayout pciLayout() {
        return transport instanceof VirtioPciTransport p ? p.layout() : null;
    }

    @Override
    public void attachEndpoint(final Endpoint endpoint) throws DeviceException {
        if (endpoints.get(endpoint.sourceId()) != null) {
            throw new DeviceException("endpoint ID " + endpoint.sourceId() + " is already behind " + id);
        }
        if (endpointsByName.containsKey(endpoint.id())) throw new DeviceException("endpoint " + endpoint.id() + " is already behind " + id);
        final List<ResvRegion> resv = new ArrayList<>(cfg.reservedRegions());
        if (endpoint.kind() == Endpoint.Kind.PASSTHROUGH) resv.addAll(binding.reservedRegions(endpoint));
        final EndpointState ep = new EndpointState(endpoint, ResvRegion.normalize(resv));
        endpoints.put(ep.id, ep);
        endpointsByName.put(endpoint.id(), ep);
    }

    @Override
    public void detachEndpoint(final String endpointId) throws DeviceException {
        final EndpointState ep = endpointsByName.get(endpointId);
        if (ep == null) throw new DeviceException("no endpoint " + endpointId + " behind " + id);
        if (ep.domain != null) {
            if (ep.passthrough) {
                try {
                    binding.apply(new HostBindingEvent.Detach(ep.endpoint, ep.domain.idUnsigned()));
                } catch (HostException e) {
                    throw new DeviceException("host detach of " + endpointId + " failed: " + e.getMessage(), e);
                }
            }
            leaveDomain(ep);
        }
        endpoints.remove(ep.id);
        endpointsByName.remove(endpointId);
        if (ep.passthrough) binding.endpointRemoved(ep.endpoint);
        notifier.notify(ep.id, NO_PASID, 0, 0);
    }

    /** A system reset: the virtio device (and PCI function) reset, and the bypass byte back to its initial value. */
    @Override
    public void reset() {
        if (transport instanceof VirtioPciTransport p) p.functionReset();
        else transport.reset();
        bypass = cfg.bootBypass() ? 1 : 0;
    }

    @Override
    public void close() {
        resetDomains();
        binding.close();
    }

    // ================================================================ VirtioDevice

    @Override public int deviceId() { return IommuFeature.DEVICE_ID; }

    @Override
    public long offeredFeatures() {
        long f = VirtioFeature.bit(VirtioFeature.VERSION_1)
                | 1L << IommuFeature.INPUT_RANGE | 1L << IommuFeature.DOMAIN_RANGE | 1L << IommuFeature.MAP_UNMAP
                | 1L << IommuFeature.PROBE | 1L << IommuFeature.MMIO | 1L << IommuFeature.BYPASS_CONFIG;
        if (cfg.accessPlatform()) f |= VirtioFeature.bit(VirtioFeature.ACCESS_PLATFORM);
        if (cfg.eventIdx()) f |= VirtioFeature.bit(VirtioFeature.RING_EVENT_IDX);
        if (cfg.indirectDesc()) f |= VirtioFeature.bit(VirtioFeature.RING_INDIRECT_DESC);
        return f;
    }

    @Override public int queueCount() { return 2; }

    @Override public int queueMaxSize(final int queue) { return cfg.queueSize(); }

    @Override public int configSize() { return IommuConfig.SIZE; }

    private boolean negotiated(final int feature) { return (transport.negotiatedFeatures() & (1L << feature)) != 0; }

    private int configByte(final int o) {
        final long v;
        final int base;
        if (o < IommuConfig.INPUT_RANGE_START) { v = cfg.pageSizeMask(); base = IommuConfig.PAGE_SIZE_MASK; }
        else if (o < IommuConfig.INPUT_RANGE_END) { v = 0; base = IommuConfig.INPUT_RANGE_START; }
        else if (o < IommuConfig.DOMAIN_RANGE_START) { v = cfg.inputEnd(); base = IommuConfig.INPUT_RANGE_END; }
        else if (o < IommuConfig.DOMAIN_RANGE_END) { v = cfg.domainStart(); base = IommuConfig.DOMAIN_RANGE_START; }
        else if (o < IommuConfig.PROBE_SIZE) { v = cfg.domainEnd(); base = IommuConfig.DOMAIN_RANGE_END; }
        else if (o < IommuConfig.BYPASS) { v = cfg.probeSize(); base = IommuConfig.PROBE_SIZE; }
        else if (o == IommuConfig.BYPASS) { v = bypass; base = IommuConfig.BYPASS; }
        else return 0;
        return (int) (v >>> (8 * (o - base))) & 0xFF;
    }

    @Override
    public long readConfig(final int offset, final int size) {
        long v = 0;
        for (int i = 0; i < size; i++) v |= (long) configByte(offset + i) << (8 * i);
        return v;
    }

    @Override
    public void writeConfig(final int offset, final int size, final long value) {
        // Only 'bypass' is driver-writable, and only with BYPASS_CONFIG (§5.13.4); bits 1-7 are ignored.
        if (offset > IommuConfig.BYPASS || offset + size <= IommuConfig.BYPASS) {
            guestErrors.warn("write to read-only virtio-iommu config offset {} ignored", offset, size);
            return;
        }
        if (!negotiated(IommuFeature.BYPASS_CONFIG)) {
            guestErrors.warn("bypass write without BYPASS_CONFIG negotiated ignored", offset);
            return;
        }
        final int b = (int) (value >>> (8 * (IommuConfig.BYPASS - offset))) & 1;
        if (b != bypass) {
            bypass = b;
            // Every unattached endpoint changes translation.
            notifier.notify(ANY_SOURCE, ANY_PASID, 0, 0);
            ctx.metrics().invalidation("BYPASS");
        }
    }

    @Override
    public boolean acceptFeatures(final long features) { return true; }

    @Override
    public void process(final int queue) {
        if (queue == REQUEST_QUEUE) processRequests();
        else deliverFaults();
    }

    /** Virtio device reset: no endpoint is attached afterwards (§5.13.5); 'bypass' survives. */
    @Override
    public void deviceReset() {
        resetDomains();
        faults.clear();
        faultBacklog = 0;
        requestBacklog = 0;
    }

    private void resetDomains() {
        final List<EndpointState> attached = new ArrayList<>();
        endpoints.forEachValue(ep -> { if (ep.domain != null) attached.add(ep); });
        for (EndpointState ep : attached) {
            if (ep.passthrough) {
                try {
                    binding.apply(new HostBindingEvent.Detach(ep.endpoint, ep.domain.idUnsigned()));
                } catch (HostException e) {
                    LoggerFactory.getLogger(VirtioIommuDevice.class).warn("{}: host detach of {} on reset failed: {}",
                            id, ep.endpoint.id(), e.getMessage());
                }
            }
            ep.domain = null;
        }
        domains.clear();
        totalMappings = 0;
        notifier.notify(ANY_SOURCE, ANY_PASID, 0, 0);
        ctx.metrics().invalidation("RESET");
    }

    // ================================================================ request queue

    private void processRequests() {
        final GuestMemory mem = transport.memory();
        final Virtqueue q = transport.queue(REQUEST_QUEUE);
        int budget = 4 * q.size();          // bound the work one doorbell can cause
        boolean pushed = false;
        do {
            while (budget > 0) {
                final int r = q.pop(mem, chain);
                if (r == Virtqueue.EMPTY) break;
                if (r == Virtqueue.ERROR) { transport.deviceError("requestq: " + q.error()); return; }
                budget--;
                final int len = handle(mem, chain);
                if (!q.push(mem, chain.head(), len)) { transport.deviceError("requestq: " + q.error()); return; }
                pushed = true;
            }
        } while (budget > 0 && q.enableNotification(mem));
        requestBacklog = Math.max(0, q.pending(mem));
        if (pushed) transport.usedBuffers(REQUEST_QUEUE);
    }

    /** Handles one request chain; returns the used length (0: returned unwritten). */
    private int handle(final GuestMemory mem, final DescriptorChain c) {
        final long w = c.writableBytes();
        final long r = c.readableBytes();
        if (w < TAIL_SIZE) {
            // §5.13.6: no tail to write a status into.
            guestErrors.warn("request without a device-writable tail ({} bytes)", w);
            return 0;
        }
        final long tailOff = w - TAIL_SIZE;
        if (!c.canWrite(mem, tailOff, TAIL_SIZE)) {
            // No status can reach the guest, which will take the request as failed: it must not take effect either.
            guestErrors.warn("request tail outside RAM ({} writable bytes): returned unwritten", w);
            return 0;
        }
        if (r < HEAD_SIZE) return complete(mem, c, tailOff, w, S_IOERR);
        final int n = (int) Math.min(r, req.length);
        try {
            c.read(mem, 0, req, 0, n);
        } catch (GuestMemoryException e) {
            guestErrors.warn("request buffer outside RAM: {}", e.getMessage());
            return complete(mem, c, tailOff, w, S_FAULT);
        }
        final int type = req[HEAD_TYPE] & 0xFF;
        final int status;
        try {
            switch (type) {
                case T_ATTACH -> status = n < ATTACH_SIZE ? S_IOERR : attach(new Request.Attach(u32(ATTACH_DOMAIN),
                        u32(ATTACH_ENDPOINT), u32(ATTACH_FLAGS), u32(ATTACH_RESERVED)));
                case T_DETACH -> status = n < DETACH_SIZE ? S_IOERR : detach(new Request.Detach(u32(DETACH_DOMAIN), u32(DETACH_ENDPOINT)));
                case T_MAP -> status = n < MAP_SIZE ? S_IOERR : map(new Request.Map(u32(MAP_DOMAIN), u64(MAP_VIRT_START),
                        u64(MAP_VIRT_END), u64(MAP_PHYS_START), u32(MAP_FLAGS)));
                case T_UNMAP -> status = n < UNMAP_SIZE ? S_IOERR : unmap(new Request.Unmap(u32(UNMAP_DOMAIN),
                        u64(UNMAP_VIRT_START), u64(UNMAP_VIRT_END), u32(UNMAP_RESERVED)));
                case T_PROBE -> {
                    // Without PROBE the device writes nothing (§5.13.6.8.2): like an unknown type.
                    if (!negotiated(IommuFeature.PROBE)) return unknown(type);
                    if (n < PROBE_SIZE || w != (long) cfg.probeSize() + TAIL_SIZE) status = S_IOERR;
                    else status = probe(mem, c, new Request.Probe(u32(PROBE_ENDPOINT)));
                }
                default -> { return unknown(type); }
            }
        } catch (RuntimeException e) {
            // A bug, not a guest error: the guest gets S_DEVERR, we get a stack trace.
            LoggerFactory.getLogger(VirtioIommuDevice.class).error("{}: request type {} failed", id, type, e);
            return complete(mem, c, tailOff, w, S_DEVERR);
        }
        return complete(mem, c, tailOff, w, status);
    }

    private int unknown(final int type) {
        guestErrors.warn("unknown or unnegotiated request type {}: returned unwritten", type);
        return 0;
    }

    private int complete(final GuestMemory mem, final DescriptorChain c, final long tailOff, final long w, final int status) {
        statusCounts[status & 15]++;
        tail[0] = (byte) status;
        tail[1] = tail[2] = tail[3] = 0;
        try {
            c.write(mem, tailOff, tail, 0, TAIL_SIZE);
        } catch (GuestMemoryException e) {
            guestErrors.warn("request tail outside RAM: {}", e.getMessage());
            return 0;
        }
        return (int) w;
    }

    private int u32(final int off) { return (int) LE32.get(req, off); }

    private long u64(final int off) { return (long) LE64.get(req, off); }

    private boolean domainInRange(final int d) {
        return Integer.compareUnsigned(d, cfg.domainStart()) >= 0 && Integer.compareUnsigned(d, cfg.domainEnd()) <= 0;
    }

    private EndpointState endpointFor(final int epId) { return epId < 0 ? null : endpoints.get(epId); }

    private int hostApply(final HostBindingEvent e) {
        try {
            binding.apply(e);
            return S_OK;
        } catch (HostException ex) {
            guestErrors.warn("host binding refused {}: {}", e, ex.getMessage());
            return HostBinding.statusFor(ex.errno());
        }
    }

    // ---- ATTACH (§5.13.6.4)

    private int attach(final Request.Attach a) {
        if (a.reserved() != 0) return S_INVAL;
        final int allowed = negotiated(IommuFeature.BYPASS_CONFIG) ? ATTACH_F_BYPASS : 0;
        if ((a.flags() & ~allowed) != 0) return S_INVAL;
        if (!domainInRange(a.domain())) return S_RANGE;
        final EndpointState ep = endpointFor(a.endpoint());
        if (ep == null) return S_NOENT;
        final boolean byp = (a.flags() & ATTACH_F_BYPASS) != 0;
        Domain d = domains.get(a.domain());
        if (d != null && d.bypass != byp) return S_INVAL;
        if (d != null && ep.domain == d) return S_OK;
        if (d == null && domains.size() >= cfg.maxDomains()) return S_NOMEM;
        if (d != null && !d.bypass && mappingsHitResv(d, ep)) return S_UNSUPP;   // incompatible PROBE properties
        final Domain old = ep.domain;
        if (ep.passthrough) {
            final int s = hostApply(new HostBindingEvent.Attach(ep.endpoint, Integer.toUnsignedLong(a.domain()), byp,
                    old == null ? -1 : old.idUnsigned()));
            if (s != S_OK) return s;
            if (d != null && d.passthroughEndpoints == 0 && !d.mappings.isEmpty()) {
                final int rs = replay(d);
                if (rs != S_OK) {
                    // Put the host back where the guest still thinks the endpoint is.
                    hostApply(old == null ? new HostBindingEvent.Detach(ep.endpoint, d.idUnsigned())
                            : new HostBindingEvent.Attach(ep.endpoint, old.idUnsigned(), old.bypass, d.idUnsigned()));
                    return rs;
                }
            }
        }
        if (d == null) {
            d = new Domain(a.domain(), byp);
            domains.put(a.domain(), d);
        }
        if (old != null) leaveDomain(ep);     // implicit DETACH (§5.13.6.4: SHOULD)
        ep.domain = d;
        d.members.add(ep);
        if (ep.passthrough) d.passthroughEndpoints++;
        notifier.notify(ep.id, NO_PASID, 0, 0);
        ctx.metrics().invalidation("ATTACH");
        return S_OK;
    }

    private int replay(final Domain d) {
        final int[] status = {S_OK};
        d.mappings.forEach((s, e, p, f) -> {
            status[0] = hostApply(new HostBindingEvent.Map(d.idUnsigned(), s, e, p, protOf(f), (f & MAP_F_MMIO) != 0));
            return status[0] == S_OK;
        });
        return status[0];
    }

    private static boolean mappingsHitResv(final Domain d, final EndpointState ep) {
        for (ResvRegion r : ep.resv) if (d.mappings.overlaps(r.start(), r.end())) return true;
        return false;
    }

    /** Takes {@code ep} out of its domain; the domain goes away with its last endpoint (§5.13.6.5). */
    private void leaveDomain(final EndpointState ep) {
        final Domain d = ep.domain;
        ep.domain = null;
        d.members.remove(ep);
        if (ep.passthrough) d.passthroughEndpoints--;
        if (d.members.isEmpty()) {
            totalMappings -= d.mappings.size();
            d.mappings.clear();
            domains.remove(d.id);
        }
    }

    // ---- DETACH (§5.13.6.5)

    private int detach(final Request.Detach r) {
        final EndpointState ep = endpointFor(r.endpoint());
        if (ep == null) return S_NOENT;
        final Domain d = domains.get(r.domain());
        if (d == null || ep.domain != d) return S_INVAL;
        if (ep.passthrough) {
            final int s = hostApply(new HostBindingEvent.Detach(ep.endpoint, d.idUnsigned()));
            if (s != S_OK) return s;
        }
        leaveDomain(ep);
        notifier.notify(ep.id, NO_PASID, 0, 0);
        ctx.metrics().invalidation("DETACH");
        return S_OK;
    }

    // ---- MAP (§5.13.6.6)

    private int map(final Request.Map m) {
        if (!negotiated(IommuFeature.MAP_UNMAP)) return S_UNSUPP;
        if (!domainInRange(m.domain())) return S_RANGE;
        final int allowed = MAP_F_READ | MAP_F_WRITE | (negotiated(IommuFeature.MMIO) ? MAP_F_MMIO : 0);
        if ((m.flags() & ~allowed) != 0) return S_INVAL;
        final long s = m.virtStart(), e = m.virtEnd(), p = m.physStart();
        if (Long.compareUnsigned(e, s) < 0) return S_INVAL;
        if (Long.compareUnsigned(e, cfg.inputEnd()) > 0) return S_RANGE;
        final long g = cfg.granule() - 1;
        if ((s & g) != 0 || (p & g) != 0 || ((e + 1) & g) != 0) return S_RANGE;
        if (Long.compareUnsigned(p + (e - s), p) < 0) return S_RANGE;       // output range wraps
        final Domain d = domains.get(m.domain());
        if (d == null) return S_NOENT;
        if (d.bypass) return S_INVAL;
        if (d.mappings.overlaps(s, e)) return S_INVAL;
        for (int i = 0; i < d.members.size(); i++) {
            // ⚠ The spec says SHOULD reject a MAP over a RESV_MEM region without naming the status; S_INVAL as for overlaps.
            if (d.members.get(i).resvIntersects(s, e)) return S_INVAL;
        }
        if (d.mappings.size() >= cfg.maxMappingsPerDomain() || totalMappings >= cfg.maxTotalMappings()) return S_NOMEM;
        if (d.passthroughEndpoints > 0) {
            final int st = hostApply(new HostBindingEvent.Map(d.idUnsigned(), s, e, p, protOf(m.flags()),
                    (m.flags() & MAP_F_MMIO) != 0));
            if (st != S_OK) return st;
        }
        d.mappings.insert(s, e, p, m.flags());
        totalMappings++;
        return S_OK;
    }

    private static int protOf(final int mapFlags) {
        return ((mapFlags & MAP_F_READ) != 0 ? AccessType.READ : 0) | ((mapFlags & MAP_F_WRITE) != 0 ? AccessType.WRITE : 0);
    }

    // ---- UNMAP (§5.13.6.7)

    private final class UnmapVisitor implements MappingTable.Visitor {
        Domain domain;
        int status;

        @Override
        public boolean visit(final long start, final long end, final long phys, final int flags) {
            if (domain.passthroughEndpoints == 0) return true;
            status = hostApply(new HostBindingEvent.Unmap(domain.idUnsigned(), start, end));
            return status == S_OK;
        }
    }

    private int unmap(final Request.Unmap u) {
        if (!negotiated(IommuFeature.MAP_UNMAP)) return S_UNSUPP;
        if (!domainInRange(u.domain())) return S_RANGE;
        final long s = u.virtStart(), e = u.virtEnd();
        if (Long.compareUnsigned(e, s) < 0) return S_INVAL;
        if (Long.compareUnsigned(e, cfg.inputEnd()) > 0) return S_RANGE;
        final Domain d = domains.get(u.domain());
        if (d == null) return S_NOENT;
        if (d.bypass) return S_INVAL;
        if (u.reserved() != 0) return S_INVAL;          // MAY; and nothing is unmapped
        if (d.mappings.wouldSplit(s, e)) return S_RANGE; // SHOULD; and nothing is unmapped
        unmapVisitor.domain = d;
        unmapVisitor.status = S_OK;
        final int removed = d.mappings.removeRange(s, e, unmapVisitor);
        unmapVisitor.domain = null;
        totalMappings -= removed;
        if (removed > 0) {
            final long size = e - s + 1;            // 0 when the range is the whole space: "everything"
            for (int i = 0; i < d.members.size(); i++) notifier.notify(d.members.get(i).id, NO_PASID, s, size);
            ctx.metrics().invalidation("UNMAP");
        }
        return unmapVisitor.status;
    }

    // ---- PROBE (§5.13.6.8)

    private int probe(final GuestMemory mem, final DescriptorChain c, final Request.Probe p) {
        final EndpointState ep = endpointFor(p.endpoint());
        if (ep == null) return S_NOENT;
        java.util.Arrays.fill(props, (byte) 0);
        final int status;
        if ((long) ep.resv.size() * ProbeProperty.RESV_MEM_TOTAL > props.length) {
            status = S_INVAL;                   // does not fit: write none (§5.13.6.8.2)
        } else {
            int off = 0;
            for (ResvRegion r : ep.resv) {
                LE16.set(props, off, (short) ProbeProperty.T_RESV_MEM);
                LE16.set(props, off + 2, (short) ProbeProperty.RESV_MEM_LENGTH);
                props[off + ProbeProperty.RESV_MEM_SUBTYPE] = (byte) r.subtype();
                LE64.set(props, off + ProbeProperty.RESV_MEM_START, r.start());
                LE64.set(props, off + ProbeProperty.RESV_MEM_END, r.end());
                off += ProbeProperty.RESV_MEM_TOTAL;
            }
            status = S_OK;
        }
        try {
            c.write(mem, 0, props, 0, props.length);
        } catch (GuestMemoryException e) {
            return S_FAULT;
        }
        return status;
    }

    // ================================================================ translation

    @Override
    public boolean translate(final int sourceId, final int pasid, final long iova, final int access, final Translation out) {
        ctx.metrics().translations.increment();
        final EndpointState ep = endpoints.get(sourceId);
        if (ep == null) {
            ctx.metrics().fault("UNKNOWN_ENDPOINT");
            return out.fault(FaultRecord.R_UNKNOWN, "UNKNOWN_ENDPOINT").ok;
        }
        if (pasid != NO_PASID) return fault(ep, FaultRecord.R_UNKNOWN, "PASID", iova, access, out);
        final Domain d = ep.domain;
        if (d == null) {
            // §5.13.5: unattached endpoints bypass when 'bypass' is 1 (BYPASS_CONFIG is always offered).
            if (bypass == 1) return identity(iova, out);
            return fault(ep, FaultRecord.R_DOMAIN, "DOMAIN", iova, access, out);
        }
        if (d.bypass) return identity(iova, out);
        final MappingTable m = d.mappings;
        if (!m.find(iova)) {
            ctx.metrics().iotlbMisses.increment();
            return fault(ep, FaultRecord.R_MAPPING, "MAPPING", iova, access, out);
        }
        ctx.metrics().iotlbHits.increment();
        final int f = m.hitFlags;
        // §5.13.6.6: no writes without WRITE; reads need READ (we do not grant reads to write-only mappings).
        if ((access & AccessType.WRITE) != 0 && (f & MAP_F_WRITE) == 0
                || (access & (AccessType.READ | AccessType.EXEC)) != 0 && (f & MAP_F_READ) == 0) {
            return fault(ep, FaultRecord.R_MAPPING, "MAPPING", iova, access, out);
        }
        final long start = m.hitStart, end = m.hitEnd;
        return out.success(m.hitPhys + (iova - start), protOf(f), blockSize(iova, start, end)).ok;
    }

    /** The largest power-of-two block (granule to 1 GiB) around {@code iova} that lies inside [start, end]. */
    private long blockSize(final long iova, final long start, final long end) {
        long p = cfg.granule();
        while (p < IDENTITY_PAGE) {
            final long np = p << 1;
            final long base = iova & -np;
            if (Long.compareUnsigned(base, start) < 0 || Long.compareUnsigned(base + np - 1, end) > 0) break;
            p = np;
        }
        return p;
    }

    private static boolean identity(final long iova, final Translation out) {
        return out.success(iova, AccessType.READ | AccessType.WRITE, IDENTITY_PAGE).ok;
    }

    private boolean fault(final EndpointState ep, final int reason, final String name, final long iova, final int access,
                          final Translation out) {
        ctx.metrics().fault(name);
        final int flags = FaultRecord.F_ADDRESS | ((access & AccessType.WRITE) != 0 ? FaultRecord.F_WRITE : 0)
                | ((access & (AccessType.READ | AccessType.EXEC)) != 0 ? FaultRecord.F_READ : 0);
        reportFault(reason, flags, ep.id, iova);
        return out.fault(reason, name).ok;
    }

    /**
     * Queues a fault record for the event queue (§5.13.6.9) and delivers what the posted buffers allow. Also for
     * a host binding that learns of a passthrough endpoint's fault.
     */
    public void reportFault(final int reason, final int flags, final int endpoint, final long address) {
        faultsReported++;
        faults.offer(reason, flags, endpoint, address);
        deliverFaults();
        faultBacklog = faults.size();
    }

    private void deliverFaults() {
        if (!transport.live() || faults.isEmpty()) return;
        final Virtqueue q = transport.queue(EVENT_QUEUE);
        if (!q.ready()) return;
        final GuestMemory mem = transport.memory();
        boolean pushed = false;
        int budget = 2 * q.size();
        while (!faults.isEmpty() && budget-- > 0) {
            final int r = q.pop(mem, eventChain);
            if (r == Virtqueue.ERROR) { transport.deviceError("eventq: " + q.error()); return; }
            if (r == Virtqueue.EMPTY) {
                // Ask for a kick when the driver posts the next buffer; retry if one arrived meanwhile.
                if (q.enableNotification(mem)) continue;
                break;
            }
            int len = 0;
            if (eventChain.writableBytes() >= FaultRecord.SIZE) {
                java.util.Arrays.fill(faultBuf, (byte) 0);
                faultBuf[FaultRecord.REASON] = (byte) faults.peekReason();
                LE32.set(faultBuf, FaultRecord.FLAGS, faults.peekFlags());
                LE32.set(faultBuf, FaultRecord.ENDPOINT, faults.peekEndpoint());
                LE64.set(faultBuf, FaultRecord.ADDRESS, faults.peekAddress());
                try {
                    eventChain.write(mem, 0, faultBuf, 0, FaultRecord.SIZE);
                    len = FaultRecord.SIZE;
                    faults.poll();
                    faultsDelivered++;
                } catch (GuestMemoryException e) {
                    guestErrors.warn("event buffer outside RAM: {}", e.getMessage());
                }
            } else {
                guestErrors.warn("event buffer of {} bytes cannot hold a fault record", eventChain.writableBytes());
            }
            if (!q.push(mem, eventChain.head(), len)) { transport.deviceError("eventq: " + q.error()); return; }
            pushed = true;
        }
        faultBacklog = faults.size();
        if (pushed) {
            q.enableNotification(mem);
            transport.usedBuffers(EVENT_QUEUE);
        }
    }

    @Override public void addInvalidationListener(final InvalidationListener l) { notifier.add(l); }

    @Override public void removeInvalidationListener(final InvalidationListener l) { notifier.remove(l); }

    // ================================================================ benchmarks and introspection

    /**
     * Creates (if needed) domain {@code domain}, attaches endpoint {@code endpointId} to it and inserts {@code n}
     * mappings of {@code size} bytes each, IOVA {@code base + i*stride} → {@code phys + i*size}, read/write: a
     * benchmark set-up that bypasses the queue. The endpoint must have been added with {@link #attachEndpoint}.
     */
    public void populateForBenchmark(final int domain, final int endpointId, final long base, final long stride,
                                     final long size, final long phys, final int n) {
        final EndpointState ep = endpoints.get(endpointId);
        if (ep == null) throw new IllegalArgumentException("no endpoint " + endpointId);
        Domain d = domains.get(domain);
        if (d == null) { d = new Domain(domain, false); domains.put(domain, d); }
        if (ep.domain != d) {
            if (ep.domain != null) leaveDomain(ep);
            ep.domain = d;
            d.members.add(ep);
        }
        for (int i = 0; i < n; i++) {
            final long s = base + i * stride;
            if (d.mappings.overlaps(s, s + size - 1)) throw new IllegalArgumentException("overlap at 0x" + Long.toHexString(s));
            d.mappings.insert(s, s + size - 1, phys + i * size, MAP_F_READ | MAP_F_WRITE);
            totalMappings++;
        }
    }

    public int domainCount() { return domains.size(); }

    public long mappingCount() { return totalMappings; }

    /** The config 'bypass' byte. */
    public int bypass() { return bypass; }

    @Override
    public Map<String, Object> describe() {
        final Map<String, Object> m = new LinkedHashMap<>();
        m.put("driver", driver);
        m.put("transport", kind.name().toLowerCase(java.util.Locale.ROOT));
        m.put("virtio", transport.describe());
        if (transport instanceof VirtioPciTransport p) {
            m.put("pci-capabilities", p.capabilities().stream().map(PciCapability::describe).toList());
        }
        m.put("bypass", bypass);
        m.put("page-size-mask", "0x" + Long.toHexString(cfg.pageSizeMask()));
        m.put("input-range", List.of("0x0", "0x" + Long.toHexString(cfg.inputEnd())));
        m.put("domain-range", List.of(Integer.toUnsignedLong(cfg.domainStart()), Integer.toUnsignedLong(cfg.domainEnd())));
        m.put("limits", Map.of("max-domains", cfg.maxDomains(), "max-mappings", cfg.maxMappingsPerDomain(),
                "max-total-mappings", cfg.maxTotalMappings()));
        m.put("domain-count", domains.size());
        m.put("mapping-count", totalMappings);
        final List<Map<String, Object>> eps = new ArrayList<>();
        endpoints.forEachValue(ep -> {
            final Map<String, Object> e = new LinkedHashMap<>();
            e.put("id", ep.endpoint.id());
            e.put("endpoint", ep.id);
            e.put("kind", ep.endpoint.kind().name().toLowerCase(java.util.Locale.ROOT));
            e.put("attached", ep.domain != null);
            if (ep.domain != null) e.put("domain", ep.domain.idUnsigned());
            e.put("domain-bypass", ep.domain != null && ep.domain.bypass);
            e.put("mappings", ep.domain == null ? 0 : ep.domain.mappings.size());
            e.put("resv-mem", ep.resv.stream().map(r -> "0x" + Long.toHexString(r.start()) + "-0x"
                    + Long.toHexString(r.end()) + (r.isMsi() ? " msi" : " reserved")).toList());
            eps.add(e);
        });
        m.put("endpoints", eps);
        final Map<String, Object> st = new LinkedHashMap<>();
        for (int s = 0; s <= S_NOMEM; s++) st.put(statusName(s), statusCounts[s]);
        m.put("request-status", st);
        m.put("faults", Map.of("reported", faultsReported, "delivered", faultsDelivered, "pending", faults.size(),
                "dropped", faults.dropped));
        m.put("guest-errors", guestErrors.count());
        m.put("host-binding", binding.describe());
        return m;
    }
}
