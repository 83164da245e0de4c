package dev.viommu.backend.sim;

import dev.viommu.backend.iommufd.uapi.FdIo;
import dev.viommu.core.host.HostBackend;
import dev.viommu.core.host.HostCapabilities;
import dev.viommu.core.host.HostDeviceRef;
import dev.viommu.core.host.HostException;
import dev.viommu.core.host.HwInfo;
import dev.viommu.core.host.HwInfoDecoder;
import dev.viommu.core.host.HwptAlloc;
import dev.viommu.core.host.InvalidationEntry;
import dev.viommu.core.host.InvalidationResult;
import dev.viommu.core.host.IovaRange;
import dev.viommu.core.host.ObjectId;
import dev.viommu.core.host.PageRequest;
import dev.viommu.core.host.PageResponse;
import dev.viommu.core.host.VEvent;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.core.posix.Errno;
import dev.viommu.core.regs.BitField;
import dev.viommu.core.translate.AccessType;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.function.Supplier;

import static dev.viommu.core.regs.BitField.bit;
import static dev.viommu.core.regs.BitField.bits;

/**
 * The simulated host: an in-process iommufd with N physical IOMMUs (VT-d- or SMMUv3-like), devices placed behind
 * them and reserved IOVA ranges ({@link SimConfig}). It models IOAS, HWPT (paging, nest parent, nested), vIOMMU,
 * vDEVICE, fault queue and vEVENTQ objects in one ID namespace and validates like Linux 7.3's iommufd and its
 * drivers, with the same errnos (the sources are named at each check). Every call is recorded ({@link #calls()});
 * any call can be made to fail with a chosen errno ({@link #failNext}); page faults and vEVENTs can be injected,
 * and a device can "DMA" through its attachment ({@link #dma}). Thread-safe (one lock). The embedded default
 * backend on machines without {@code /dev/iommu}.
 */
public final class SimHostBackend implements HostBackend {
    /** Result of a simulated device DMA. */
    public enum DmaStatus {
        /** Translated and copied. */
        OK,
        /** Translation or permission fault (reported to the HWPT's fault queue when it has one). */
        FAULT,
        /** The device (or PASID) is not attached, or attached to an abort domain: DMA blocked. */
        BLOCKED,
        /** A nested domain whose stage 1 lives in guest tables: the sim does not walk them. */
        UNSUPPORTED
    }

    // uAPI values the sim checks (iommufd.h)
    static final int VIOMMU_TYPE_ARM_SMMUV3 = 1, VEVENTQ_TYPE_ARM_SMMUV3 = 1;
    static final long PAGE = 4096;

    // Allowed vSTE bits: STRTAB_STE_0/1_NESTING_ALLOWED (arm-smmu-v3.h) - V, Config, S1Fmt, S1ContextPtr, S1CDMax;
    // S1DSS, S1CIR, S1COR, S1CSH, S1STALLD, EATS
    static final BitField STE_V = bit("STE.V", 0);
    static final BitField STE_CFG = bits("STE.Config", 3, 1);
    static final long STE0_ALLOWED = STE_V.mask() | STE_CFG.mask() | bits("S1Fmt", 5, 4).mask()
            | bits("S1ContextPtr", 51, 6).mask() | bits("S1CDMax", 63, 59).mask();
    static final BitField STE_EATS = bits("STE.EATS", 29, 28);
    static final long STE1_ALLOWED = bits("S1DSS", 1, 0).mask() | bits("S1CIR", 3, 2).mask()
            | bits("S1COR", 5, 4).mask() | bits("S1CSH", 7, 6).mask() | bit("S1STALLD", 27).mask() | STE_EATS.mask();
    static final int STE_CFG_ABORT = 0, STE_CFG_BYPASS = 4, STE_CFG_S1_TRANS = 5;
    static final BitField CMD_OP = bits("CMD.opcode", 7, 0);
    static final BitField CMD_SID = bits("CMD.SID", 63, 32);
    static final BitField EVT_SID = bits("EVT.StreamID", 63, 32);

    private final SimConfig config;
    private final Supplier<GuestMemory> memory;
    private final Map<String, PIommu> iommus = new LinkedHashMap<>();
    private final Map<Integer, Object> objects = new TreeMap<>();
    private final Map<String, Dev> bound = new HashMap<>();
    private int nextId = 1;
    private long seq;
    private final List<SimCall> calls = new ArrayList<>();
    private final Map<String, ArrayDeque<Integer>> failNext = new HashMap<>();
    private final Map<String, Integer> failAlways = new HashMap<>();
    private final List<PageResponse> responses = new ArrayList<>();
    private final List<InvalidationEntry> invalidated = new ArrayList<>();
    private boolean closed;

    // ---- the model -----------------------------------------------------------------------------------------

    /** One physical IOMMU and its hw info. */
    private record PIommu(SimConfig.Iommu spec, long cap, long ecap, int[] idr) {
        boolean vtd() { return spec.type() == SimConfig.Type.VTD; }
    }

    private static final class Dev {
        final int id; final String path; final PIommu iommu; final int pasidBits;
        /** The sim's own duplicate of a lent cdev descriptor (as the kernel holds the file while bound), or -1. */
        final int fd;
        /** Attached HWPT by PASID; RID is -1. */
        final Map<Integer, Hwpt> attached = new HashMap<>();
        Vdev vdev;
        Dev(final int id, final String path, final PIommu iommu, final int pasidBits, final int fd) {
            this.id = id; this.path = path; this.iommu = iommu; this.pasidBits = pasidBits; this.fd = fd;
        }
    }

    private record Area(long iova, long length, long gpa, int prot) {
        long last() { return iova + length - 1; }
    }

    private static final class Ioas {
        final int id;
        final TreeMap<Long, Area> areas = new TreeMap<>(Long::compareUnsigned);
        /** IOMMU_IOAS_ALLOW_IOVAS: ranges no later reservation may intersect (iopt->allowed_itree). */
        List<IovaRange> allowed = List.of();
        Ioas(final int id) { this.id = id; }
    }

    private enum HwptKind { PAGING, NEST_PARENT, NESTED }

    private static final class Hwpt {
        final int id; final HwptKind kind; final PIommu iommu; final boolean auto;
        final Ioas ioas; final Hwpt parentHwpt; final Viommu viommu;
        final boolean dirtyCapable; final boolean pasidCompat; final Fault fault;
        final HwptAlloc.NestedData data;
        boolean dirtyEnabled;
        final TreeSet<Long> dirtyPages = new TreeSet<>(Long::compareUnsigned);
        /**
         * Whether device writes set dirty bits now: VT-d records only while SSADE is on (set by SET_DIRTY_TRACKING);
         * an SMMUv3 domain with dirty ops always records (arm_smmu_set_dirty_tracking: "Always enabled").
         */
        boolean recordsDirty() { return dirtyCapable && (dirtyEnabled || !iommu.vtd()); }
        Hwpt(final int id, final HwptKind kind, final PIommu iommu, final boolean auto, final Ioas ioas,
             final Hwpt parentHwpt, final Viommu viommu, final boolean dirtyCapable, final boolean pasidCompat,
             final Fault fault, final HwptAlloc.NestedData data) {
            this.id = id; this.kind = kind; this.iommu = iommu; this.auto = auto; this.ioas = ioas;
            this.parentHwpt = parentHwpt; this.viommu = viommu; this.dirtyCapable = dirtyCapable;
            this.pasidCompat = pasidCompat; this.fault = fault; this.data = data;
        }
        /** The IOAS that backs this HWPT's stage 2 (its own, or its parent's). */
        Ioas s2() {
            if (ioas != null) return ioas;
            if (parentHwpt != null) return parentHwpt.ioas;
            return viommu.parent.ioas;
        }
    }

    private static final class Viommu {
        final int id; final PIommu iommu; final Hwpt parent; final int type;
        final Map<Long, Vdev> byVirtId = new HashMap<>();
        final Map<Integer, Veventq> veventqs = new HashMap<>();
        Viommu(final int id, final PIommu iommu, final Hwpt parent, final int type) {
            this.id = id; this.iommu = iommu; this.parent = parent; this.type = type;
        }
    }

    private record Vdev(int id, Viommu viommu, Dev dev, long virtId) {}

    private static final class Fault {
        final int id;
        /** Complete groups ready to read, in order. */
        final ArrayDeque<List<PageRequest>> ready = new ArrayDeque<>();
        /** Groups being built (no LAST_PAGE yet), by (dev, pasid, grpid). */
        final Map<String, List<PageRequest>> building = new HashMap<>();
        /** Delivered groups awaiting a response: cookie -> device. */
        final Map<Integer, Integer> outstanding = new HashMap<>();
        int nextCookie = 1;
        Fault(final int id) { this.id = id; }
    }

    private static final class Veventq {
        final int id; final Viommu viommu; final int type; final int depth;
        final ArrayDeque<VEvent> queue = new ArrayDeque<>();
        int sequence;
        boolean lost;
        Veventq(final int id, final Viommu viommu, final int type, final int depth) {
            this.id = id; this.viommu = viommu; this.type = type; this.depth = depth;
        }
    }

    public SimHostBackend(final SimConfig config, final Supplier<GuestMemory> memory) {
        this.config = config;
        this.memory = memory;
        for (final SimConfig.Iommu i : config.iommus()) {
            if (iommus.containsKey(i.name())) throw new IllegalArgumentException("duplicate IOMMU " + i.name());
            iommus.put(i.name(), i.type() == SimConfig.Type.VTD
                    ? new PIommu(i, i.capReg() != null ? i.capReg() : vtdCap(i), i.ecapReg() != null ? i.ecapReg() : vtdEcap(i), null)
                    : new PIommu(i, 0, 0, i.idr() != null ? i.idr().clone() : smmuIdr(i)));
        }
    }

    public SimHostBackend(final Map<String, Object> hostConfig, final Supplier<GuestMemory> memory) {
        this(SimConfig.fromMap(hostConfig), memory);
    }

    /** VT-d CAP (§11.4.2) for the IOMMU's features: 16-bit DIDs, SAGAW 39/48(/57), MGAW, 2M/1G, PSI, MAMV 18. */
    static long vtdCap(final SimConfig.Iommu i) {
        final boolean five = i.addressBits() >= 57;
        long cap = 6L | ((five ? 0xEL : 0x6L) << 8) | ((long) (i.addressBits() - 1) << 16) | (0x3L << 34)
                | (1L << 39) | (18L << 48) | (1L << 56);
        if (five) cap |= 1L << 60;
        return cap;
    }

    /** VT-d ECAP (§11.4.3): QI, IR, PT, SC, scalable mode with first and second stage, plus the configured features. */
    static long vtdEcap(final SimConfig.Iommu i) {
        long e = (1L << 1) | (1L << 3) | (1L << 6) | (1L << 7) | (0xFL << 8) | (1L << 31) | (1L << 34)
                | (1L << 43) | (1L << 46) | (1L << 47);
        if (i.ats()) e |= 1L << 2;
        if (i.nesting()) e |= 1L << 26;
        if (i.pri()) e |= 1L << 29;
        if (i.pasidBits() > 0) e |= ((long) (i.pasidBits() - 1) << 35) | (1L << 40);
        if (i.dirtyTracking()) e |= (1L << 45) | (1L << 48);
        return e;
    }

    /**
     * SMMUv3 IDR0..5 as the kernel reports them to userspace: masked to the fields iommufd.h lets userspace rely
     * on, so S1P/S2P/ATS/PRI are absent as on a real host (nesting shows by NEST_PARENT allocation succeeding).
     */
    static int[] smmuIdr(final SimConfig.Iommu i) {
        final int idr0 = (1 << 27) | (1 << 26) | ((i.pri() ? 0 : 1) << 24) | (2 << 21) | (1 << 19) | (1 << 12) | (2 << 2);
        final int idr1 = 16 | (i.pasidBits() << 6);
        final int idr3 = (1 << 10);
        final int oas = switch (i.addressBits()) {
            case 32 -> 0; case 36 -> 1; case 40 -> 2; case 42 -> 3; case 44 -> 4; case 52 -> 6; default -> 5;
        };
        final int idr5 = oas | 0x70 | (i.addressBits() >= 52 ? 1 << 10 : 0);
        return new int[] {idr0, idr1, 0, idr3, 0, idr5};
    }

    // ---- the call log and fault injection ----------------------------------------------------------------

    /** Every call so far, in order. */
    public synchronized List<SimCall> calls() { return List.copyOf(calls); }

    /** The operation names of every call so far, in order. */
    public synchronized List<String> ops() { return calls.stream().map(SimCall::op).toList(); }

    public synchronized void clearCalls() { calls.clear(); }

    /** Makes the next call of {@code op} (e.g. {@code "IOMMU_IOAS_MAP"}) fail with {@code errno}; stackable. */
    public synchronized void failNext(final String op, final int errno) {
        failNext.computeIfAbsent(op, k -> new ArrayDeque<>()).add(errno);
    }

    /** Makes every call of {@code op} fail with {@code errno} until {@link #clearFailures}. */
    public synchronized void failAlways(final String op, final int errno) { failAlways.put(op, errno); }

    public synchronized void clearFailures() { failNext.clear(); failAlways.clear(); }

    /** Page responses written so far (including the INVALID auto-responses of detach/replace/destroy). */
    public synchronized List<PageResponse> responses() { return List.copyOf(responses); }

    /** Invalidation entries the sim accepted (processed), in order. */
    public synchronized List<InvalidationEntry> invalidated() { return List.copyOf(invalidated); }

    private int begin(final String op, final Object... args) throws HostException {
        if (closed) throw new HostException(op, Errno.EBADF, "backend closed");
        calls.add(new SimCall(++seq, op, Arrays.asList(args), 0));
        final int idx = calls.size() - 1;
        final ArrayDeque<Integer> q = failNext.get(op);
        final Integer injected = q != null && !q.isEmpty() ? q.poll() : failAlways.get(op);
        if (injected != null) throw fail(idx, injected, "injected");
        return idx;
    }

    private HostException fail(final int idx, final int errno, final String detail) {
        final SimCall c = calls.get(idx);
        calls.set(idx, new SimCall(c.seq(), c.op(), c.args(), errno));
        return new HostException(c.op(), errno, detail);
    }

    private int id() { return nextId++; }

    private <T> T obj(final int id, final Class<T> type) {
        final Object o = objects.get(id);
        return type.isInstance(o) ? type.cast(o) : null;
    }

    // ---- HostBackend ---------------------------------------------------------------------------------------

    @Override public String kind() { return "sim"; }

    /** The configuration this host was built from. */
    public SimConfig config() { return config; }

    /**
     * Binds the simulated device {@code ref.path()} names. A lent descriptor ({@code ref.fd() >= 0}) is handled as
     * the kernel handles the cdev: a number that is not open is EBADF, and while bound the sim holds the file through
     * a duplicate of its own, closed at unbind or close; the caller's descriptor is never closed (Endpoint's rule).
     */
    @Override
    public synchronized ObjectId.Device bindDevice(final HostDeviceRef ref) throws HostException {
        final int c = begin("VFIO_DEVICE_BIND_IOMMUFD", ref.path(), ref.fd());
        SimConfig.Device spec = config.devices().stream().filter(d -> d.path().equals(ref.path())).findFirst().orElse(null);
        if (spec == null && config.autoDevices()) spec = new SimConfig.Device(ref.path(), config.iommus().getFirst().name(), 20);
        if (spec == null) throw fail(c, Errno.ENODEV, "no simulated device " + ref.path());
        if (bound.containsKey(ref.path())) throw fail(c, Errno.EINVAL, "already bound");  // one bind per cdev fd
        int fd = -1;
        if (ref.fd() >= 0) {
            try {
                fd = FdIo.dupCloexec(ref.fd());
            } catch (final HostException e) {
                throw fail(c, e.errno(), "cdev fd " + ref.fd());
            }
        }
        final Dev d = new Dev(id(), spec.path(), iommus.get(spec.iommu()), spec.pasidBits(), fd);
        objects.put(d.id, d);
        bound.put(d.path, d);
        return new ObjectId.Device(d.id);
    }

    private Dev dev(final int c, final ObjectId.Device d) throws HostException {
        final Dev dev = d == null ? null : obj(d.value(), Dev.class);
        if (dev == null) throw fail(c, Errno.ENOENT, "device");
        return dev;
    }

    /** Closing the cdev: detaches everything, destroys its vDEVICE (6.17+ auto-destroy), unbinds. */
    @Override
    public synchronized void unbindDevice(final ObjectId.Device d) throws HostException {
        final int c = begin("close(vfio cdev)", d);
        final Dev dev = dev(c, d);
        for (final Integer pasid : List.copyOf(dev.attached.keySet())) detachInternal(dev, pasid);
        if (dev.vdev != null) {
            dev.vdev.viommu.byVirtId.remove(dev.vdev.virtId);
            objects.remove(dev.vdev.id);
            dev.vdev = null;
        }
        objects.remove(dev.id);
        bound.remove(dev.path);
        if (dev.fd >= 0) FdIo.close(dev.fd);
    }

    @Override
    public synchronized HwInfo hwInfo(final ObjectId.Device d) throws HostException {
        final int c = begin("IOMMU_GET_HW_INFO", d);
        final Dev dev = dev(c, d);
        final SimConfig.Iommu s = dev.iommu.spec;
        final int pasid = dev.pasidBits > 0 && s.pasidBits() > 0 ? Math.min(dev.pasidBits, s.pasidBits()) : 0;
        long caps = 0;
        if (s.dirtyTracking()) caps |= 1;                 // IOMMU_HW_CAP_DIRTY_TRACKING
        if (pasid > 0) caps |= 2 | 4;                     // PCI_PASID_EXEC | PCI_PASID_PRIV
        if (!s.ats()) caps |= 8;                          // PCI_ATS_NOT_SUPPORTED
        return dev.iommu.vtd() ? new HwInfo.Vtd(s.name(), caps, pasid, 0, dev.iommu.cap, dev.iommu.ecap)
                : new HwInfo.SmmuV3(s.name(), caps, pasid, 0, dev.iommu.idr.clone(), 0x43b, 0x2);
    }

    @Override
    public synchronized ObjectId.Ioas allocIoas() throws HostException {
        begin("IOMMU_IOAS_ALLOC");
        final Ioas i = new Ioas(id());
        objects.put(i.id, i);
        return new ObjectId.Ioas(i.id);
    }

    private Ioas ioas(final int c, final ObjectId.Ioas id, final int errno) throws HostException {
        final Ioas i = id == null ? null : obj(id.value(), Ioas.class);
        if (i == null) throw fail(c, errno, "IOAS");
        return i;
    }

    /** Devices attached (RID or PASID) to any HWPT whose stage 2 is {@code ioas}. */
    private List<Dev> devicesOn(final Ioas ioas) {
        final List<Dev> out = new ArrayList<>();
        for (final Object o : objects.values()) {
            if (o instanceof Dev d && d.attached.values().stream().anyMatch(h -> h.s2() == ioas)) out.add(d);
        }
        return out;
    }

    /** Reserved ranges of an IOAS: the host's, plus each attached device's IOMMU windows and aperture end. */
    private List<IovaRange> reservedOf(final Ioas ioas, final Dev extra) {
        final List<IovaRange> r = new ArrayList<>(config.reserved());
        final List<Dev> devs = devicesOn(ioas);
        if (extra != null && !devs.contains(extra)) devs.add(extra);
        for (final Dev d : devs) {
            r.addAll(d.iommu.spec.reserved());
            final int bits = d.iommu.spec.addressBits();
            if (bits < 64) r.add(new IovaRange(1L << bits, -1L));
        }
        return r;
    }

    private static boolean overlaps(final IovaRange r, final long start, final long last) {
        return Long.compareUnsigned(r.start(), last) <= 0 && Long.compareUnsigned(start, r.last()) <= 0;
    }

    @Override
    public synchronized List<IovaRange> iovaRanges(final ObjectId.Ioas id) throws HostException {
        final int c = begin("IOMMU_IOAS_IOVA_RANGES", id);
        final Ioas ioas = ioas(c, id, Errno.ENOENT);
        final List<IovaRange> res = new ArrayList<>(reservedOf(ioas, null));
        res.sort((a, b) -> Long.compareUnsigned(a.start(), b.start()));
        final List<IovaRange> out = new ArrayList<>();
        long next = 0;
        boolean done = false;
        for (final IovaRange r : res) {
            if (done) break;
            if (Long.compareUnsigned(r.start(), next) > 0) out.add(new IovaRange(next, r.start() - 1));
            if (Long.compareUnsigned(r.last(), next) >= 0) {
                if (r.last() == -1L) done = true; else next = r.last() + 1;
            }
        }
        if (!done) out.add(new IovaRange(next, -1L));
        return List.copyOf(out);
    }

    /**
     * What the device's IOMMU can do: hw info decoded, with nesting from the configuration. A real SMMUv3 hides
     * S1P/S2P from userspace (the IDRs are masked), so the real backend probes a NEST_PARENT allocation; the sim
     * knows the answer from {@link SimConfig.Iommu#nesting()} and needs no probe. Logged as IOMMU_GET_HW_INFO.
     */
    @Override
    public synchronized HostCapabilities capabilities(final ObjectId.Device d) throws HostException {
        final HwInfo info = hwInfo(d);
        final Dev dev = obj(d.value(), Dev.class);
        return HwInfoDecoder.decode(info).withNesting(dev.iommu.spec.nesting());
    }

    /**
     * IOMMU_IOAS_ALLOW_IOVAS as iommufd_ioas_load_iovas + iopt_set_allow_iova: a range with start >= last, or two
     * ranges that overlap, EINVAL; a range intersecting what is already reserved (the host's ranges, the windows
     * and aperture ends of attached devices' IOMMUs) EADDRINUSE, leaving the old list. An empty list clears it.
     * Afterwards an attach that would reserve inside an allowed range fails with EADDRINUSE (iopt_reserve_iova).
     * FIXED_IOVA maps are not restricted by it (iopt_check_iova only looks at reservations and areas), and
     * IOVA_RANGES still reports the holes between reservations.
     */
    @Override
    public synchronized void allowIovas(final ObjectId.Ioas id, final List<IovaRange> ranges) throws HostException {
        final int c = begin("IOMMU_IOAS_ALLOW_IOVAS", id, ranges);
        final Ioas ioas = ioas(c, id, Errno.ENOENT);
        final List<IovaRange> loaded = new ArrayList<>(ranges.size());
        for (final IovaRange r : ranges) {
            if (Long.compareUnsigned(r.start(), r.last()) >= 0) throw fail(c, Errno.EINVAL, "start >= last");
            for (final IovaRange o : loaded) {
                if (overlaps(o, r.start(), r.last())) throw fail(c, Errno.EINVAL, "allowed ranges overlap");
            }
            loaded.add(r);
        }
        final List<IovaRange> reserved = reservedOf(ioas, null);
        for (final IovaRange r : loaded) {
            for (final IovaRange res : reserved) {
                if (overlaps(res, r.start(), r.last())) throw fail(c, Errno.EADDRINUSE, "allowed range is reserved");
            }
        }
        ioas.allowed = List.copyOf(loaded);
    }

    /** The allowed IOVA ranges of an IOAS (for assertions). */
    public synchronized List<IovaRange> allowedIovas(final ObjectId.Ioas id) {
        final Ioas i = obj(id.value(), Ioas.class);
        return i == null ? List.of() : i.allowed;
    }

    /**
     * IOMMU_IOAS_MAP with FIXED_IOVA. Checks as iopt_check_iova (io_pagetable.c): alignment EINVAL, wrap
     * EOVERFLOW, reserved EINVAL, existing mapping EEXIST; a gpa outside guest RAM is EFAULT (a bad user VA).
     */
    @Override
    public synchronized void map(final ObjectId.Ioas id, final long iova, final long gpa, final long length,
                                 final int prot) throws HostException {
        final int c = begin("IOMMU_IOAS_MAP", id, iova, gpa, length, prot);
        final Ioas ioas = ioas(c, id, Errno.ENOENT);
        if (length == 0) throw fail(c, Errno.EINVAL, "length 0");
        if ((iova & (PAGE - 1)) != 0 || (length & (PAGE - 1)) != 0) throw fail(c, Errno.EINVAL, "not page aligned");
        final long last = iova + length - 1;
        if (Long.compareUnsigned(last, iova) < 0) throw fail(c, Errno.EOVERFLOW, "wraps");
        for (final IovaRange r : reservedOf(ioas, null)) {
            if (overlaps(r, iova, last)) throw fail(c, Errno.EINVAL, "reserved IOVA");
        }
        if (overlapping(ioas, iova, last) != null) throw fail(c, Errno.EEXIST, "already mapped");
        if (!memory.get().contains(gpa, length)) throw fail(c, Errno.EFAULT, "not guest RAM");
        ioas.areas.put(iova, new Area(iova, length, gpa, prot & (AccessType.READ | AccessType.WRITE)));
    }

    /** Unmapping removes the PTEs and with them their dirty bits, in every paging HWPT over the IOAS. */
    private void dropDirty(final Ioas ioas, final long iova, final long last) {
        for (final Object o : objects.values()) {
            if (o instanceof Hwpt h && h.ioas == ioas && !h.dirtyPages.isEmpty()) {
                h.dirtyPages.subSet(iova, true, last, true).clear();
            }
        }
    }

    /** The lowest area intersecting {@code [iova, last]}, or null. */
    private static Area firstOverlap(final Ioas ioas, final long iova, final long last) {
        final Map.Entry<Long, Area> lower = ioas.areas.floorEntry(iova);
        if (lower != null && Long.compareUnsigned(lower.getValue().last(), iova) >= 0) return lower.getValue();
        final Map.Entry<Long, Area> next = ioas.areas.ceilingEntry(iova);
        return next != null && Long.compareUnsigned(next.getKey(), last) <= 0 ? next.getValue() : null;
    }

    private static Area overlapping(final Ioas ioas, final long iova, final long last) {
        final Map.Entry<Long, Area> below = ioas.areas.floorEntry(last);
        if (below == null) return null;
        return Long.compareUnsigned(below.getValue().last(), iova) >= 0 ? below.getValue() : null;
    }

    /**
     * IOMMU_IOAS_UNMAP as iommufd_ioas_unmap/iopt_unmap_iova_range: 0/U64_MAX unmaps all (0 bytes is fine);
     * otherwise an area only partly covered stops the walk with ENOENT (areas before it stay unmapped), and
     * nothing unmapped is ENOENT.
     */
    @Override
    public synchronized long unmap(final ObjectId.Ioas id, final long iova, final long length) throws HostException {
        final int c = begin("IOMMU_IOAS_UNMAP", id, iova, length);
        final Ioas ioas = ioas(c, id, Errno.ENOENT);
        long unmapped = 0;
        if (iova == 0 && length == -1L) {
            for (final Area a : ioas.areas.values()) unmapped += a.length();
            ioas.areas.clear();
            dropDirty(ioas, 0, -1L);
            return unmapped;
        }
        if (iova == -1L || length == -1L) throw fail(c, Errno.EOVERFLOW, "iova/length >= ULONG_MAX");
        if (length == 0) throw fail(c, Errno.EINVAL, "length 0");
        final long last = iova + length - 1;
        if (Long.compareUnsigned(last, iova) < 0) throw fail(c, Errno.EOVERFLOW, "wraps");
        Area a;
        while ((a = firstOverlap(ioas, iova, last)) != null) {
            if (Long.compareUnsigned(a.iova(), iova) < 0 || Long.compareUnsigned(a.last(), last) > 0) {
                throw fail(c, Errno.ENOENT, "area [0x" + Long.toHexString(a.iova()) + ", 0x"
                        + Long.toHexString(a.last()) + "] only partly covered");
            }
            ioas.areas.remove(a.iova());
            dropDirty(ioas, a.iova(), a.last());
            unmapped += a.length();
        }
        if (unmapped == 0) throw fail(c, Errno.ENOENT, "nothing mapped");
        return unmapped;
    }

    @Override
    public synchronized ObjectId.Hwpt allocHwpt(final HwptAlloc req) throws HostException {
        final int c = begin("IOMMU_HWPT_ALLOC", req);
        final Dev dev = dev(c, req.device());
        final SimConfig.Iommu s = dev.iommu.spec;
        final Hwpt h = switch (req) {
            case HwptAlloc.Paging p -> {
                final Ioas ioas = ioas(c, p.ioas(), Errno.EINVAL);  // wrong or missing pt_id: EINVAL
                if (p.dirtyTracking() && !s.dirtyTracking()) throw fail(c, Errno.EOPNOTSUPP, "no dirty tracking");
                final Fault f = fault(c, p.fault());
                yield new Hwpt(id(), HwptKind.PAGING, dev.iommu, false, ioas, null, null, p.dirtyTracking(),
                        s.pasidBits() > 0, f, null);
            }
            case HwptAlloc.NestParent p -> {
                final Ioas ioas = ioas(c, p.ioas(), Errno.EINVAL);
                if (!s.nesting()) throw fail(c, Errno.EOPNOTSUPP, s.name() + " has no nesting");
                if (p.dirtyTracking() && !s.dirtyTracking()) throw fail(c, Errno.EOPNOTSUPP, "no dirty tracking");
                yield new Hwpt(id(), HwptKind.NEST_PARENT, dev.iommu, false, ioas, null, null, p.dirtyTracking(),
                        s.pasidBits() > 0, null, null);
            }
            case HwptAlloc.Nested n -> nested(c, dev, n);
        };
        objects.put(h.id, h);
        return new ObjectId.Hwpt(h.id);
    }

    private Fault fault(final int c, final ObjectId.FaultQueue q) throws HostException {
        if (q == null) return null;
        final Fault f = obj(q.value(), Fault.class);
        if (f == null) throw fail(c, Errno.ENOENT, "fault queue");
        return f;
    }

    private Hwpt nested(final int c, final Dev dev, final HwptAlloc.Nested n) throws HostException {
        final Fault f = fault(c, n.fault());
        if (n.parent() instanceof ObjectId.Hwpt ph) {
            final Hwpt parent = obj(ph.value(), Hwpt.class);
            // hw_pagetable.c iommufd_hwpt_nested_alloc: a driver without domain_alloc_nested (SMMUv3 nests through
            // a vIOMMU) EOPNOTSUPP; then a parent that is not an explicit nest parent of this driver EINVAL; then
            // intel/nested.c: no nesting EOPNOTSUPP, wrong data type EOPNOTSUPP
            if (!dev.iommu.vtd()) throw fail(c, Errno.EOPNOTSUPP, "SMMUv3 nests through a vIOMMU");
            if (parent == null || parent.kind != HwptKind.NEST_PARENT || !parent.iommu.vtd()) {
                throw fail(c, Errno.EINVAL, "parent is not a nest parent");
            }
            if (!dev.iommu.spec.nesting()) throw fail(c, Errno.EOPNOTSUPP, "no nesting");
            if (!(n.data() instanceof HwptAlloc.NestedData.VtdS1 v)) throw fail(c, Errno.EOPNOTSUPP, "data type");
            if (parent.iommu != dev.iommu) throw fail(c, Errno.EINVAL, "parent on another IOMMU");
            // vtd_s1.flags is not validated at allocation: unknown bits are kept and ignored (Linux 7.3 nested.c
            // intel_iommu_domain_alloc_nested; pasid.c intel_pasid_setup_nested tests only SRE and EAFE, at attach)
            return new Hwpt(id(), HwptKind.NESTED, dev.iommu, false, null, parent, null, false,
                    dev.iommu.spec.pasidBits() > 0, f, v);
        }
        final Viommu vi = obj(n.parent().value(), Viommu.class);
        if (vi == null) throw fail(c, Errno.EINVAL, "no such vIOMMU");
        if (vi.iommu != dev.iommu) throw fail(c, Errno.EINVAL, "device behind another IOMMU than the vIOMMU");
        if (!(n.data() instanceof HwptAlloc.NestedData.SmmuV3Ste ste)) throw fail(c, Errno.EOPNOTSUPP, "data type");
        final HwptAlloc.NestedData.SmmuV3Ste checked = validateVste(c, ste);
        return new Hwpt(id(), HwptKind.NESTED, dev.iommu, false, null, null, vi, false,
                dev.iommu.spec.pasidBits() > 0, f, checked);
    }

    /** arm_smmu_validate_vste (arm-smmu-v3-iommufd.c): V=0 becomes abort; other bits, Config, EATS -> EIO. */
    private HwptAlloc.NestedData.SmmuV3Ste validateVste(final int c, final HwptAlloc.NestedData.SmmuV3Ste s)
            throws HostException {
        if (!STE_V.isSet(s.ste0())) return new HwptAlloc.NestedData.SmmuV3Ste(0, 0);
        if ((s.ste0() & ~STE0_ALLOWED) != 0 || (s.ste1() & ~STE1_ALLOWED) != 0) throw fail(c, Errno.EIO, "vSTE bits outside the allowed mask");
        final long cfg = STE_CFG.get(s.ste0());
        if (cfg != STE_CFG_ABORT && cfg != STE_CFG_BYPASS && cfg != STE_CFG_S1_TRANS) throw fail(c, Errno.EIO, "vSTE Config " + cfg);
        final long eats = STE_EATS.get(s.ste1());
        if (eats > 1) throw fail(c, Errno.EIO, "vSTE EATS " + eats);
        return s;
    }

    private static int steCfg(final Hwpt h) {
        return h.data instanceof HwptAlloc.NestedData.SmmuV3Ste s && STE_V.isSet(s.ste0())
                ? (int) STE_CFG.get(s.ste0()) : STE_CFG_ABORT;
    }

    @Override
    public synchronized ObjectId.Hwpt attach(final ObjectId.Device d, final int pasid, final ObjectId pt)
            throws HostException {
        final int c = begin("VFIO_DEVICE_ATTACH_IOMMUFD_PT", d, pasid, pt);
        final Dev dev = dev(c, d);
        if (pasid >= 0) {
            if (dev.pasidBits == 0 || dev.iommu.spec.pasidBits() == 0) throw fail(c, Errno.EOPNOTSUPP, "no PASID support");
            if (pasid >= (1 << Math.min(dev.pasidBits, dev.iommu.spec.pasidBits()))) throw fail(c, Errno.EINVAL, "PASID too wide");
        }
        final Object target = pt == null ? null : objects.get(pt.value());
        final Hwpt h;
        if (target instanceof Ioas ioas) {
            h = autoHwpt(ioas, dev);
        } else if (target instanceof Hwpt hw) {
            h = hw;
        } else {
            throw fail(c, target == null ? Errno.ENOENT : Errno.EINVAL, "pt_id");
        }
        // a nested (or nest-parent) domain belongs to one physical IOMMU; paging ones to one driver
        if ((h.kind != HwptKind.PAGING || h.auto) && h.iommu != dev.iommu) throw fail(c, Errno.EINVAL, "domain of another IOMMU");
        if (h.iommu.spec.type() != dev.iommu.spec.type()) throw fail(c, Errno.EINVAL, "domain of another driver");
        if (h.dirtyCapable && !dev.iommu.spec.dirtyTracking()) throw fail(c, Errno.EINVAL, "dirty tracking");
        // iommufd_hwpt_pasid_compat: PASID attach needs ALLOC_PASID domains on both sides (the sim treats every
        // domain of a PASID-capable IOMMU as allocated with IOMMU_HWPT_ALLOC_PASID)
        if (pasid >= 0 && !h.pasidCompat) throw fail(c, Errno.EINVAL, "domain not PASID-compatible");
        if (h.kind == HwptKind.NESTED && h.viommu != null && steCfg(h) == STE_CFG_S1_TRANS
                && (dev.vdev == null || dev.vdev.viommu != h.viommu)) {
            throw fail(c, Errno.ENOENT, "translate vSTE needs a vDEVICE first");  // arm_smmu_attach_prepare_vmaster
        }
        if (h.data instanceof HwptAlloc.NestedData.VtdS1 v) {
            final long cap = dev.iommu.cap, ecap = dev.iommu.ecap;
            if (v.addrWidth() != 48 && v.addrWidth() != 57) throw fail(c, Errno.EINVAL, "addr_width " + v.addrWidth());
            if (v.addrWidth() == 57 && (cap & (1L << 60)) == 0) throw fail(c, Errno.EINVAL, "no FS5LP");
            if ((v.flags() & 1) != 0 && (ecap & (1L << 31)) == 0) throw fail(c, Errno.EINVAL, "SRE without ECAP.SRS");
            if ((v.flags() & 2) != 0 && (ecap & (1L << 34)) == 0) throw fail(c, Errno.EINVAL, "EAFE without ECAP.EAFS");
        }
        // the IOAS must not already map or allow what the device's IOMMU reserves (iopt_reserve_iova: EADDRINUSE)
        final Ioas s2 = h.s2();
        if (!devicesOn(s2).contains(dev)) {
            for (final IovaRange r : reservedOf(s2, dev)) {
                final boolean mapped = overlapping(s2, r.start(), r.last()) != null;
                final boolean allowed = s2.allowed.stream().anyMatch(a -> overlaps(a, r.start(), r.last()));
                if (mapped || allowed) {
                    if (h.auto && h.iommu == dev.iommu && countUsers(h) == 0) objects.remove(h.id);
                    throw fail(c, Errno.EADDRINUSE, mapped ? "mapping overlaps a reserved region"
                            : "an allowed IOVA range overlaps a reserved region");
                }
            }
        }
        final Hwpt old = dev.attached.put(pasid < 0 ? -1 : pasid, h);
        if (old != null && old != h) retire(dev, pasid, old);
        return new ObjectId.Hwpt(h.id);
    }

    /** The kernel's automatic domain for an IOAS attach: reuse one of this IOMMU, or create one. */
    private Hwpt autoHwpt(final Ioas ioas, final Dev dev) {
        for (final Object o : objects.values()) {
            if (o instanceof Hwpt h && h.auto && h.ioas == ioas && h.iommu == dev.iommu) return h;
        }
        final Hwpt h = new Hwpt(id(), HwptKind.PAGING, dev.iommu, true, ioas, null, null, false,
                dev.iommu.spec.pasidBits() > 0, null, null);
        objects.put(h.id, h);
        return h;
    }

    private int countUsers(final Hwpt h) {
        int n = 0;
        for (final Object o : objects.values()) {
            if (o instanceof Dev d) for (final Hwpt a : d.attached.values()) if (a == h) n++;
        }
        return n;
    }

    /** After a detach or replace: answer the device's outstanding faults INVALID, drop an unused auto domain. */
    private void retire(final Dev dev, final int pasid, final Hwpt old) {
        if (old.fault != null) {
            old.fault.outstanding.entrySet().removeIf(e -> {
                if (e.getValue() != dev.id) return false;
                responses.add(new PageResponse(e.getKey(), PageResponse.INVALID));
                return true;
            });
            old.fault.ready.removeIf(g -> g.getFirst().deviceId() == dev.id);
        }
        if (old.auto && countUsers(old) == 0) objects.remove(old.id);
    }

    private void detachInternal(final Dev dev, final int key) {
        final Hwpt old = dev.attached.remove(key);
        if (old != null) retire(dev, key, old);
    }

    @Override
    public synchronized void detach(final ObjectId.Device d, final int pasid) throws HostException {
        final int c = begin("VFIO_DEVICE_DETACH_IOMMUFD_PT", d, pasid);
        final Dev dev = dev(c, d);
        final int key = pasid < 0 ? -1 : pasid;
        // Nothing attached: a successful no-op (Linux 7.3 vfio/iommufd.c vfio_iommufd_physical_detach_ioas returns
        // when !iommufd_attached, the PASID variant when the PASID is not in vdev->pasids; the ioctl returns 0)
        detachInternal(dev, key);
    }

    @Override
    public synchronized ObjectId.Viommu allocViommu(final ObjectId.Device d, final int type, final ObjectId.Hwpt parent)
            throws HostException {
        return allocViommu(d, type, parent, null);
    }

    /**
     * IOMMU_VIOMMU_ALLOC in iommufd_viommu_alloc_ioctl's order: type DEFAULT EOPNOTSUPP; unknown device ENOENT; a
     * driver without vIOMMU support for the type (VT-d has none in 7.3; an SMMUv3 without nesting or a type other
     * than ARM_SMMUV3: arm_smmu_get_viommu_size returns 0) EOPNOTSUPP; hwpt_id not a paging HWPT ENOENT, not a nest
     * parent EINVAL; the parent on another SMMU EINVAL (arm_vsmmu_init). ARM_SMMUV3 takes no driver data: a
     * {@code driverData} array is accepted and left as it is, as the kernel ignores it for that type.
     */
    @Override
    public synchronized ObjectId.Viommu allocViommu(final ObjectId.Device d, final int type, final ObjectId.Hwpt parent,
                                                    final byte[] driverData) throws HostException {
        final int c = begin("IOMMU_VIOMMU_ALLOC", d, type, parent, driverData == null ? 0 : driverData.length);
        if (type == 0) throw fail(c, Errno.EOPNOTSUPP, "IOMMU_VIOMMU_TYPE_DEFAULT");
        final Dev dev = dev(c, d);
        if (dev.iommu.vtd()) throw fail(c, Errno.EOPNOTSUPP, "intel-iommu has no vIOMMU");
        if (!dev.iommu.spec.nesting() || type != VIOMMU_TYPE_ARM_SMMUV3) {
            throw fail(c, Errno.EOPNOTSUPP, "vIOMMU type " + type + " on " + dev.iommu.spec.name());
        }
        final Hwpt p = parent == null ? null : obj(parent.value(), Hwpt.class);
        if (p == null || p.kind == HwptKind.NESTED) throw fail(c, Errno.ENOENT, "hwpt_id is not a paging HWPT");
        if (p.kind != HwptKind.NEST_PARENT) throw fail(c, Errno.EINVAL, "hwpt_id is not a nest parent");
        if (p.iommu != dev.iommu) throw fail(c, Errno.EINVAL, "S2 parent on another SMMU");  // arm_vsmmu_init
        final Viommu v = new Viommu(id(), dev.iommu, p, type);
        objects.put(v.id, v);
        return new ObjectId.Viommu(v.id);
    }

    @Override
    public synchronized ObjectId.Vdevice allocVdevice(final ObjectId.Viommu viommu, final ObjectId.Device d,
                                                      final long virtualId) throws HostException {
        final int c = begin("IOMMU_VDEVICE_ALLOC", viommu, d, virtualId);
        final Viommu v = viommu == null ? null : obj(viommu.value(), Viommu.class);
        if (v == null) throw fail(c, Errno.ENOENT, "vIOMMU");
        final Dev dev = dev(c, d);
        if (dev.iommu != v.iommu) throw fail(c, Errno.EINVAL, "device behind another IOMMU");
        if (dev.vdev != null || v.byVirtId.containsKey(virtualId)) throw fail(c, Errno.EEXIST, "vDEVICE exists");
        final Vdev vd = new Vdev(id(), v, dev, virtualId);
        objects.put(vd.id, vd);
        v.byVirtId.put(virtualId, vd);
        dev.vdev = vd;
        return new ObjectId.Vdevice(vd.id);
    }

    /**
     * IOMMU_HWPT_INVALIDATE: a nested VT-d HWPT takes VTD_S1 entries (intel_nested_cache_invalidate_user), a
     * vIOMMU SMMUv3 commands (arm_vsmmu_cache_invalidate). The batch stops at the first bad entry; the result
     * says how many were processed before it.
     */
    @Override
    public synchronized InvalidationResult invalidate(final ObjectId target, final List<? extends InvalidationEntry> entries) {
        final int c;
        try {
            c = begin("IOMMU_HWPT_INVALIDATE", target, entries.size());
        } catch (final HostException e) {
            return new InvalidationResult(0, e.errno());
        }
        final Object t = target == null ? null : objects.get(target.value());
        final int errno;
        int done = 0;
        if (t instanceof Hwpt h && h.kind == HwptKind.NESTED && h.viommu == null) {
            errno = invalidateVtd(entries);
            done = countDone;
        } else if (t instanceof Viommu v) {
            if (entries.isEmpty()) errno = Errno.EINVAL;  // the full-array copy rejects entry_num 0
            else {
                errno = invalidateSmmu(v, entries);
                done = countDone;
            }
        } else {
            errno = Errno.EINVAL;  // neither a nested HWPT nor a vIOMMU
        }
        if (errno != 0) fail(c, errno, "entry " + done);
        return new InvalidationResult(done, errno);
    }

    private int countDone;

    private int invalidateVtd(final List<? extends InvalidationEntry> entries) {
        countDone = 0;
        for (final InvalidationEntry e : entries) {
            if (!(e instanceof InvalidationEntry.VtdS1 v)) return Errno.EINVAL;  // data_type mismatch
            if ((v.flags() & ~InvalidationEntry.VtdS1.FLAG_LEAF) != 0) return Errno.EOPNOTSUPP;
            if ((v.addr() & (PAGE - 1)) != 0 || (v.npages() == -1L && v.addr() != 0)) return Errno.EINVAL;
            invalidated.add(v);
            countDone++;
        }
        return 0;
    }

    private int invalidateSmmu(final Viommu v, final List<? extends InvalidationEntry> entries) {
        countDone = 0;
        for (final InvalidationEntry e : entries) {
            if (!(e instanceof InvalidationEntry.SmmuV3Cmd cmd)) return Errno.EINVAL;
            final int op = (int) CMD_OP.get(cmd.cmd0());
            switch (op) {
                case 0x10, 0x11, 0x12, 0x13, 0x30 -> { }            // TLBI_NH_*, TLBI_NSNH_ALL: VMID forced
                case 0x40, 0x05, 0x06 -> {                           // ATC_INV, CFGI_CD(_ALL): vSID -> pSID
                    if (!v.byVirtId.containsKey(CMD_SID.get(cmd.cmd0()))) return Errno.EIO;
                }
                default -> { return Errno.EIO; }
            }
            invalidated.add(cmd);
            countDone++;
        }
        return 0;
    }

    @Override
    public synchronized ObjectId.FaultQueue allocFaultQueue() throws HostException {
        begin("IOMMU_FAULT_QUEUE_ALLOC");
        final Fault f = new Fault(id());
        objects.put(f.id, f);
        return new ObjectId.FaultQueue(f.id);
    }

    @Override
    public synchronized int readPageRequests(final ObjectId.FaultQueue queue, final int max,
                                             final Consumer<PageRequest> sink) throws HostException {
        final int c = begin("read(fault fd)", queue, max);
        final Fault f = queue == null ? null : obj(queue.value(), Fault.class);
        if (f == null) throw fail(c, Errno.ENOENT, "fault queue");
        int n = 0;
        // whole groups only; a group that does not fit stays queued
        while (!f.ready.isEmpty() && n + f.ready.peek().size() <= max) {
            final List<PageRequest> g = f.ready.poll();
            for (final PageRequest r : g) sink.accept(r);
            f.outstanding.put(g.getLast().cookie(), g.getLast().deviceId());
            n += g.size();
        }
        return n;
    }

    @Override
    public synchronized void respond(final ObjectId.FaultQueue queue, final PageResponse response) throws HostException {
        final int c = begin("write(fault fd)", queue, response.cookie(), response.code());
        final Fault f = queue == null ? null : obj(queue.value(), Fault.class);
        if (f == null) throw fail(c, Errno.ENOENT, "fault queue");
        if (response.code() != PageResponse.SUCCESS && response.code() != PageResponse.INVALID) throw fail(c, Errno.EINVAL, "code");
        if (f.outstanding.remove(response.cookie()) == null) throw fail(c, Errno.EINVAL, "unknown cookie");
        responses.add(response);
    }

    @Override
    public synchronized ObjectId.Veventq allocVeventq(final ObjectId.Viommu viommu, final int type, final int depth)
            throws HostException {
        final int c = begin("IOMMU_VEVENTQ_ALLOC", viommu, type, depth);
        final Viommu v = viommu == null ? null : obj(viommu.value(), Viommu.class);
        if (v == null) throw fail(c, Errno.ENOENT, "vIOMMU");
        if (type == 0) throw fail(c, Errno.EOPNOTSUPP, "IOMMU_VEVENTQ_TYPE_DEFAULT");
        if (type != VEVENTQ_TYPE_ARM_SMMUV3) throw fail(c, Errno.EOPNOTSUPP, "vEVENTQ type " + type);
        if (depth <= 0) throw fail(c, Errno.EINVAL, "depth");
        if (v.veventqs.containsKey(type)) throw fail(c, Errno.EEXIST, "one vEVENTQ per type");
        final Veventq q = new Veventq(id(), v, type, depth);
        objects.put(q.id, q);
        v.veventqs.put(type, q);
        return new ObjectId.Veventq(q.id);
    }

    @Override
    public synchronized int readEvents(final ObjectId.Veventq queue, final int max, final Consumer<VEvent> sink)
            throws HostException {
        final int c = begin("read(vEVENTQ fd)", queue, max);
        final Veventq q = queue == null ? null : obj(queue.value(), Veventq.class);
        if (q == null) throw fail(c, Errno.ENOENT, "vEVENTQ");
        int n = 0;
        while (!q.queue.isEmpty() && n < max) {
            sink.accept(q.queue.poll());
            n++;
        }
        if (q.queue.isEmpty() && q.lost && n < max) {
            // the LOST_EVENTS header the kernel appends at the tail
            sink.accept(new VEvent(q.type, q.sequence, true, new long[0]));
            q.lost = false;
            n++;
        }
        return n;
    }

    /** IOMMU_DESTROY: ENOENT for an unknown ID, EBUSY while anything refers to the object. */
    @Override
    public synchronized void destroy(final ObjectId id) throws HostException {
        final int c = begin("IOMMU_DESTROY", id);
        final Object o = id == null ? null : objects.get(id.value());
        if (o == null) throw fail(c, Errno.ENOENT, "no object " + (id == null ? "null" : id.value()));
        if (o instanceof Dev) throw fail(c, Errno.EBUSY, "a device is owned by its VFIO cdev");
        final String holder = holderOf(o);
        if (holder != null) throw fail(c, Errno.EBUSY, "referenced by " + holder);
        objects.remove(id.value());
        switch (o) {
            case Vdev vd -> { vd.viommu.byVirtId.remove(vd.virtId); vd.dev.vdev = null; }
            case Veventq q -> q.viommu.veventqs.remove(q.type);
            case Fault f -> f.outstanding.keySet().forEach(k -> responses.add(new PageResponse(k, PageResponse.INVALID)));
            default -> { }
        }
    }

    /** What refers to {@code o}, or null when it may be destroyed. */
    private String holderOf(final Object o) {
        for (final Object x : objects.values()) {
            switch (x) {
                case Dev d -> {
                    for (final Hwpt h : d.attached.values()) {
                        if (h == o || (o instanceof Ioas && h.auto && h.ioas == o)) return "device " + d.id;
                    }
                }
                case Hwpt h when h != o -> {
                    if (!h.auto && (h.ioas == o || h.parentHwpt == o || h.viommu == o || h.fault == o)) return "HWPT " + h.id;
                }
                case Viommu v -> { if (v.parent == o) return "vIOMMU " + v.id; }
                case Vdev vd -> { if (vd.viommu == o) return "vDEVICE " + vd.id; }
                case Veventq q -> { if (q.viommu == o) return "vEVENTQ " + q.id; }
                default -> { }
            }
        }
        return null;
    }

    /** Tears everything down; the duplicates of still-bound devices' descriptors are closed, as the kernel drops the files. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        for (final Dev d : bound.values()) if (d.fd >= 0) FdIo.close(d.fd);
        objects.clear();
        bound.clear();
    }

    /** The descriptors the sim holds for bound devices (its duplicates of lent cdev descriptors), in bind order. */
    public synchronized List<Integer> heldDescriptors() {
        return objects.values().stream().filter(o -> o instanceof Dev d && d.fd >= 0).map(o -> ((Dev) o).fd).toList();
    }

    // ---- test hooks: inject faults and events, DMA, dirty tracking ------------------------------------------

    /**
     * Injects one page request from {@code device} (PASID {@code pasid}, or -1 for none): it goes to the fault
     * queue of the HWPT the device (PASID) is attached to. Records of a group share its cookie; the group becomes
     * readable with its LAST_PAGE record. Returns false when nothing could take it (no attachment, or the domain
     * has no fault queue), as the kernel then fails the fault.
     */
    public synchronized boolean injectPageFault(final ObjectId.Device device, final int pasid, final int grpid,
                                                final int perm, final long addr, final boolean lastPage) {
        calls.add(new SimCall(++seq, "inject-page-fault", Arrays.asList(device, pasid, grpid, perm, addr, lastPage), 0));
        final Dev dev = obj(device.value(), Dev.class);
        if (dev == null) return false;
        final Hwpt h = dev.attached.get(pasid < 0 ? -1 : pasid);
        if (h == null || h.fault == null) return false;
        final Fault f = h.fault;
        final String key = dev.id + "/" + pasid + "/" + grpid;
        final List<PageRequest> g = f.building.computeIfAbsent(key, k -> new ArrayList<>());
        final int cookie = g.isEmpty() ? f.nextCookie++ : g.getFirst().cookie();
        final int flags = (pasid >= 0 ? PageRequest.FLAG_PASID_VALID : 0) | (lastPage ? PageRequest.FLAG_LAST_PAGE : 0);
        g.add(new PageRequest(flags, dev.id, Math.max(pasid, 0), grpid, perm, addr & ~(PAGE - 1), 0, cookie));
        if (lastPage) {
            f.building.remove(key);
            f.ready.add(List.copyOf(g));
        }
        return true;
    }

    /**
     * Injects a vEVENT as the SMMU would report it for {@code device}: only devices with a vDEVICE get one
     * (delivered to their vIOMMU's SMMUv3 vEVENTQ), with the StreamID field (evt[0] [63:32]) rewritten to the
     * vSID. Past the queue depth the event is lost: the sequence still advances and a LOST_EVENTS marker follows.
     */
    public synchronized boolean injectEvent(final ObjectId.Device device, final long[] evt) {
        calls.add(new SimCall(++seq, "inject-vevent", Arrays.asList(device, evt.length > 0 ? evt[0] : 0L), 0));
        final Dev dev = obj(device.value(), Dev.class);
        if (dev == null || dev.vdev == null) return false;
        final Veventq q = dev.vdev.viommu.veventqs.get(VEVENTQ_TYPE_ARM_SMMUV3);
        if (q == null) return false;
        final long[] data = Arrays.copyOf(evt, 4);
        data[0] = EVT_SID.with(data[0], dev.vdev.virtId & 0xFFFF_FFFFL);
        final int s = q.sequence;
        q.sequence = s == Integer.MAX_VALUE ? 0 : s + 1;
        if (q.queue.size() >= q.depth) {
            q.lost = true;
            return false;
        }
        q.queue.add(new VEvent(q.type, s, false, data));
        return true;
    }

    /**
     * A DMA by {@code device} (PASID or -1) through what it is attached to, {@code buf.length} bytes at
     * {@code iova}: reads guest RAM into {@code buf} or writes {@code buf} to it. Paging domains and
     * bypass vSTEs translate through the IOAS; an abort vSTE blocks; guest stage-1 tables are not walked. A
     * translation or permission fault goes to the domain's fault queue as a one-page group, if it has one.
     */
    public synchronized DmaStatus dma(final ObjectId.Device device, final int pasid, final long iova, final byte[] buf,
                                      final boolean write) {
        final Dev dev = obj(device.value(), Dev.class);
        final Hwpt h = dev == null ? null : dev.attached.get(pasid < 0 ? -1 : pasid);
        if (h == null) return DmaStatus.BLOCKED;
        if (h.kind == HwptKind.NESTED) {
            if (h.viommu == null) return DmaStatus.UNSUPPORTED;
            final int cfg = steCfg(h);
            if (cfg == STE_CFG_ABORT) return DmaStatus.BLOCKED;
            if (cfg == STE_CFG_S1_TRANS) return DmaStatus.UNSUPPORTED;
        }
        final Hwpt dirtyDomain = h.kind == HwptKind.NESTED ? (h.parentHwpt != null ? h.parentHwpt : h.viommu.parent) : h;
        final DmaStatus st = copy(h.s2(), iova, buf, write, dirtyDomain);
        if (st == DmaStatus.FAULT && h.fault != null) {
            injectPageFault(device, pasid, 0, write ? AccessType.WRITE : AccessType.READ, lastFaultAddr, true);
        }
        return st;
    }

    /** A DMA straight through an IOAS (no device): for tests of the mappings themselves. */
    public synchronized DmaStatus dma(final ObjectId.Ioas ioas, final long iova, final byte[] buf, final boolean write) {
        final Ioas i = obj(ioas.value(), Ioas.class);
        return i == null ? DmaStatus.BLOCKED : copy(i, iova, buf, write, null);
    }

    private long lastFaultAddr;

    private DmaStatus copy(final Ioas ioas, final long iova, final byte[] buf, final boolean write, final Hwpt dirty) {
        final GuestMemory mem = memory.get();
        int done = 0;
        while (done < buf.length) {
            final long a = iova + done;
            final Area area = overlapping(ioas, a, a);
            final int need = write ? AccessType.WRITE : AccessType.READ;
            if (area == null || (area.prot() & need) == 0) {
                lastFaultAddr = a;
                return DmaStatus.FAULT;
            }
            final int chunk = (int) Math.min(buf.length - done, area.last() - a + 1);
            final long gpa = area.gpa() + (a - area.iova());
            try {
                if (write) mem.write(gpa, buf, done, chunk); else mem.read(gpa, buf, done, chunk);
            } catch (final GuestMemoryException e) {
                lastFaultAddr = a;
                return DmaStatus.FAULT;
            }
            if (write && dirty != null && dirty.recordsDirty()) {
                for (long p = a & ~(PAGE - 1); Long.compareUnsigned(p, a + chunk - 1) <= 0; p += PAGE) dirty.dirtyPages.add(p);
            }
            done += chunk;
        }
        return DmaStatus.OK;
    }

    /**
     * IOMMU_HWPT_SET_DIRTY_TRACKING as iommufd_hwpt_set_dirty_tracking + iopt_set_dirty_tracking: not a paging HWPT
     * (unknown, or nested) ENOENT; allocated without DIRTY_TRACKING (no dirty ops) EOPNOTSUPP. Enabling clears the
     * dirty state first (a clean snapshot); disabling keeps what was recorded, so a final read still sees it.
     */
    @Override
    public synchronized void setDirtyTracking(final ObjectId.Hwpt hwpt, final boolean enable) throws HostException {
        final int c = begin("IOMMU_HWPT_SET_DIRTY_TRACKING", hwpt, enable);
        final Hwpt h = pagingHwpt(hwpt);
        if (h == null) throw fail(c, Errno.ENOENT, "not a paging HWPT");
        if (!h.dirtyCapable) throw fail(c, Errno.EOPNOTSUPP, "allocated without DIRTY_TRACKING");
        if (enable) h.dirtyPages.clear();
        h.dirtyEnabled = enable;
    }

    private Hwpt pagingHwpt(final ObjectId.Hwpt id) {
        final Hwpt h = id == null ? null : obj(id.value(), Hwpt.class);
        return h == null || h.kind == HwptKind.NESTED ? null : h;
    }

    /**
     * IOMMU_HWPT_GET_DIRTY_BITMAP as iommufd_hwpt_get_dirty_bitmap: not a paging HWPT ENOENT; then
     * iommufd_check_iova_range: length 0 EINVAL, iova + length wrapping EOVERFLOW, iova or end not 4 KiB aligned
     * (the IOAS alignment) EINVAL, page size 0 EINVAL, iova or end not page-size aligned EINVAL; then no dirty ops
     * EOPNOTSUPP. Bit i stands for {@code [iova + i*pageSize, +pageSize)} (the shift is the page size's lowest set
     * bit, as iova_bitmap); bits are only ever set, never cleared, as the kernel does, so pass a zeroed bitmap. A
     * bitmap with fewer bits than the range needs is EFAULT (the kernel would write past the user buffer).
     * Reported pages are cleared unless {@code noClear}.
     */
    @Override
    public synchronized void getDirtyBitmap(final ObjectId.Hwpt hwpt, final long iova, final long length,
                                            final long pageSize, final long[] bitmap, final boolean noClear)
            throws HostException {
        final int c = begin("IOMMU_HWPT_GET_DIRTY_BITMAP", hwpt, iova, length, pageSize, noClear);
        final Hwpt h = pagingHwpt(hwpt);
        if (h == null) throw fail(c, Errno.ENOENT, "not a paging HWPT");
        if (length == 0) throw fail(c, Errno.EINVAL, "length 0");
        final long last = iova + length - 1;
        if (Long.compareUnsigned(last, iova) < 0) throw fail(c, Errno.EOVERFLOW, "iova + length wraps");
        if ((iova & (PAGE - 1)) != 0 || ((last + 1) & (PAGE - 1)) != 0) throw fail(c, Errno.EINVAL, "not IOAS aligned");
        if (pageSize == 0) throw fail(c, Errno.EINVAL, "page_size 0");
        if ((iova & (pageSize - 1)) != 0 || ((last + 1) & (pageSize - 1)) != 0) throw fail(c, Errno.EINVAL, "not page_size aligned");
        final int shift = Long.numberOfTrailingZeros(pageSize);
        final long bits = ((last - iova) >>> shift) + 1;
        if (bitmap == null || Long.compareUnsigned(bits, (long) bitmap.length * 64) > 0) {
            throw fail(c, Errno.EFAULT, "bitmap holds fewer than " + bits + " bits");
        }
        if (!h.dirtyCapable) throw fail(c, Errno.EOPNOTSUPP, "no dirty ops");
        final List<Long> hits = List.copyOf(h.dirtyPages.subSet(iova & ~(PAGE - 1), true, last, true));
        for (final long p : hits) {
            final long from = Long.compareUnsigned(p, iova) < 0 ? iova : p;
            final long to = Long.compareUnsigned(p + PAGE - 1, last) > 0 ? last : p + PAGE - 1;
            for (long b = (from - iova) >>> shift; b <= (to - iova) >>> shift; b++) bitmap[(int) (b >>> 6)] |= 1L << (b & 63);
            if (!noClear) h.dirtyPages.remove(p);
        }
    }

    /** The mappings of an IOAS as {iova, length, gpa, prot} tuples (for assertions). */
    public synchronized List<long[]> mappings(final ObjectId.Ioas ioas) {
        final Ioas i = obj(ioas.value(), Ioas.class);
        if (i == null) return List.of();
        return i.areas.values().stream().map(a -> new long[] {a.iova(), a.length(), a.gpa(), a.prot()}).toList();
    }

    /** The HWPT a device (PASID or -1) is attached to, or null. */
    public synchronized ObjectId.Hwpt attachedTo(final ObjectId.Device device, final int pasid) {
        final Dev d = obj(device.value(), Dev.class);
        final Hwpt h = d == null ? null : d.attached.get(pasid < 0 ? -1 : pasid);
        return h == null ? null : new ObjectId.Hwpt(h.id);
    }

    /** How many objects are alive (devices included): 0 after a clean teardown and unbind. */
    public synchronized int liveObjects() { return objects.size(); }
}
