package dev.viommu.backend.iommufd;

import dev.viommu.backend.iommufd.uapi.FdIo;
import dev.viommu.backend.iommufd.uapi.Scratch;
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
import dev.viommu.core.mem.GuestRegion;
import dev.viommu.core.posix.Errno;
import dev.viommu.core.translate.AccessType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Supplier;

import static dev.viommu.backend.iommufd.uapi.IommufdUapi.*;

/**
 * The real host backend: one iommufd context plus the VFIO cdevs bound to it. Guest RAM is mapped by resolving
 * each guest-physical range to the sidecar's own shared mapping of it (IOMMU_IOAS_MAP, FIXED_IOVA). It remembers
 * every object it created so {@link #close} can tear down leaves first (iommufd-uapi.md §4.0): event fds closed,
 * then objects destroyed newest first (children are always newer than their parents), devices detached on the
 * way, then the device fds and the iommufd closed.
 */
public final class IommufdBackend implements HostBackend {
    private static final Logger LOG = LoggerFactory.getLogger(IommufdBackend.class);
    /** vEVENT payload bytes by vEVENTQ type (iommu_vevent_arm_smmuv3 32, tegra241 16; selftest 4). */
    private static final int SELFTEST_VEVENTQ_TYPE = 0xbeefbeef;

    private final Iommufd iommufd;
    private final Supplier<GuestMemory> memory;
    private final Map<Integer, VfioDevice> devices = new ConcurrentHashMap<>();
    private final Map<Integer, String> deviceIommu = new ConcurrentHashMap<>();
    /** Live objects by ID, in creation order. */
    private final LinkedHashMap<Integer, ObjectId> objects = new LinkedHashMap<>();
    private final Map<Integer, Integer> faultFds = new ConcurrentHashMap<>();
    private final Map<Integer, int[]> veventqs = new ConcurrentHashMap<>();  // id -> {fd, type, lastSeq}
    /** Nesting probe results by device ID (a device's IOMMU does not change while it is bound). */
    private final Map<Integer, Boolean> nestingProbed = new ConcurrentHashMap<>();
    private volatile boolean closed;

    public IommufdBackend(final Iommufd iommufd, final Supplier<GuestMemory> memory) {
        this.iommufd = iommufd;
        this.memory = memory;
    }

    /** Opens {@code /dev/iommu} (or the configured path). */
    public static IommufdBackend open(final String path, final Supplier<GuestMemory> memory) throws HostException {
        return new IommufdBackend(Iommufd.open(path), memory);
    }

    public Iommufd iommufd() { return iommufd; }

    @Override public String kind() { return "iommufd"; }

    private synchronized void track(final ObjectId id) { objects.put(id.value(), id); }

    private synchronized void untrack(final ObjectId id) { objects.remove(id.value()); }

    /**
     * Binds the cdev at {@code ref.path()}, or the one {@code ref.fd()} is open on. A lent descriptor is never
     * adopted: the device gets a duplicate of its own (closed at unbind, or at close), so the lender closes its
     * descriptor whenever it is done with the endpoint, and a failed bind closes only the duplicate (Endpoint's
     * ownership rule). The kernel unbinds when the last descriptor of the open file goes.
     */
    @Override
    public ObjectId.Device bindDevice(final HostDeviceRef ref) throws HostException {
        final VfioDevice dev = ref.fd() >= 0 ? VfioDevice.adopt(FdIo.dupCloexec(ref.fd()), ref.path()) : VfioDevice.open(ref.path());
        try {
            final ObjectId.Device id = dev.bind(iommufd);
            devices.put(id.value(), dev);
            deviceIommu.put(id.value(), dev.iommuName());
            return id;
        } catch (final HostException e) {
            dev.close();
            throw e;
        }
    }

    private VfioDevice device(final ObjectId.Device d, final String op) throws HostException {
        final VfioDevice dev = devices.get(d.value());
        if (dev == null) throw new HostException(op, Errno.ENOENT, "device " + d.value() + " not bound here");
        return dev;
    }

    /** The VFIO device behind a bound ID (region access, info). */
    public VfioDevice vfio(final ObjectId.Device d) throws HostException { return device(d, "vfio"); }

    @Override
    public void unbindDevice(final ObjectId.Device d) throws HostException {
        final VfioDevice dev = devices.remove(d.value());
        if (dev == null) throw new HostException("unbind", Errno.ENOENT);
        deviceIommu.remove(d.value());
        nestingProbed.remove(d.value());
        dev.close();
    }

    @Override
    public HwInfo hwInfo(final ObjectId.Device d) throws HostException {
        device(d, "IOMMU_GET_HW_INFO");
        return iommufd.hwInfo(d, deviceIommu.getOrDefault(d.value(), "unknown"));
    }

    /**
     * Hw info decoded, with nesting <em>probed</em>: a real kernel masks SMMUv3's IDR0.S1P/S2P from userspace, and
     * other hw-info types say nothing about nesting, so the only reliable test is to try it. The probe allocates a
     * scratch IOAS, asks for a NEST_PARENT HWPT on it for this device, and destroys both (four ioctls, once per
     * bound device, cached). Success means nesting; EOPNOTSUPP or EINVAL from the allocation means none; any other
     * failure (ENOMEM, ...) is thrown. On VT-d the probe agrees with ECAP.NEST (intel_iommu_domain_alloc_paging_flags
     * refuses NEST_PARENT without nested_supported()), so a VT-d answer costs the probe too, but is never guessed.
     */
    @Override
    public HostCapabilities capabilities(final ObjectId.Device d) throws HostException {
        final HostCapabilities decoded = HwInfoDecoder.decode(hwInfo(d));
        Boolean nesting = nestingProbed.get(d.value());
        if (nesting == null) {
            nesting = iommufd.probeNestParent(d);
            nestingProbed.put(d.value(), nesting);
        }
        return decoded.withNesting(nesting);
    }

    @Override
    public ObjectId.Ioas allocIoas() throws HostException {
        final ObjectId.Ioas id = iommufd.ioasAlloc();
        track(id);
        return id;
    }

    @Override
    public void allowIovas(final ObjectId.Ioas ioas, final List<IovaRange> allowed) throws HostException {
        iommufd.allowIovas(ioas, allowed);
    }

    @Override
    public List<IovaRange> iovaRanges(final ObjectId.Ioas ioas) throws HostException {
        return iommufd.iovaRanges(ioas).ranges();
    }

    /**
     * Maps guest RAM {@code [gpa, gpa+length)} at {@code iova}, one IOAS_MAP per guest RAM region it spans. A
     * read-only region never gets WRITEABLE. A hole in guest RAM is EFAULT (as the kernel answers a bad user VA).
     */
    @Override
    public void map(final ObjectId.Ioas ioas, final long iova, final long gpa, final long length, final int prot)
            throws HostException {
        if (length <= 0 || Long.compareUnsigned(gpa + length - 1, gpa) < 0) throw new HostException("IOMMU_IOAS_MAP", Errno.EINVAL);
        final GuestMemory mem = memory.get();
        long done = 0;
        while (done < length) {
            final long g = gpa + done;
            final GuestRegion r = mem.regionAt(g);
            if (r == null) {
                if (done > 0) unmapQuietly(ioas, iova, done);
                throw new HostException("IOMMU_IOAS_MAP", Errno.EFAULT, "gpa 0x" + Long.toHexString(g) + " is not guest RAM");
            }
            final long chunk = Math.min(length - done, r.last() - g + 1);
            final MemorySegment host = r.segment().asSlice(g - r.base(), chunk);
            int flags = IOMMU_IOAS_MAP_FIXED_IOVA;
            if ((prot & AccessType.READ) != 0) flags |= IOMMU_IOAS_MAP_READABLE;
            if ((prot & AccessType.WRITE) != 0 && !r.readOnly()) flags |= IOMMU_IOAS_MAP_WRITEABLE;
            try {
                iommufd.map(ioas, flags, host.address(), chunk, iova + done);
            } catch (final HostException e) {
                if (done > 0) unmapQuietly(ioas, iova, done);
                throw e;
            }
            done += chunk;
        }
    }

    private void unmapQuietly(final ObjectId.Ioas ioas, final long iova, final long len) {
        try {
            iommufd.unmap(ioas, iova, len);
        } catch (final HostException e) {
            LOG.warn("undoing a partial map failed: {}", e.getMessage());
        }
    }

    @Override
    public long unmap(final ObjectId.Ioas ioas, final long iova, final long length) throws HostException {
        return iommufd.unmap(ioas, iova, length);
    }

    @Override
    public ObjectId.Hwpt allocHwpt(final HwptAlloc request) throws HostException {
        device(request.device(), "IOMMU_HWPT_ALLOC");
        final ObjectId.Hwpt id = iommufd.hwptAlloc(request);
        track(id);
        return id;
    }

    @Override
    public void setDirtyTracking(final ObjectId.Hwpt hwpt, final boolean enable) throws HostException {
        iommufd.setDirtyTracking(hwpt, enable);
    }

    /**
     * IOMMU_HWPT_GET_DIRTY_BITMAP through a native copy of {@code bitmap}: the words are copied in (the kernel only
     * sets bits, so what the caller had stays set), the kernel sets the dirty ones, and they are copied back. A
     * bitmap shorter than the range needs is EFAULT before any call. Bitmaps up to 256 Ki pages use the thread's
     * scratch memory; bigger ones a confined arena for the call.
     */
    @Override
    public void getDirtyBitmap(final ObjectId.Hwpt hwpt, final long iova, final long length, final long pageSize,
                               final long[] bitmap, final boolean noClear) throws HostException {
        if (pageSize != 0 && length != 0) {
            final long bits = ((length - 1) >>> Long.numberOfTrailingZeros(pageSize)) + 1;
            if (Long.compareUnsigned(bits, (long) bitmap.length * 64) > 0) {
                throw new HostException("IOMMU_HWPT_GET_DIRTY_BITMAP", Errno.EFAULT, "bitmap holds fewer than " + bits + " bits");
            }
        }
        final long bytes = Math.max(8L, (long) bitmap.length * 8);
        Arena arena = null;
        try {
            final MemorySegment words;
            if (bytes <= Scratch.DATA_BYTES) {
                words = Scratch.get().dataRaw(bytes);
            } else {
                arena = Arena.ofConfined();
                words = arena.allocate(bytes, 8);
            }
            MemorySegment.copy(bitmap, 0, words, ValueLayout.JAVA_LONG, 0, bitmap.length);
            iommufd.getDirtyBitmap(hwpt, iova, length, pageSize, words, noClear);
            MemorySegment.copy(words, ValueLayout.JAVA_LONG, 0, bitmap, 0, bitmap.length);
        } finally {
            if (arena != null) arena.close();
        }
    }

    @Override
    public ObjectId.Hwpt attach(final ObjectId.Device d, final int pasid, final ObjectId pt) throws HostException {
        return device(d, "VFIO_DEVICE_ATTACH_IOMMUFD_PT").attach(pt, pasid);
    }

    @Override
    public void detach(final ObjectId.Device d, final int pasid) throws HostException {
        device(d, "VFIO_DEVICE_DETACH_IOMMUFD_PT").detach(pasid);
    }

    @Override
    public ObjectId.Viommu allocViommu(final ObjectId.Device d, final int type, final ObjectId.Hwpt parent)
            throws HostException {
        return allocViommu(d, type, parent, null);
    }

    /**
     * IOMMU_VIOMMU_ALLOC with driver data: {@code driverData} is passed as data_uptr/data_len and, because drivers
     * write their out fields into it (Tegra241 CMDQV's mmap offset and length, the selftest's loopback), copied
     * back into the array after a successful call. Null or empty means no data.
     */
    @Override
    public ObjectId.Viommu allocViommu(final ObjectId.Device d, final int type, final ObjectId.Hwpt parent,
                                       final byte[] driverData) throws HostException {
        final ObjectId.Viommu id;
        if (driverData == null || driverData.length == 0) {
            id = iommufd.viommuAlloc(type, d, parent, null);
        } else {
            try (Arena arena = Arena.ofConfined()) {
                final MemorySegment data = arena.allocate(driverData.length, 8);
                MemorySegment.copy(driverData, 0, data, ValueLayout.JAVA_BYTE, 0, driverData.length);
                id = iommufd.viommuAlloc(type, d, parent, data);
                MemorySegment.copy(data, ValueLayout.JAVA_BYTE, 0, driverData, 0, driverData.length);
            }
        }
        track(id);
        return id;
    }

    @Override
    public ObjectId.Vdevice allocVdevice(final ObjectId.Viommu viommu, final ObjectId.Device d, final long virtualId)
            throws HostException {
        final ObjectId.Vdevice id = iommufd.vdeviceAlloc(viommu, d, virtualId);
        track(id);
        return id;
    }

    @Override
    public InvalidationResult invalidate(final ObjectId target, final List<? extends InvalidationEntry> entries)
            throws HostException {
        return iommufd.invalidate(target, entries);
    }

    @Override
    public ObjectId.FaultQueue allocFaultQueue() throws HostException {
        final Iommufd.FaultQueue q = iommufd.faultQueueAlloc();
        faultFds.put(q.id().value(), q.fd());
        track(q.id());
        return q.id();
    }

    private int faultFd(final ObjectId.FaultQueue q, final String op) throws HostException {
        final Integer fd = faultFds.get(q.value());
        if (fd == null) throw new HostException(op, Errno.ENOENT, "fault queue " + q.value());
        return fd;
    }

    @Override
    public int readPageRequests(final ObjectId.FaultQueue queue, final int max, final Consumer<PageRequest> sink)
            throws HostException {
        return EventFds.readPageRequests(faultFd(queue, "read(fault fd)"), max, sink);
    }

    @Override
    public void respond(final ObjectId.FaultQueue queue, final PageResponse response) throws HostException {
        EventFds.respond(faultFd(queue, "write(fault fd)"), response.cookie(), response.code());
    }

    @Override
    public ObjectId.Veventq allocVeventq(final ObjectId.Viommu viommu, final int type, final int depth)
            throws HostException {
        final Iommufd.Veventq q = iommufd.veventqAlloc(viommu, type, depth);
        veventqs.put(q.id().value(), new int[] {q.fd(), type, -1});
        track(q.id());
        return q.id();
    }

    /** Payload bytes of one vEVENT of {@code type}. */
    static int veventPayloadBytes(final int type) {
        return switch (type) {
            case IOMMU_VEVENTQ_TYPE_ARM_SMMUV3 -> 32;
            case IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV -> 16;
            case SELFTEST_VEVENTQ_TYPE -> 4;
            default -> 0;
        };
    }

    @Override
    public int readEvents(final ObjectId.Veventq queue, final int max, final Consumer<VEvent> sink)
            throws HostException {
        final int[] q = veventqs.get(queue.value());
        if (q == null) throw new HostException("read(vEVENTQ fd)", Errno.ENOENT, "vEVENTQ " + queue.value());
        final int[] last = {q[2]};
        final int n = EventFds.readEvents(q[0], q[1], veventPayloadBytes(q[1]), max, sink, last);
        q[2] = last[0];
        return n;
    }

    @Override
    public void destroy(final ObjectId id) throws HostException {
        // an event queue's fd holds a reference: close it first, as the kernel requires
        final Integer ffd = id instanceof ObjectId.FaultQueue ? faultFds.remove(id.value()) : null;
        if (ffd != null) FdIo.close(ffd);
        final int[] vq = id instanceof ObjectId.Veventq ? veventqs.remove(id.value()) : null;
        if (vq != null) FdIo.close(vq[0]);
        iommufd.destroy(id);
        untrack(id);
    }

    /** Leaves-first teardown; never throws. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        faultFds.values().forEach(FdIo::close);
        faultFds.clear();
        veventqs.values().forEach(q -> FdIo.close(q[0]));
        veventqs.clear();
        final List<ObjectId> order;
        synchronized (this) {
            order = new ArrayList<>(objects.values());
            objects.clear();
        }
        // vDEVICEs and vEVENTQs first, then detach every device, then the rest newest first
        for (int i = order.size() - 1; i >= 0; i--) {
            final ObjectId id = order.get(i);
            if (id instanceof ObjectId.Vdevice || id instanceof ObjectId.Veventq) destroyQuietly(id);
        }
        for (final VfioDevice dev : devices.values()) {
            try {
                dev.detach(-1);
            } catch (final HostException e) {
                LOG.debug("detach {} at close: {}", dev.path(), e.getMessage());
            }
        }
        for (int i = order.size() - 1; i >= 0; i--) {
            final ObjectId id = order.get(i);
            if (!(id instanceof ObjectId.Vdevice) && !(id instanceof ObjectId.Veventq)) destroyQuietly(id);
        }
        devices.values().forEach(VfioDevice::close);
        devices.clear();
        iommufd.close();
    }

    private void destroyQuietly(final ObjectId id) {
        try {
            iommufd.destroy(id);
        } catch (final HostException e) {
            LOG.warn("destroy {} at close: {}", id, e.getMessage());
        }
    }
}
