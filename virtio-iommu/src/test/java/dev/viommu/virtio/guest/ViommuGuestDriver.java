package dev.viommu.virtio.guest;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A guest virtio-iommu driver that does what Linux's drivers/iommu/virtio-iommu.c does, step by step; every
 * method names the Linux function it mirrors. Written against {@link GuestMachine} and a {@link GuestTransport}
 * only, so the same code runs in process and against the real sidecar.
 */
public final class ViommuGuestDriver {
    // errnos as the kernel returns them
    public static final int ENOENT = 2, EIO = 5, ENOMEM = 12, EFAULT = 14, ENODEV = 19, EINVAL = 22, ENOSPC = 28,
            ERANGE = 34, ENOSYS = 38, EOPNOTSUPP = 95, ETIMEDOUT = 110;
    // features
    public static final int F_INPUT_RANGE = 0, F_DOMAIN_RANGE = 1, F_MAP_UNMAP = 2, F_PROBE = 4, F_MMIO = 5,
            F_BYPASS_CONFIG = 6, F_INDIRECT_DESC = 28, F_EVENT_IDX = 29, F_VERSION_1 = 32, F_ACCESS_PLATFORM = 33;
    /** Linux's features[] table plus what the virtio core accepts (VERSION_1, ring features, ACCESS_PLATFORM). */
    public static final long LINUX_FEATURES = 1L << F_MAP_UNMAP | 1L << F_INPUT_RANGE | 1L << F_DOMAIN_RANGE
            | 1L << F_PROBE | 1L << F_MMIO | 1L << F_BYPASS_CONFIG | 1L << F_INDIRECT_DESC | 1L << F_EVENT_IDX
            | 1L << F_VERSION_1 | 1L << F_ACCESS_PLATFORM;
    // request types and status codes
    public static final int T_ATTACH = 1, T_DETACH = 2, T_MAP = 3, T_UNMAP = 4, T_PROBE = 5;
    public static final int S_OK = 0, S_IOERR = 1, S_UNSUPP = 2, S_DEVERR = 3, S_INVAL = 4, S_RANGE = 5, S_NOENT = 6,
            S_FAULT = 7, S_NOMEM = 8;
    public static final int MAP_F_READ = 1, MAP_F_WRITE = 2, MAP_F_MMIO = 4;
    public static final int IOMMU_READ = 1, IOMMU_WRITE = 2, IOMMU_MMIO = 4;
    private static final int REQUEST_VQ = 0, EVENT_VQ = 1, EVT_SIZE = 24;
    private static final long PAGE_SIZE = 4096;
    private static final int SLOT = 1024;

    public record Fault(int reason, int flags, int endpoint, long address) {}

    public record ResvMem(int subtype, long start, long end) {}

    /** struct viommu_domain. */
    public static final class Domain {
        public final int id;
        final TreeMap<Long, long[]> mappings = new TreeMap<>(Long::compareUnsigned);   // iova -> {end, paddr, flags}
        int nrEndpoints;
        final boolean identity;

        Domain(final int id, final boolean identity) { this.id = id; this.identity = identity; }
    }

    /** struct viommu_endpoint: a device with its fwspec IDs. */
    public static final class Endpoint {
        public final int[] ids;
        public final List<ResvMem> resvRegions = new ArrayList<>();
        Domain vdomain;

        public Endpoint(final int... ids) { this.ids = ids; }

        public Domain domain() { return vdomain; }
    }

    private record Req(long gpa, int len, int writeOffset, byte[] writeback, int slot, int[] usedLen) {}

    private final GuestMachine m;
    private final GuestMemory mem;
    private final GuestTransport t;
    private final GuestAllocator alloc;
    private GuestVirtqueue reqVq, evtVq;
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
    private long slotBase;
    private long evts;
    public final List<Fault> faults = new ArrayList<>();
    public final Domain identityDomain = new Domain(-1, true);
    private long syncTimeoutMillis = 5000;

    public ViommuGuestDriver(final GuestMachine m, final GuestTransport t, final GuestAllocator alloc) {
        this.m = m;
        this.mem = m.memory();
        this.t = t;
        this.alloc = alloc;
    }

    public long features() { return features; }

    public boolean hasFeature(final int f) { return (features & (1L << f)) != 0; }

    public GuestVirtqueue requestQueue() { return reqVq; }

    public GuestVirtqueue eventQueue() { return evtVq; }

    // ------------------------------------------------------------------ probe

    /** virtio_dev_probe + viommu_probe with Linux's feature table. */
    public int probe() { return probe(LINUX_FEATURES, true); }

    /**
     * virtio_dev_probe (reset, ACKNOWLEDGE, DRIVER, feature negotiation, virtio_features_ok) then viommu_probe.
     * {@code strict}: viommu_probe's requirement of VERSION_1 and MAP_UNMAP (scripts may relax it).
     */
    public int probe(final long driverFeatures, final boolean strict) {
        t.reset();
        t.setStatus(1);                        // ACKNOWLEDGE
        t.setStatus(1 | 2);                    // DRIVER
        features = t.getFeatures() & driverFeatures;
        t.finalizeFeatures(features);
        t.setStatus(1 | 2 | 8);                // virtio_features_ok: FEATURES_OK, then read back
        if ((t.getStatus() & 8) == 0) {
            t.setStatus(t.getStatus() | 0x80);
            return -ENODEV;
        }
        // viommu_probe
        if (strict && (!hasFeature(F_VERSION_1) || !hasFeature(F_MAP_UNMAP))) return -ENODEV;
        // viommu_init_vqs
        if (t instanceof GuestPciTransport p) p.setupMsix();
        reqVq = initVq(REQUEST_VQ);
        evtVq = initVq(EVENT_VQ);
        if (reqVq == null || evtVq == null) return -ENOMEM;
        slotBase = alloc.alloc((long) SLOT * reqVq.size, 4096);
        for (int i = 0; i < reqVq.size; i++) freeSlots.add(i);
        // virtio_cread_le(page_size_mask)
        pgsizeBitmap = cread64(0);
        if (pgsizeBitmap == 0) return -EINVAL;
        mapFlags = MAP_F_READ | MAP_F_WRITE;
        lastDomain = -1;
        if (hasFeature(F_INPUT_RANGE)) { inputStart = cread64(8); inputEnd = cread64(16); }
        if (hasFeature(F_DOMAIN_RANGE)) { firstDomain = (int) t.readConfig(24, 4); lastDomain = (int) t.readConfig(28, 4); }
        if (hasFeature(F_PROBE)) probeSize = (int) t.readConfig(32, 4);
        if (hasFeature(F_MMIO)) mapFlags |= MAP_F_MMIO;
        if (hasFeature(F_BYPASS_CONFIG)) {      // reserve an ID for the bypass domain
            identityDomainId = firstDomain;
            firstDomain++;
        }
        t.setStatus(t.getStatus() | 4);        // virtio_device_ready: DRIVER_OK
        return fillEvtq();
    }

    /** virtio_cread_le of a 64-bit field: two 32-bit reads, as virtio_mmio's vm_get and vp_get do. */
    private long cread64(final int off) {
        return (t.readConfig(off, 4) & 0xFFFF_FFFFL) | (t.readConfig(off + 4, 4) << 32);
    }

    private GuestVirtqueue initVq(final int q) {      // vm_setup_vq / setup_vq via virtio_find_vqs
        final int num = t.queueMax(q);
        if (num == 0) return null;
        final GuestVirtqueue vq = new GuestVirtqueue(m, alloc, q, num, hasFeature(F_EVENT_IDX), hasFeature(F_INDIRECT_DESC));
        if (!t.setupQueue(q, num, vq.desc, vq.avail, vq.used)) return null;
        return vq;
    }

    /** viommu_fill_evtq: one 24-byte buffer per free descriptor (no kick, as Linux). */
    private int fillEvtq() {
        final int n = evtVq.numFree();
        evts = alloc.alloc((long) EVT_SIZE * n, 8);
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

    /** __viommu_add_req: copy the request to a DMA-able buffer, add {readable, writable}, sync if full. */
    private int addReqInternal(final byte[] buf, final int len, final boolean writeback) {
        final int wo = writeOffset(buf, len);
        if (wo <= 0 || len > SLOT) return -EINVAL;
        if (freeSlots.isEmpty() && syncReqInternal() != 0) return -ENOSPC;
        final int slot = freeSlots.poll();
        final long gpa = slotBase + (long) SLOT * slot;
        try {
            mem.write(gpa, buf, 0, wo);
            mem.fill(gpa + wo, len - wo, (byte) 0);
        } catch (GuestMemoryException e) {
            return -EFAULT;
        }
        final Req r = new Req(gpa, len, wo, writeback ? buf : null, slot, null);
        boolean ok = reqVq.addSgs(new long[][] {{gpa, wo}}, new long[][] {{gpa + wo, len - wo}}, r);
        if (!ok) {                               // queue full: sync and retry
            if (syncReqInternal() == 0) ok = reqVq.addSgs(new long[][] {{gpa, wo}}, new long[][] {{gpa + wo, len - wo}}, r);
        }
        if (!ok) { freeSlots.add(slot); return -ENOSPC; }
        requests.add(r);
        return 0;
    }

    /** viommu_add_req: queue a request without waiting (MAP/UNMAP batching). */
    public int addReq(final byte[] buf) { return addReqInternal(buf, buf.length, false); }

    /** viommu_sync_req / __viommu_sync_req: kick, then wait until every queued request completed. */
    public int syncReq() { return syncReqInternal(); }

    private int syncReqInternal() {
        kick(reqVq);
        final long deadline = System.nanoTime() + syncTimeoutMillis * 1_000_000L;
        while (!requests.isEmpty()) {
            final GuestVirtqueue.Used u = reqVq.getBuf();
            if (u == null) {
                if (System.nanoTime() > deadline) return -ETIMEDOUT;
                m.takeInterrupts(1);        // let a remote device make progress
                continue;
            }
            final Req r = (Req) u.token();
            if (r.slot < 0) {               // a raw request from a script
                r.usedLen[0] = u.len();
                requests.remove(r);
                continue;
            }
            try {
                if (u.len() == 0) mem.write8(r.gpa + r.len - 4, S_IOERR);   // viommu_set_req_status
                final int writeLen = r.len - r.writeOffset;
                if (r.writeback != null) {
                    if (u.len() == writeLen) mem.read(r.gpa + r.writeOffset, r.writeback, r.writeOffset, writeLen);
                    else if (u.len() == 0) r.writeback[r.len - 4] = S_IOERR;
                }
            } catch (GuestMemoryException e) {
                throw new IllegalStateException(e);
            }
            requests.remove(r);
            freeSlots.add(r.slot);
        }
        return 0;
    }

    private void kick(final GuestVirtqueue vq) {     // virtqueue_kick
        if (vq.kickPrepare()) t.notify(vq.index);
    }

    /**
     * Not in Linux: a script sends a hand-built descriptor chain ({addr, len} readable then writable buffers)
     * and gets the used length back, to exercise the device's framing checks.
     */
    public int sendRaw(final long[][] outs, final long[][] ins) {
        final int[] used = {-1};
        final Req r = new Req(0, 0, 0, null, -1, used);
        if (!reqVq.addSgs(outs, ins, r)) return -ENOSPC;
        requests.add(r);
        syncReqInternal();
        return used[0];
    }

    /** viommu_send_req_sync: returns the request status as an errno (viommu_get_req_errno). */
    public int sendReqSync(final byte[] buf) {
        final int ret = addReqInternal(buf, buf.length, true);
        if (ret != 0) return ret;
        syncReqInternal();
        return reqErrno(buf[buf.length - 4] & 0xFF);
    }

    /** The raw status byte of a request sent with {@link #sendReqSync}. */
    public static int status(final byte[] req) { return req[req.length - 4] & 0xFF; }

    /** viommu_get_req_errno. */
    public static int reqErrno(final int status) {
        return switch (status) {
            case S_OK -> 0;
            case S_UNSUPP -> -ENOSYS;
            case S_INVAL -> -EINVAL;
            case S_RANGE -> -ERANGE;
            case S_NOENT -> -ENOENT;
            case S_FAULT -> -EFAULT;
            case S_NOMEM -> -ENOMEM;
            default -> -EIO;
        };
    }

    // request builders (struct virtio_iommu_req_*)
    private static ByteBuffer le(final int n) { return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN); }

    public static byte[] attachReq(final int domain, final int endpoint, final int flags) {
        return le(24).put(0, (byte) T_ATTACH).putInt(4, domain).putInt(8, endpoint).putInt(12, flags).array();
    }

    public static byte[] detachReq(final int domain, final int endpoint) {
        return le(24).put(0, (byte) T_DETACH).putInt(4, domain).putInt(8, endpoint).array();
    }

    public static byte[] mapReq(final int domain, final long start, final long end, final long phys, final int flags) {
        return le(40).put(0, (byte) T_MAP).putInt(4, domain).putLong(8, start).putLong(16, end).putLong(24, phys)
                .putInt(32, flags).array();
    }

    public static byte[] unmapReq(final int domain, final long start, final long end) {
        return le(32).put(0, (byte) T_UNMAP).putInt(4, domain).putLong(8, start).putLong(16, end).array();
    }

    public byte[] probeReq(final int endpoint) {
        return le(72 + probeSize + 4).put(0, (byte) T_PROBE).putInt(4, endpoint).array();
    }

    // ------------------------------------------------------------------ endpoints and domains

    /** viommu_probe_device: with PROBE, viommu_probe_endpoint. */
    public int probeDevice(final Endpoint ep) {
        return hasFeature(F_PROBE) ? probeEndpoint(ep) : 0;
    }

    /** viommu_probe_endpoint: PROBE the first ID and parse the properties (viommu_add_resv_mem). */
    public int probeEndpoint(final Endpoint ep) {
        if (ep.ids.length == 0) return -EINVAL;
        final byte[] probe = probeReq(ep.ids[0]);
        final int ret = sendReqSync(probe);
        if (ret != 0) return ret;
        final ByteBuffer p = ByteBuffer.wrap(probe, 72, probeSize).slice().order(ByteOrder.LITTLE_ENDIAN);
        int cur = 0;
        int type = p.getShort(0) & 0xFFF;
        while (type != 0 && cur < probeSize) {
            final int len = (p.getShort(cur + 2) & 0xFFFF) + 4;
            if (type == 1 && len >= 24 && cur + 24 <= probeSize) {          // viommu_add_resv_mem
                final int subtype = p.get(cur + 4) & 0xFF;
                final long start = p.getLong(cur + 8), end = p.getLong(cur + 16);
                ep.resvRegions.add(new ResvMem(subtype == 1 ? 1 : 0, start, end));   // unknown subtypes: RESERVED
                ep.resvRegions.sort((a, b) -> Long.compareUnsigned(a.start(), b.start()));
            }
            cur += len;
            if (cur >= probeSize || cur + 4 > probeSize) break;
            type = p.getShort(cur) & 0xFFF;
        }
        return 0;
    }

    /** viommu_domain_alloc_paging: checks the granule against PAGE_SIZE, allocates an ID in the domain range. */
    public Domain domainAllocPaging() {
        if (Long.lowestOneBit(pgsizeBitmap) > PAGE_SIZE) return null;   // granule larger than system page size
        final long last = Integer.toUnsignedLong(lastDomain);
        int id = domainIds.nextClearBit(firstDomain);
        if (Integer.toUnsignedLong(id) > last || id < 0) return null;   // ida_alloc_range: -ENOSPC
        domainIds.set(id);
        return new Domain(id, false);
    }

    /** viommu_domain_free. */
    public void domainFree(final Domain d) {
        d.mappings.clear();
        domainIds.clear(d.id);
    }

    /** viommu_attach_dev: ATTACH per fwspec ID (viommu_send_attach_req), then replay mappings if first. */
    public int attachDev(final Domain d, final Endpoint ep) {
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

    /** viommu_replay_mappings. */
    private int replayMappings(final Domain d) {
        for (Map.Entry<Long, long[]> e : d.mappings.entrySet()) {
            final int ret = sendReqSync(mapReq(d.id, e.getKey(), e.getValue()[0], e.getValue()[1], (int) e.getValue()[2]));
            if (ret != 0) return ret;
        }
        return 0;
    }

    /** viommu_attach_identity_domain (needs BYPASS_CONFIG; without it Linux identity-maps, not mirrored here). */
    public int attachIdentity(final Endpoint ep) {
        if (!hasFeature(F_BYPASS_CONFIG)) return -EOPNOTSUPP;
        for (int id : ep.ids) {
            final int ret = sendReqSync(attachReq(identityDomainId, id, 1));
            if (ret != 0) return ret;
        }
        if (ep.vdomain != null) ep.vdomain.nrEndpoints--;
        identityDomain.nrEndpoints++;
        ep.vdomain = identityDomain;
        return 0;
    }

    /** viommu_detach_dev. */
    public int detachDev(final Endpoint ep) {
        final Domain d = ep.vdomain;
        if (d == null) return 0;
        final int id = d.identity ? identityDomainId : d.id;
        int ret = 0;
        for (int e : ep.ids) {
            final int r = sendReqSync(detachReq(id, e));
            if (r != 0) ret = r;       // WARN_ON in Linux
        }
        d.nrEndpoints--;
        ep.vdomain = null;
        return ret;
    }

    /** viommu_map_pages: record the mapping, queue a MAP (not waited for) if the domain has endpoints. */
    public int mapPages(final Domain d, final long iova, final long paddr, final long pgsize, final long pgcount, final int prot) {
        final long size = pgsize * pgcount;
        final long end = iova + size - 1;
        final int flags = ((prot & IOMMU_READ) != 0 ? MAP_F_READ : 0) | ((prot & IOMMU_WRITE) != 0 ? MAP_F_WRITE : 0)
                | ((prot & IOMMU_MMIO) != 0 ? MAP_F_MMIO : 0);
        if ((flags & ~mapFlags) != 0) return -EINVAL;
        d.mappings.put(iova, new long[] {end, paddr, flags});       // viommu_add_mapping
        if (d.nrEndpoints > 0) {
            final int ret = addReq(mapReq(d.id, iova, end, paddr, flags));
            if (ret != 0) {
                d.mappings.remove(iova);
                return ret;
            }
        }
        return 0;
    }

    /** viommu_unmap_pages: drop the mappings in range (viommu_del_mappings), queue one UNMAP. Returns bytes unmapped. */
    public long unmapPages(final Domain d, final long iova, final long pgsize, final long pgcount) {
        final long size = pgsize * pgcount;
        final long end = iova + size - 1;
        long unmapped = 0;
        for (var it = d.mappings.subMap(iova, true, end, true).entrySet().iterator(); it.hasNext(); ) {
            final var e = it.next();
            if (Long.compareUnsigned(e.getValue()[0], end) > 0) break;   // would split: Linux stops here
            unmapped += e.getValue()[0] - e.getKey() + 1;
            it.remove();
        }
        if (unmapped < size) return 0;
        if (d.nrEndpoints == 0) return unmapped;
        return addReq(unmapReq(d.id, iova, iova + unmapped - 1)) == 0 ? unmapped : 0;
    }

    /** viommu_iotlb_sync. */
    public void iotlbSync(final Domain d) { syncReq(); }

    /** viommu_iotlb_sync_map. */
    public int iotlbSyncMap(final Domain d) { return d.nrEndpoints == 0 ? 0 : syncReq(); }

    // ------------------------------------------------------------------ interrupts and events

    /**
     * vm_interrupt / vp_interrupt / vp_vring_interrupt: takes the machine's interrupts (waiting up to
     * {@code timeoutMillis} for one), acknowledges them and runs the vring callbacks. Returns how many it handled.
     */
    public int handleInterrupts(final long timeoutMillis) {
        int n = 0;
        for (GuestMachine.Interrupt irq : m.takeInterrupts(timeoutMillis)) {
            final int cause;
            final int vector;
            switch (irq) {
                case GuestMachine.Interrupt.Line l -> {
                    if (!l.level()) continue;
                    vector = -1;
                    cause = t.ackInterrupt(-1);
                }
                case GuestMachine.Interrupt.Msi msi -> {
                    vector = msi.data();
                    cause = t.ackInterrupt(vector);
                }
            }
            n++;
            if ((cause & 1) != 0 && (vector < 0 || vector == t.queueVector(EVENT_VQ))) eventHandler();
        }
        return n;
    }

    /** viommu_event_handler: drain the event queue, report faults, re-add each buffer, kick. */
    public void eventHandler() {
        GuestVirtqueue.Used u;
        while ((u = evtVq.getBuf()) != null) {
            final long b = (Long) u.token();
            try {
                if (u.len() > EVT_SIZE) {
                    throw new IllegalStateException("invalid event buffer (len " + u.len() + ")");
                } else if (u.len() == EVT_SIZE && (mem.read32(b) & 0xFFFF_FF00) == 0) {   // VIOMMU_FAULT_RESV_MASK
                    faultHandler(b);
                }
                mem.fill(b, EVT_SIZE, (byte) 0);
            } catch (GuestMemoryException e) {
                throw new IllegalStateException(e);
            }
            evtVq.addSgs(new long[0][], new long[][] {{b, EVT_SIZE}}, b);
        }
        kick(evtVq);
    }

    /** viommu_fault_handler: Linux only logs; the driver keeps the record for the scripts. */
    private void faultHandler(final long b) throws GuestMemoryException {
        faults.add(new Fault(mem.read8(b), mem.read32(b + 4), mem.read32(b + 8), mem.read64(b + 16)));
    }
}
