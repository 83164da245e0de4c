package dev.viommu.guests.virtio;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.guest.virtio.GuestAllocator;
import dev.viommu.core.guest.virtio.ViommuRequests;
import dev.viommu.core.guest.virtio.SplitVirtqueue;
import dev.viommu.core.guest.virtio.VirtioConfigOps;
import dev.viommu.core.guest.virtio.VirtioPciGuest;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.ArrayDeque;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

import static dev.viommu.core.guest.virtio.ViommuRequests.*;

/**
 * A guest virtio-iommu driver that does what Linux 7.3's drivers/iommu/virtio-iommu.c does (with the virtio core
 * steps of drivers/virtio/virtio.c it relies on), written against {@link GuestMachine} and a
 * {@link VirtioConfigOps} transport only, so the same code runs in process and through the real sidecar. Every
 * public step names the Linux function it mirrors and reports itself to {@code trace} (a script's narrator).
 */
public final class ViommuDriver {
    // uapi virtio_iommu.h feature bits, plus the virtio core's
    public static final int F_INPUT_RANGE = 0, F_DOMAIN_RANGE = 1, F_MAP_UNMAP = 2, F_BYPASS = 3, F_PROBE = 4,
            F_MMIO = 5, F_BYPASS_CONFIG = 6, F_INDIRECT_DESC = 28, F_EVENT_IDX = 29, F_VERSION_1 = 32,
            F_ACCESS_PLATFORM = 33;
    /** virtio-iommu.c's features[] plus what the virtio core keeps (vring_transport_features). */
    public static final long LINUX_FEATURES = 1L << F_MAP_UNMAP | 1L << F_INPUT_RANGE | 1L << F_DOMAIN_RANGE
            | 1L << F_PROBE | 1L << F_MMIO | 1L << F_BYPASS_CONFIG | 1L << F_INDIRECT_DESC | 1L << F_EVENT_IDX
            | 1L << F_VERSION_1 | 1L << F_ACCESS_PLATFORM;
    public static final int VIRTIO_ID_IOMMU = 23;
    // device status (uapi virtio_config.h)
    public static final int ACKNOWLEDGE = 1, DRIVER = 2, DRIVER_OK = 4, FEATURES_OK = 8, NEEDS_RESET = 0x40, FAILED = 0x80;
    // request types and status codes
    public static final String[] STATUS_NAMES = {"S_OK", "S_IOERR", "S_UNSUPP", "S_DEVERR", "S_INVAL", "S_RANGE",
            "S_NOENT", "S_FAULT", "S_NOMEM"};
    public static final int FAULT_R_UNKNOWN = 0, FAULT_R_DOMAIN = 1, FAULT_R_MAPPING = 2;
    public static final int FAULT_F_READ = 1, FAULT_F_WRITE = 2, FAULT_F_ADDRESS = 0x100;
    public static final int RESV_MEM_T_RESERVED = 0, RESV_MEM_T_MSI = 1;
    // struct virtio_iommu_config offsets
    static final int CFG_PAGE_SIZE_MASK = 0, CFG_INPUT_START = 8, CFG_INPUT_END = 16, CFG_DOMAIN_START = 24,
            CFG_DOMAIN_END = 28, CFG_PROBE_SIZE = 32, CFG_BYPASS = 36;
    static final int REQUEST_VQ = 0, EVENT_VQ = 1, EVT_SIZE = 24;
    static final int VIOMMU_FAULT_RESV_MASK = 0xFFFF_FF00;
    static final long PAGE_SIZE = 4096;
    private static final int SLOT = 1024;

    /** How a kick reaches the device: the transport's notify register, or the hypervisor's doorbell (ioeventfd). */
    public enum Kick { NOTIFY_REGISTER, DOORBELL }

    public record Fault(int reason, int flags, int endpoint, long address) {}

    public record ResvMem(int subtype, long start, long end) {}

    /** struct viommu_domain. */
    public static final class Domain {
        public final int id;
        final TreeMap<Long, long[]> mappings = new TreeMap<>(Long::compareUnsigned);   // iova -> {end, paddr, flags}
        int nrEndpoints;
        final boolean identity;

        Domain(final int id, final boolean identity) {
            this.id = id;
            this.identity = identity;
        }

        public int mappingCount() { return mappings.size(); }
    }

    /** struct viommu_endpoint: a device and its fwspec IDs. */
    public static final class Endpoint {
        public final int[] ids;
        public final List<ResvMem> resvRegions = new ArrayList<>();
        Domain vdomain;

        public Endpoint(final int... ids) { this.ids = ids; }

        public Domain domain() { return vdomain; }
    }

    /** struct viommu_request: where the copy sits in guest RAM, and the caller's buffer for writeback. */
    private record Req(long gpa, int len, int writeOffset, byte[] writeback, int slot, int[] rawUsedLen) {}

    private final GuestMachine m;
    private final GuestMemory mem;
    private final VirtioConfigOps t;
    private final GuestAllocator alloc;
    private Consumer<String> trace = s -> { };
    private Kick kick = Kick.NOTIFY_REGISTER;
    private SplitVirtqueue reqVq, evtVq;
    private long features;
    public long pgsizeBitmap;
    public long inputStart, inputEnd = -1L;
    public int firstDomain, lastDomain = -1;
    public int probeSize;
    public int identityDomainId;
    private int mapFlags;
    private final BitSet domainIds = new BitSet();
    private final List<Req> requests = new ArrayList<>();
    private final ArrayDeque<Integer> freeSlots = new ArrayDeque<>();
    private final List<GuestMachine.Interrupt> pendingIrqs = new ArrayList<>();
    private long slotBase;
    public final List<Fault> faults = new ArrayList<>();
    public int configChanges;
    public final Domain identityDomain = new Domain(-1, true);
    private final long syncTimeoutMillis = 10_000;

    public ViommuDriver(final GuestMachine m, final VirtioConfigOps t, final GuestAllocator alloc) {
        this.m = m;
        this.mem = m.memory();
        this.t = t;
        this.alloc = alloc;
    }

    /** Where driver steps are reported (a script's narrator). */
    public ViommuDriver trace(final Consumer<String> sink) {
        this.trace = sink;
        return this;
    }

    public ViommuDriver kickVia(final Kick k) {
        this.kick = k;
        return this;
    }

    private void step(final String s) { trace.accept(s); }

    public long features() { return features; }

    public boolean hasFeature(final int f) { return (features & (1L << f)) != 0; }

    public SplitVirtqueue requestQueue() { return reqVq; }

    public SplitVirtqueue eventQueue() { return evtVq; }

    public VirtioConfigOps transport() { return t; }

    // ------------------------------------------------------------------ probe

    /** virtio_dev_probe + viommu_probe with Linux's feature table. */
    public int probe() { return probe(LINUX_FEATURES, true); }

    /**
     * register_virtio_device (reset, ACKNOWLEDGE) and virtio_dev_probe (DRIVER, feature negotiation,
     * virtio_features_ok), then viommu_probe. {@code strict}: viommu_probe's requirement of VERSION_1 and
     * MAP_UNMAP (a script may relax it to provoke S_UNSUPP).
     */
    public int probe(final long driverFeatures, final boolean strict) {
        if (t.deviceId() != VIRTIO_ID_IOMMU) return -ENODEV;
        step("register_virtio_device: reset, ACKNOWLEDGE (" + t.name() + ", device ID " + t.deviceId() + ")");
        t.reset();
        t.setStatus(ACKNOWLEDGE);
        step("virtio_dev_probe: DRIVER, device features & driver features, FEATURES_OK");
        t.setStatus(ACKNOWLEDGE | DRIVER);
        final long offered = t.getFeatures();
        features = offered & driverFeatures;
        t.finalizeFeatures(features);
        t.setStatus(ACKNOWLEDGE | DRIVER | FEATURES_OK);          // virtio_features_ok: set, then re-read
        if ((t.getStatus() & FEATURES_OK) == 0) {
            t.setStatus(t.getStatus() | FAILED);
            return -ENODEV;
        }
        step("viommu_probe: features 0x" + Long.toHexString(features) + " (offered 0x" + Long.toHexString(offered) + ")");
        if (strict && (!hasFeature(F_VERSION_1) || !hasFeature(F_MAP_UNMAP))) return -ENODEV;
        final int ret = initVqs();
        if (ret != 0) return ret;
        pgsizeBitmap = cread64(CFG_PAGE_SIZE_MASK);                 // virtio_cread_le(page_size_mask)
        if (pgsizeBitmap == 0) return -EINVAL;
        mapFlags = MAP_F_READ | MAP_F_WRITE;
        lastDomain = -1;
        // virtio_cread_le_feature: optional fields only with their feature
        if (hasFeature(F_INPUT_RANGE)) { inputStart = cread64(CFG_INPUT_START); inputEnd = cread64(CFG_INPUT_END); }
        if (hasFeature(F_DOMAIN_RANGE)) {
            firstDomain = (int) t.readConfig(CFG_DOMAIN_START, 4);
            lastDomain = (int) t.readConfig(CFG_DOMAIN_END, 4);
        }
        if (hasFeature(F_PROBE)) probeSize = (int) t.readConfig(CFG_PROBE_SIZE, 4);
        if (hasFeature(F_MMIO)) mapFlags |= MAP_F_MMIO;
        if (hasFeature(F_BYPASS_CONFIG)) {                          // reserve an ID for the bypass domain
            identityDomainId = firstDomain;
            firstDomain++;
        }
        step("viommu_probe: page_size_mask 0x" + Long.toHexString(pgsizeBitmap) + ", input [0x" + Long.toHexString(inputStart)
                + ", 0x" + Long.toHexString(inputEnd) + "], domains [" + Integer.toUnsignedString(firstDomain) + ", "
                + Integer.toUnsignedString(lastDomain) + "], probe_size " + probeSize);
        step("virtio_device_ready: DRIVER_OK");
        t.setStatus(t.getStatus() | DRIVER_OK);
        return fillEvtq();
    }

    /** virtio_cread_le of a 64-bit field: two 32-bit reads, as vm_get and vp_get do. */
    private long cread64(final int off) {
        return (t.readConfig(off, 4) & 0xFFFF_FFFFL) | (t.readConfig(off + 4, 4) << 32);
    }

    /** viommu_init_vqs → virtio_find_vqs: the request queue and the event queue (vm_find_vqs / vp_modern_find_vqs). */
    private int initVqs() {
        if (t instanceof VirtioPciGuest p && p.name().contains("MSI-X")) {
            step("vp_find_vqs_msix: pci_alloc_irq_vectors (MSI-X enable), config vector 0, one vector per queue");
            p.enableMsix(3);
            if (!p.setConfigVector(0)) return -EINVAL;
        }
        step("viommu_init_vqs: virtio_find_vqs(request, event)");
        reqVq = setupVq(REQUEST_VQ);
        evtVq = setupVq(EVENT_VQ);
        if (reqVq == null || evtVq == null) return -ENOENT;
        slotBase = alloc.alloc((long) SLOT * reqVq.size, 4096);
        for (int i = 0; i < reqVq.size; i++) freeSlots.add(i);
        return 0;
    }

    private SplitVirtqueue setupVq(final int q) {        // vm_setup_vq / setup_vq
        final int num = t.queueMax(q);
        if (num == 0) return null;
        final SplitVirtqueue vq = new SplitVirtqueue(mem, alloc, q, num, hasFeature(F_EVENT_IDX), hasFeature(F_INDIRECT_DESC));
        if (!t.setupQueue(q, num, vq.desc, vq.avail, vq.used)) return null;
        return vq;
    }

    /** viommu_fill_evtq: one 24-byte buffer per free descriptor; Linux does not kick here. */
    private int fillEvtq() {
        final int n = evtVq.numFree();
        step("viommu_fill_evtq: " + n + " event buffers");
        final long evts = alloc.alloc((long) EVT_SIZE * n, 8);
        for (int i = 0; i < n; i++) {
            final long b = evts + (long) EVT_SIZE * i;
            if (!evtVq.addSgs(new long[0][], new long[][] {{b, EVT_SIZE}}, b)) return -ENOSPC;
        }
        return 0;
    }

    // ------------------------------------------------------------------ requests

    /** viommu_get_write_desc_offset. */
    private int writeOffset(final byte[] buf, final int len) {
        return (buf[0] & 0xFF) == T_PROBE ? len - probeSize - 4 : len - 4;
    }

    /** __viommu_add_req: copy the request to a DMA-able buffer, add {readable, writable}; if full, sync and retry. */
    private int addReqInternal(final byte[] buf, final boolean writeback) {
        final int len = buf.length;
        final int wo = writeOffset(buf, len);
        if (wo <= 0 || len > SLOT) return -EINVAL;
        if (freeSlots.isEmpty() && syncReqInternal() != 0) return -ENOSPC;
        final int slot = freeSlots.poll();
        final long gpa = slotBase + (long) SLOT * slot;
        try {
            mem.write(gpa, buf, 0, wo);
            mem.fill(gpa + wo, len - wo, (byte) 0);
        } catch (GuestMemoryException e) {
            freeSlots.add(slot);
            return -EFAULT;
        }
        final Req r = new Req(gpa, len, wo, writeback ? buf : null, slot, null);
        final long[][] top = {{gpa, wo}}, bottom = {{gpa + wo, len - wo}};
        boolean ok = reqVq.addSgs(top, bottom, r);
        if (!ok && syncReqInternal() == 0) ok = reqVq.addSgs(top, bottom, r);   // the queue is full: sync and retry
        if (!ok) {
            freeSlots.add(slot);
            return -ENOSPC;
        }
        requests.add(r);
        return 0;
    }

    /** viommu_add_req: queue a request without waiting (MAP/UNMAP batching). */
    public int addReq(final byte[] buf) { return addReqInternal(buf, false); }

    /** viommu_sync_req / __viommu_sync_req: kick, then wait until every queued request completed. */
    public int syncReq() { return syncReqInternal(); }

    private int syncReqInternal() {
        kick(reqVq);
        final long deadline = System.nanoTime() + syncTimeoutMillis * 1_000_000L;
        while (!requests.isEmpty()) {
            final SplitVirtqueue.Used u = reqVq.getBuf();
            if (u == null) {
                if (System.nanoTime() > deadline) return -ETIMEDOUT;
                // Linux spins; here a remote device gets the chance to run, and interrupts are kept for the handler.
                pendingIrqs.addAll(m.takeInterrupts(1));
                continue;
            }
            final Req r = (Req) u.token();
            requests.remove(r);
            if (r.slot < 0) {                          // a hand-built chain from a script
                r.rawUsedLen[0] = u.len();
                continue;
            }
            try {
                if (u.len() == 0) mem.write8(r.gpa + r.len - 4, S_IOERR);   // viommu_set_req_status
                final int writeLen = r.len - r.writeOffset;
                if (r.writeback != null && u.len() == writeLen) {
                    mem.read(r.gpa + r.writeOffset, r.writeback, r.writeOffset, writeLen);
                } else if (r.writeback != null && u.len() == 0) {
                    r.writeback[r.len - 4] = S_IOERR;
                }
            } catch (GuestMemoryException e) {
                throw new IllegalStateException(e);
            }
            freeSlots.add(r.slot);
        }
        return 0;
    }

    private void kick(final SplitVirtqueue vq) {     // virtqueue_kick: kick_prepare, then notify
        if (!vq.kickPrepare()) return;
        if (kick == Kick.DOORBELL) m.doorbell(vq.index);
        else t.notify(vq.index);
    }

    /**
     * Not in Linux: a script sends a hand-built chain ({addr, len} readable then writable buffers) and gets the
     * used length back, to exercise the device's framing checks.
     */
    public int sendRaw(final long[][] outs, final long[][] ins) {
        final int[] used = {-1};
        final Req r = new Req(0, 0, 0, null, -1, used);
        if (!reqVq.addSgs(outs, ins, r)) return -ENOSPC;
        requests.add(r);
        syncReqInternal();
        return used[0];
    }

    /** viommu_send_req_sync: returns the request's status as an errno (viommu_get_req_errno). */
    public int sendReqSync(final byte[] buf) {
        final int ret = addReqInternal(buf, true);
        if (ret != 0) return ret;
        syncReqInternal();
        return reqErrno(status(buf));
    }

    public static String statusName(final int s) { return s >= 0 && s < STATUS_NAMES.length ? STATUS_NAMES[s] : "S_" + s; }

    public byte[] probeReq(final int endpoint) { return ViommuRequests.probeReq(endpoint, probeSize); }

    public static final int ATTACH_F_BYPASS = 1;

    // ------------------------------------------------------------------ endpoints and domains

    /** viommu_probe_device: with PROBE negotiated, viommu_probe_endpoint. */
    public int probeDevice(final Endpoint ep) {
        step("viommu_probe_device: endpoint 0x" + Integer.toHexString(ep.ids[0]));
        return hasFeature(F_PROBE) ? probeEndpoint(ep) : 0;
    }

    /** viommu_probe_endpoint: PROBE the first ID, walk the properties until T_NONE or probe_size. */
    public int probeEndpoint(final Endpoint ep) {
        if (ep.ids.length == 0) return -EINVAL;
        final byte[] probe = probeReq(ep.ids[0]);
        final int ret = sendReqSync(probe);
        if (ret != 0) return ret;
        final ByteBuffer p = ByteBuffer.wrap(probe, PROBE_HEAD, probeSize).slice().order(ByteOrder.LITTLE_ENDIAN);
        int cur = 0;
        int type = p.getShort(0) & 0xFFF;                      // VIRTIO_IOMMU_PROBE_T_MASK
        while (type != 0 && cur < probeSize) {
            final int len = (p.getShort(cur + 2) & 0xFFFF) + 4;
            if (type == 1 && len >= 24 && cur + 24 <= probeSize) {
                addResvMem(ep, p, cur);
            }
            cur += len;
            if (cur >= probeSize || cur + 4 > probeSize) break;
            type = p.getShort(cur) & 0xFFF;
        }
        step("viommu_probe_endpoint: " + ep.resvRegions.size() + " RESV_MEM region(s) " + describe(ep.resvRegions));
        return 0;
    }

    /** viommu_add_resv_mem: unknown subtypes count as RESERVED; the list stays sorted. */
    private static void addResvMem(final Endpoint ep, final ByteBuffer p, final int cur) {
        final int subtype = p.get(cur + 4) & 0xFF;
        final long start = p.getLong(cur + 8), end = p.getLong(cur + 16);
        if (Long.compareUnsigned(end, start) < 0) return;         // -EOVERFLOW
        ep.resvRegions.add(new ResvMem(subtype == RESV_MEM_T_MSI ? RESV_MEM_T_MSI : RESV_MEM_T_RESERVED, start, end));
        ep.resvRegions.sort((a, b) -> Long.compareUnsigned(a.start(), b.start()));
    }

    private static String describe(final List<ResvMem> l) {
        final StringBuilder b = new StringBuilder("[");
        for (ResvMem r : l) {
            if (b.length() > 1) b.append(", ");
            b.append("0x").append(Long.toHexString(r.start())).append("-0x").append(Long.toHexString(r.end()))
                    .append(r.subtype() == RESV_MEM_T_MSI ? " msi" : " reserved");
        }
        return b.append(']').toString();
    }

    /** viommu_domain_alloc_paging: the granule must not exceed PAGE_SIZE; an ID from [first_domain, last_domain]. */
    public Domain domainAllocPaging() {
        if (Long.lowestOneBit(pgsizeBitmap) > PAGE_SIZE) return null;       // -ENODEV
        final long last = Integer.toUnsignedLong(lastDomain);
        final int id = domainIds.nextClearBit(firstDomain);
        if (id < 0 || Integer.toUnsignedLong(id) > last) return null;       // ida_alloc_range: -ENOSPC
        domainIds.set(id);
        step("viommu_domain_alloc_paging: domain " + id);
        return new Domain(id, false);
    }

    /** viommu_domain_free. */
    public void domainFree(final Domain d) {
        d.mappings.clear();
        domainIds.clear(d.id);
    }

    /** viommu_attach_dev: ATTACH per fwspec ID (viommu_send_attach_req), then replay the mappings if first. */
    public int attachDev(final Domain d, final Endpoint ep) {
        step("viommu_attach_dev: ATTACH endpoint 0x" + Integer.toHexString(ep.ids[0]) + " to domain " + d.id);
        if (ep.vdomain != null) ep.vdomain.nrEndpoints--;
        for (int id : ep.ids) {
            final int ret = sendReqSync(attachReq(d.id, id, 0));
            if (ret != 0) return ret;
        }
        if (d.nrEndpoints == 0) {
            final int ret = replayMappings(d);
            if (ret != 0) return ret;
        }
        d.nrEndpoints++;
        ep.vdomain = d;
        return 0;
    }

    /** viommu_replay_mappings: MAP every mapping the driver kept, synchronously. */
    private int replayMappings(final Domain d) {
        for (Map.Entry<Long, long[]> e : d.mappings.entrySet()) {
            final int ret = sendReqSync(mapReq(d.id, e.getKey(), e.getValue()[0], e.getValue()[1], (int) e.getValue()[2]));
            if (ret != 0) return ret;
        }
        return 0;
    }

    /** viommu_attach_identity_domain: ATTACH with VIRTIO_IOMMU_ATTACH_F_BYPASS to the reserved identity ID. */
    public int attachIdentity(final Endpoint ep) {
        if (!hasFeature(F_BYPASS_CONFIG)) return -EOPNOTSUPP;   // Linux then identity-maps a paging domain instead
        step("viommu_attach_identity_domain: ATTACH endpoint 0x" + Integer.toHexString(ep.ids[0])
                + " to domain " + identityDomainId + " with ATTACH_F_BYPASS");
        for (int id : ep.ids) {
            final int ret = sendReqSync(attachReq(identityDomainId, id, ATTACH_F_BYPASS));
            if (ret != 0) return ret;
        }
        if (ep.vdomain != null) ep.vdomain.nrEndpoints--;
        identityDomain.nrEndpoints++;
        ep.vdomain = identityDomain;
        return 0;
    }

    /** viommu_detach_dev: DETACH per fwspec ID (Linux WARNs on a failure and carries on). */
    public int detachDev(final Endpoint ep) {
        final Domain d = ep.vdomain;
        if (d == null) return 0;
        final int id = d.identity ? identityDomainId : d.id;
        step("viommu_detach_dev: DETACH endpoint 0x" + Integer.toHexString(ep.ids[0]) + " from domain " + id);
        int ret = 0;
        for (int e : ep.ids) {
            final int r = sendReqSync(detachReq(id, e));
            if (r != 0) ret = r;
        }
        d.nrEndpoints--;
        ep.vdomain = null;
        return ret;
    }

    /** viommu_map_pages: record the mapping (viommu_add_mapping), queue a MAP without waiting if the domain is attached. */
    public int mapPages(final Domain d, final long iova, final long paddr, final long pgsize, final long pgcount, final int prot) {
        final long size = pgsize * pgcount;
        final long end = iova + size - 1;
        final int flags = ((prot & IOMMU_READ) != 0 ? MAP_F_READ : 0) | ((prot & IOMMU_WRITE) != 0 ? MAP_F_WRITE : 0)
                | ((prot & IOMMU_MMIO) != 0 ? MAP_F_MMIO : 0);
        if ((flags & ~mapFlags) != 0) return -EINVAL;
        step("viommu_map_pages: domain " + d.id + " [0x" + Long.toHexString(iova) + ", 0x" + Long.toHexString(end)
                + "] -> 0x" + Long.toHexString(paddr) + " flags " + flags + (d.nrEndpoints > 0 ? " (MAP queued)" : " (recorded)"));
        d.mappings.put(iova, new long[] {end, paddr, flags});
        if (d.nrEndpoints > 0) {
            final int ret = addReq(mapReq(d.id, iova, end, paddr, flags));
            if (ret != 0) {
                d.mappings.remove(iova);        // viommu_del_mappings
                return ret;
            }
        }
        return 0;
    }

    /**
     * viommu_unmap_pages: drop the mappings inside the range (viommu_del_mappings stops at one that would be
     * split), queue one UNMAP for what was removed. Returns the bytes unmapped.
     */
    public long unmapPages(final Domain d, final long iova, final long pgsize, final long pgcount) {
        final long size = pgsize * pgcount;
        final long end = iova + size - 1;
        long unmapped = 0;
        for (var it = d.mappings.subMap(iova, true, end, true).entrySet().iterator(); it.hasNext(); ) {
            final var e = it.next();
            if (Long.compareUnsigned(e.getValue()[0], end) > 0) break;
            unmapped += e.getValue()[0] - e.getKey() + 1;
            it.remove();
        }
        step("viommu_unmap_pages: domain " + d.id + " [0x" + Long.toHexString(iova) + ", 0x" + Long.toHexString(end)
                + "]: " + unmapped + " bytes" + (d.nrEndpoints > 0 && unmapped >= size ? " (UNMAP queued)" : ""));
        if (unmapped < size) return 0;
        if (d.nrEndpoints == 0) return unmapped;   // the device already dropped them at detach
        return addReq(unmapReq(d.id, iova, iova + unmapped - 1)) == 0 ? unmapped : 0;
    }

    /** viommu_iotlb_sync: flush the queued requests. */
    public void iotlbSync(final Domain d) {
        step("viommu_iotlb_sync: kick and wait for " + requests.size() + " queued request(s)");
        syncReq();
    }

    /** viommu_iotlb_sync_map: as iotlb_sync, but only for an attached domain. */
    public int iotlbSyncMap(final Domain d) {
        if (d.nrEndpoints == 0) return 0;
        step("viommu_iotlb_sync_map: kick and wait for " + requests.size() + " queued request(s)");
        return syncReq();
    }

    /** Requests added but not yet completed. */
    public int inFlight() { return requests.size(); }

    // ------------------------------------------------------------------ interrupts and events

    /**
     * The interrupt path: takes the machine's interrupts (waiting up to {@code timeoutMillis} for one), then per
     * interrupt the transport handler (vm_interrupt / vp_interrupt / vp_vring_interrupt) and the virtqueue
     * callbacks (vring_interrupt → viommu_event_handler for the event queue; the request queue has none).
     * Returns how many interrupts were this device's.
     */
    public int handleInterrupts(final long timeoutMillis) {
        final List<GuestMachine.Interrupt> irqs = new ArrayList<>(pendingIrqs);
        pendingIrqs.clear();
        if (irqs.isEmpty()) irqs.addAll(m.takeInterrupts(timeoutMillis));
        int n = 0;
        for (GuestMachine.Interrupt irq : irqs) {
            final int data;
            switch (irq) {
                case GuestMachine.Interrupt.Line l -> {
                    if (!l.level()) continue;        // deassertion
                    data = -1;
                }
                case GuestMachine.Interrupt.Msi msi -> data = msi.data();
            }
            final int causes = t.interruptCauses(data);
            if (causes <= 0) continue;
            n++;
            if ((causes & 2) != 0) {
                configChanges++;
                step("viommu_config_changed (status 0x" + Integer.toHexString(t.getStatus()) + ")");
            }
            if ((causes & 1) != 0 && t.interruptForQueue(data, EVENT_VQ)) eventHandler();
        }
        return n;
    }

    /** viommu_event_handler: drain the event queue, report faults, re-add each buffer, kick. */
    public void eventHandler() {
        SplitVirtqueue.Used u;
        int seen = 0;
        while ((u = evtVq.getBuf()) != null) {
            final long b = (Long) u.token();
            try {
                if (u.len() > EVT_SIZE) {
                    step("viommu_event_handler: invalid event buffer (len " + u.len() + ")");
                } else if (u.len() == EVT_SIZE && (mem.read32(b) & VIOMMU_FAULT_RESV_MASK) == 0) {
                    faultHandler(b);
                }
                mem.fill(b, EVT_SIZE, (byte) 0);
            } catch (GuestMemoryException e) {
                throw new IllegalStateException(e);
            }
            evtVq.addSgs(new long[0][], new long[][] {{b, EVT_SIZE}}, b);   // virtqueue_add_inbuf
            seen++;
        }
        if (seen > 0) step("viommu_event_handler: " + seen + " event(s), buffers re-added, kick");
        kick(evtVq);
    }

    /** viommu_fault_handler: Linux logs "… fault from EP …"; the driver keeps the record for the scripts. */
    private void faultHandler(final long b) throws GuestMemoryException {
        final Fault f = new Fault(mem.read8(b), mem.read32(b + 4), mem.read32(b + 8), mem.read64(b + 16));
        faults.add(f);
        step("viommu_fault_handler: " + (f.reason() == FAULT_R_DOMAIN ? "domain" : f.reason() == FAULT_R_MAPPING ? "page" : "unknown")
                + " fault from EP " + f.endpoint() + " at 0x" + Long.toHexString(f.address()) + " flags 0x"
                + Integer.toHexString(f.flags()));
    }

    /** Writes the {@code bypass} config byte (BYPASS_CONFIG; Linux sets it through iommu.passthrough at boot). */
    public void setBypass(final boolean on) {
        step("virtio_cwrite8(bypass, " + (on ? 1 : 0) + ")");
        t.writeConfig(CFG_BYPASS, 1, on ? 1 : 0);
    }

    public int bypass() { return (int) t.readConfig(CFG_BYPASS, 1); }
}
