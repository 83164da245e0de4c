package dev.viommu.backend.iommufd;

import dev.viommu.backend.iommufd.uapi.FdIo;
import dev.viommu.backend.iommufd.uapi.IommuDestroy;
import dev.viommu.backend.iommufd.uapi.IommuFaultAlloc;
import dev.viommu.backend.iommufd.uapi.IommuHwInfo;
import dev.viommu.backend.iommufd.uapi.IommuHwInfoArmSmmuv3;
import dev.viommu.backend.iommufd.uapi.IommuHwInfoVtd;
import dev.viommu.backend.iommufd.uapi.IommuHwQueueAlloc;
import dev.viommu.backend.iommufd.uapi.IommuHwptAlloc;
import dev.viommu.backend.iommufd.uapi.IommuHwptArmSmmuv3;
import dev.viommu.backend.iommufd.uapi.IommuHwptGetDirtyBitmap;
import dev.viommu.backend.iommufd.uapi.IommuHwptInvalidate;
import dev.viommu.backend.iommufd.uapi.IommuHwptSetDirtyTracking;
import dev.viommu.backend.iommufd.uapi.IommuHwptVtdS1;
import dev.viommu.backend.iommufd.uapi.IommuHwptVtdS1Invalidate;
import dev.viommu.backend.iommufd.uapi.IommuIoasAlloc;
import dev.viommu.backend.iommufd.uapi.IommuIoasAllowIovas;
import dev.viommu.backend.iommufd.uapi.IommuIoasChangeProcess;
import dev.viommu.backend.iommufd.uapi.IommuIoasCopy;
import dev.viommu.backend.iommufd.uapi.IommuIoasIovaRanges;
import dev.viommu.backend.iommufd.uapi.IommuIoasMap;
import dev.viommu.backend.iommufd.uapi.IommuIoasMapFile;
import dev.viommu.backend.iommufd.uapi.IommuIoasUnmap;
import dev.viommu.backend.iommufd.uapi.IommuIovaRange;
import dev.viommu.backend.iommufd.uapi.IommuOption;
import dev.viommu.backend.iommufd.uapi.IommuVdeviceAlloc;
import dev.viommu.backend.iommufd.uapi.IommuVeventqAlloc;
import dev.viommu.backend.iommufd.uapi.IommuViommuAlloc;
import dev.viommu.backend.iommufd.uapi.IommuViommuArmSmmuv3Invalidate;
import dev.viommu.backend.iommufd.uapi.IommufdUapi;
import dev.viommu.backend.iommufd.uapi.Ioctl;
import dev.viommu.backend.iommufd.uapi.Scratch;
import dev.viommu.core.host.HostException;
import dev.viommu.core.host.HwInfo;
import dev.viommu.core.host.HwptAlloc;
import dev.viommu.core.host.InvalidationEntry;
import dev.viommu.core.host.InvalidationResult;
import dev.viommu.core.host.IovaRange;
import dev.viommu.core.host.ObjectId;
import dev.viommu.core.posix.Errno;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import static dev.viommu.backend.iommufd.uapi.IommufdUapi.*;

/**
 * One open {@code /dev/iommu} context with a typed method per iommufd ioctl of the 7.x uAPI. Arguments are built
 * in the calling thread's {@link Scratch} (zeroed, {@code size} = the struct size of the 7.3 header), so a call
 * allocates only its result. Failures are {@link HostException}s naming the ioctl and the errno, except
 * IOMMU_HWPT_INVALIDATE, whose partial failure is a value ({@link InvalidationResult}). Thread-safe: the kernel
 * serialises per object and every call uses its own thread's memory.
 */
public final class Iommufd implements AutoCloseable {
    public static final String DEV_IOMMU = "/dev/iommu";

    /** A FAULT object and its fd (read {@code iommu_hwpt_pgfault}, write {@code iommu_hwpt_page_response}). */
    public record FaultQueue(ObjectId.FaultQueue id, int fd) {}

    /** A vEVENTQ object and its fd (read {@code iommufd_vevent_header} + payload). */
    public record Veventq(ObjectId.Veventq id, int fd) {}

    /** IOMMU_IOAS_IOVA_RANGES: the usable ranges and the minimum IOVA alignment for MAP/COPY. */
    public record IovaRanges(List<IovaRange> ranges, long alignment) {}

    /** IOMMU_GET_HW_INFO's raw answer: the type, the type-specific data, PASID width and capabilities. */
    public record RawHwInfo(int type, byte[] data, int maxPasidLog2, long capabilities) {}

    private final int fd;
    private volatile boolean closed;

    private Iommufd(final int fd) { this.fd = fd; }

    /** Opens {@code /dev/iommu}: a new, independent iommufd context. */
    public static Iommufd open() throws HostException { return open(DEV_IOMMU); }

    public static Iommufd open(final String path) throws HostException {
        return new Iommufd(FdIo.open(path, FdIo.O_RDWR));
    }

    /** Adopts an iommufd the hypervisor passed (closed by {@link #close}); see {@link #requireIommufd} first. */
    public static Iommufd adopt(final int fd) { return new Iommufd(fd); }

    /**
     * Checks that {@code fd} is an open {@code /dev/iommu} before anyone adopts it; otherwise throws, leaving the
     * descriptor open and its owner's. It must be a character device; when {@code /dev/iommu} can be stat'ed
     * here, with the same device number; when it cannot (another mount namespace passed the descriptor in), it
     * must answer IOMMU_OPTION (GET RLIMIT_MODE, object 0: a read every iommufd answers, iommufd_option_rlimit_mode),
     * which any other driver refuses, typically with ENOTTY. A memfd, an eventfd, a socket or {@code /dev/null}
     * would otherwise be taken and fail only at its first ioctl, long after the client was told "ok".
     */
    public static void requireIommufd(final int fd) throws HostException {
        final String op = "iommufd fd " + fd;
        final FdIo.Stat st = FdIo.fstat(fd);
        if (!st.isCharDevice()) {
            throw new HostException(op, Errno.ENOTTY, "not a character device (file type 0" + Integer.toOctalString(st.mode() & FdIo.S_IFMT) + ")");
        }
        FdIo.Stat dev = null;
        try {
            dev = FdIo.stat(DEV_IOMMU);
        } catch (final HostException e) {
            // no /dev/iommu in this namespace: ask the descriptor itself below
        }
        if (dev != null && dev.isCharDevice()) {
            if (dev.rdevMajor() != st.rdevMajor() || dev.rdevMinor() != st.rdevMinor()) {
                throw new HostException(op, Errno.ENOTTY, "character device " + st.rdevMajor() + ":" + st.rdevMinor()
                        + " is not " + DEV_IOMMU + " (" + dev.rdevMajor() + ":" + dev.rdevMinor() + ")");
            }
            return;
        }
        final MemorySegment a = Scratch.get().struct(IommuOption.LAYOUT);
        IommuOption.OPTION_ID.set(a, IOMMU_OPTION_RLIMIT_MODE);
        IommuOption.OP.set(a, IOMMU_OPTION_OP_GET);
        final int rc = Ioctl.invoke(fd, IOMMU_OPTION, a);
        if (rc < 0) {
            throw new HostException(op, -rc, "character device " + st.rdevMajor() + ":" + st.rdevMinor()
                    + " does not answer IOMMU_OPTION, so it is not an iommufd");
        }
    }

    public int fd() { return fd; }

    // ---- IOAS ---------------------------------------------------------------------------------------------

    /** IOMMU_IOAS_ALLOC. */
    public ObjectId.Ioas ioasAlloc() throws HostException {
        final MemorySegment a = Scratch.get().struct(IommuIoasAlloc.LAYOUT);
        Ioctl.call("IOMMU_IOAS_ALLOC", fd, IOMMU_IOAS_ALLOC, a);
        return new ObjectId.Ioas(IommuIoasAlloc.OUT_IOAS_ID.get(a));
    }

    /** IOMMU_IOAS_IOVA_RANGES; grows its buffer on EMSGSIZE (num_iovas then holds the count needed). */
    public IovaRanges iovaRanges(final ObjectId.Ioas ioas) throws HostException {
        int capacity = 16;
        for (int attempt = 0; attempt < 4; attempt++) {
            final Scratch s = Scratch.get();
            final MemorySegment arr = s.data(capacity * IommuIovaRange.LAYOUT.byteSize());
            final MemorySegment a = s.struct(IommuIoasIovaRanges.LAYOUT);
            IommuIoasIovaRanges.IOAS_ID.set(a, ioas.value());
            IommuIoasIovaRanges.NUM_IOVAS.set(a, capacity);
            IommuIoasIovaRanges.ALLOWED_IOVAS.set(a, arr.address());
            final int rc = Ioctl.invoke(fd, IOMMU_IOAS_IOVA_RANGES, a);
            final int n = IommuIoasIovaRanges.NUM_IOVAS.get(a);
            if (rc == -Errno.EMSGSIZE && n > capacity && n <= Scratch.DATA_BYTES / 16) {
                capacity = n;
                continue;
            }
            if (rc < 0) throw new HostException("IOMMU_IOAS_IOVA_RANGES", -rc);
            final List<IovaRange> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                final MemorySegment r = arr.asSlice(i * 16L, 16);
                out.add(new IovaRange(IommuIovaRange.START.get(r), IommuIovaRange.LAST.get(r)));
            }
            return new IovaRanges(List.copyOf(out), IommuIoasIovaRanges.OUT_IOVA_ALIGNMENT.get(a));
        }
        throw new HostException("IOMMU_IOAS_IOVA_RANGES", Errno.EMSGSIZE, "range count keeps growing");
    }

    /**
     * IOMMU_IOAS_IOVA_RANGES on {@code ioasId} returning the raw result or -errno, allocating nothing: the cheap
     * ioctl of the FFM-overhead benchmark (a bad id answers ENOENT from the kernel's object lookup).
     */
    public int iovaRangesRaw(final int ioasId) {
        final MemorySegment a = Scratch.get().struct(IommuIoasIovaRanges.LAYOUT);
        IommuIoasIovaRanges.IOAS_ID.set(a, ioasId);
        return Ioctl.invoke(fd, IOMMU_IOAS_IOVA_RANGES, a);
    }

    /** IOMMU_IOAS_ALLOW_IOVAS: replaces the list of ranges that must stay usable. */
    public void allowIovas(final ObjectId.Ioas ioas, final List<IovaRange> ranges) throws HostException {
        final Scratch s = Scratch.get();
        if (ranges.size() > Scratch.DATA_BYTES / 16) throw new HostException("IOMMU_IOAS_ALLOW_IOVAS", Errno.E2BIG);
        final MemorySegment arr = s.data(ranges.size() * 16L);
        for (int i = 0; i < ranges.size(); i++) {
            final MemorySegment r = arr.asSlice(i * 16L, 16);
            IommuIovaRange.START.set(r, ranges.get(i).start());
            IommuIovaRange.LAST.set(r, ranges.get(i).last());
        }
        final MemorySegment a = s.struct(IommuIoasAllowIovas.LAYOUT);
        IommuIoasAllowIovas.IOAS_ID.set(a, ioas.value());
        IommuIoasAllowIovas.NUM_IOVAS.set(a, ranges.size());
        IommuIoasAllowIovas.ALLOWED_IOVAS.set(a, arr.address());
        Ioctl.call("IOMMU_IOAS_ALLOW_IOVAS", fd, IOMMU_IOAS_ALLOW_IOVAS, a);
    }

    /**
     * IOMMU_IOAS_MAP of process memory {@code [userVa, userVa+length)}; with {@link IommufdUapi#IOMMU_IOAS_MAP_FIXED_IOVA}
     * at {@code iova}, else where the kernel chooses. Returns the IOVA.
     */
    public long map(final ObjectId.Ioas ioas, final int flags, final long userVa, final long length, final long iova)
            throws HostException {
        final MemorySegment a = Scratch.get().struct(IommuIoasMap.LAYOUT);
        IommuIoasMap.FLAGS.set(a, flags);
        IommuIoasMap.IOAS_ID.set(a, ioas.value());
        IommuIoasMap.USER_VA.set(a, userVa);
        IommuIoasMap.LENGTH.set(a, length);
        IommuIoasMap.IOVA.set(a, iova);
        Ioctl.call("IOMMU_IOAS_MAP", fd, IOMMU_IOAS_MAP, a);
        return IommuIoasMap.IOVA.get(a);
    }

    /** IOMMU_IOAS_MAP_FILE: maps {@code [start, start+length)} of a memfd (or supported dma-buf). */
    public long mapFile(final ObjectId.Ioas ioas, final int flags, final int memfd, final long start,
                        final long length, final long iova) throws HostException {
        final MemorySegment a = Scratch.get().struct(IommuIoasMapFile.LAYOUT);
        IommuIoasMapFile.FLAGS.set(a, flags);
        IommuIoasMapFile.IOAS_ID.set(a, ioas.value());
        IommuIoasMapFile.FD.set(a, memfd);
        IommuIoasMapFile.START.set(a, start);
        IommuIoasMapFile.LENGTH.set(a, length);
        IommuIoasMapFile.IOVA.set(a, iova);
        Ioctl.call("IOMMU_IOAS_MAP_FILE", fd, IOMMU_IOAS_MAP_FILE, a);
        return IommuIoasMapFile.IOVA.get(a);
    }

    /** IOMMU_IOAS_COPY: clones the mapping at {@code srcIova} (must match a MAP exactly) into {@code dst}. */
    public long copy(final ObjectId.Ioas dst, final ObjectId.Ioas src, final int flags, final long length,
                     final long dstIova, final long srcIova) throws HostException {
        final MemorySegment a = Scratch.get().struct(IommuIoasCopy.LAYOUT);
        IommuIoasCopy.FLAGS.set(a, flags);
        IommuIoasCopy.DST_IOAS_ID.set(a, dst.value());
        IommuIoasCopy.SRC_IOAS_ID.set(a, src.value());
        IommuIoasCopy.LENGTH.set(a, length);
        IommuIoasCopy.DST_IOVA.set(a, dstIova);
        IommuIoasCopy.SRC_IOVA.set(a, srcIova);
        Ioctl.call("IOMMU_IOAS_COPY", fd, IOMMU_IOAS_COPY, a);
        return IommuIoasCopy.DST_IOVA.get(a);
    }

    /** IOMMU_IOAS_UNMAP; returns the bytes unmapped. ENOENT when nothing was mapped there. */
    public long unmap(final ObjectId.Ioas ioas, final long iova, final long length) throws HostException {
        final MemorySegment a = Scratch.get().struct(IommuIoasUnmap.LAYOUT);
        IommuIoasUnmap.IOAS_ID.set(a, ioas.value());
        IommuIoasUnmap.IOVA.set(a, iova);
        IommuIoasUnmap.LENGTH.set(a, length);
        Ioctl.call("IOMMU_IOAS_UNMAP", fd, IOMMU_IOAS_UNMAP, a);
        return IommuIoasUnmap.LENGTH.get(a);
    }

    /** IOMMU_OPTION: {@code op} SET or GET of {@code option} (RLIMIT_MODE or HUGE_PAGES); returns val64. */
    public long option(final int option, final int op, final int objectId, final long value) throws HostException {
        final MemorySegment a = Scratch.get().struct(IommuOption.LAYOUT);
        IommuOption.OPTION_ID.set(a, option);
        IommuOption.OP.set(a, op);
        IommuOption.OBJECT_ID.set(a, objectId);
        IommuOption.VAL64.set(a, value);
        Ioctl.call("IOMMU_OPTION", fd, IOMMU_OPTION, a);
        return IommuOption.VAL64.get(a);
    }

    /** IOMMU_IOAS_CHANGE_PROCESS: moves pinned-page accounting to this process (MAP_FILE mappings only). */
    public void changeProcess() throws HostException {
        Ioctl.call("IOMMU_IOAS_CHANGE_PROCESS", fd, IOMMU_IOAS_CHANGE_PROCESS,
                Scratch.get().struct(IommuIoasChangeProcess.LAYOUT));
    }

    // ---- HWPT ---------------------------------------------------------------------------------------------

    /**
     * IOMMU_HWPT_ALLOC, the raw form: {@code pt} is an IOAS (paging), a nest-parent HWPT or a vIOMMU (nested);
     * {@code data} the type-specific payload (or null with {@code dataType} NONE); {@code faultId} is used when
     * {@code flags} has FAULT_ID_VALID.
     */
    public ObjectId.Hwpt hwptAlloc(final int flags, final ObjectId.Device dev, final ObjectId pt,
                                   final int dataType, final MemorySegment data, final int faultId)
            throws HostException {
        final MemorySegment a = Scratch.get().struct(IommuHwptAlloc.LAYOUT);
        IommuHwptAlloc.FLAGS.set(a, flags);
        IommuHwptAlloc.DEV_ID.set(a, dev.value());
        IommuHwptAlloc.PT_ID.set(a, pt.value());
        IommuHwptAlloc.DATA_TYPE.set(a, dataType);
        IommuHwptAlloc.DATA_LEN.set(a, data == null ? 0 : (int) data.byteSize());
        IommuHwptAlloc.DATA_UPTR.set(a, data == null ? 0 : data.address());
        IommuHwptAlloc.FAULT_ID.set(a, faultId);
        Ioctl.call("IOMMU_HWPT_ALLOC", fd, IOMMU_HWPT_ALLOC, a);
        return new ObjectId.Hwpt(IommuHwptAlloc.OUT_HWPT_ID.get(a));
    }

    /** IOMMU_HWPT_ALLOC from the typed request of the host SPI. */
    public ObjectId.Hwpt hwptAlloc(final HwptAlloc req) throws HostException {
        return switch (req) {
            case HwptAlloc.Paging p -> hwptAlloc((p.dirtyTracking() ? IOMMU_HWPT_ALLOC_DIRTY_TRACKING : 0)
                            | (p.fault() != null ? IOMMU_HWPT_FAULT_ID_VALID : 0), p.device(), p.ioas(),
                    IOMMU_HWPT_DATA_NONE, null, p.fault() != null ? p.fault().value() : 0);
            case HwptAlloc.NestParent n -> hwptAlloc(IOMMU_HWPT_ALLOC_NEST_PARENT
                    | (n.dirtyTracking() ? IOMMU_HWPT_ALLOC_DIRTY_TRACKING : 0), n.device(), n.ioas(),
                    IOMMU_HWPT_DATA_NONE, null, 0);
            case HwptAlloc.Nested n -> {
                final int flags = n.fault() != null ? IOMMU_HWPT_FAULT_ID_VALID : 0;
                final int faultId = n.fault() != null ? n.fault().value() : 0;
                yield switch (n.data()) {
                    case HwptAlloc.NestedData.VtdS1 v -> {
                        final MemorySegment d = Scratch.get().data(IommuHwptVtdS1.LAYOUT.byteSize());
                        IommuHwptVtdS1.FLAGS.set(d, v.flags());
                        IommuHwptVtdS1.PGTBL_ADDR.set(d, v.pgtblAddr());
                        IommuHwptVtdS1.ADDR_WIDTH.set(d, v.addrWidth());
                        yield hwptAlloc(flags, n.device(), n.parent(), IOMMU_HWPT_DATA_VTD_S1, d, faultId);
                    }
                    case HwptAlloc.NestedData.SmmuV3Ste s -> {
                        final MemorySegment d = Scratch.get().data(IommuHwptArmSmmuv3.LAYOUT.byteSize());
                        IommuHwptArmSmmuv3.STE.set(d, 0, s.ste0());
                        IommuHwptArmSmmuv3.STE.set(d, 1, s.ste1());
                        yield hwptAlloc(flags, n.device(), n.parent(), IOMMU_HWPT_DATA_ARM_SMMUV3, d, faultId);
                    }
                };
            }
        };
    }

    /**
     * Whether {@code dev}'s IOMMU can nest: allocates a scratch IOAS, tries IOMMU_HWPT_ALLOC with NEST_PARENT on it
     * and destroys what it made (hw info cannot tell: the kernel masks SMMUv3's S1P/S2P). EOPNOTSUPP or EINVAL from
     * the allocation mean no; any other errno is thrown.
     */
    public boolean probeNestParent(final ObjectId.Device dev) throws HostException {
        final ObjectId.Ioas scratch = ioasAlloc();
        boolean nesting = false;
        try {
            final ObjectId.Hwpt parent = hwptAlloc(IOMMU_HWPT_ALLOC_NEST_PARENT, dev, scratch, IOMMU_HWPT_DATA_NONE, null, 0);
            nesting = true;
            destroy(parent);
        } catch (final HostException e) {
            if (nesting || (e.errno() != Errno.EOPNOTSUPP && e.errno() != Errno.EINVAL)) {
                destroyAfterFailure(scratch, e);
                throw e;
            }
        }
        destroy(scratch);
        return nesting;
    }

    private void destroyAfterFailure(final ObjectId id, final HostException cause) {
        try {
            destroy(id);
        } catch (final HostException e) {
            cause.addSuppressed(e);
        }
    }

    /** IOMMU_GET_HW_INFO, raw: up to 64 bytes of type-specific data. */
    public RawHwInfo hwInfoRaw(final ObjectId.Device dev) throws HostException {
        final Scratch s = Scratch.get();
        final MemorySegment data = s.data(64);
        final MemorySegment a = s.struct(IommuHwInfo.LAYOUT);
        IommuHwInfo.DEV_ID.set(a, dev.value());
        IommuHwInfo.DATA_LEN.set(a, 64);
        IommuHwInfo.DATA_UPTR.set(a, data.address());
        Ioctl.call("IOMMU_GET_HW_INFO", fd, IOMMU_GET_HW_INFO, a);
        final int len = Math.min(64, IommuHwInfo.DATA_LEN.get(a));
        return new RawHwInfo(IommuHwInfo.OUT_DATA_TYPE.get(a), data.asSlice(0, len).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                IommuHwInfo.OUT_MAX_PASID_LOG2.get(a), IommuHwInfo.OUT_CAPABILITIES.get(a));
    }

    /** IOMMU_GET_HW_INFO decoded into the SPI's {@link HwInfo}; {@code iommu} names the physical IOMMU. */
    public HwInfo hwInfo(final ObjectId.Device dev, final String iommu) throws HostException {
        return decodeHwInfo(hwInfoRaw(dev), iommu);
    }

    static HwInfo decodeHwInfo(final RawHwInfo raw, final String iommu) {
        final MemorySegment d = Arena.ofAuto().allocate(64, 8);
        MemorySegment.copy(MemorySegment.ofArray(raw.data()), 0, d, 0, raw.data().length);
        return switch (raw.type()) {
            case IOMMU_HW_INFO_TYPE_INTEL_VTD -> new HwInfo.Vtd(iommu, raw.capabilities(), raw.maxPasidLog2(),
                    IommuHwInfoVtd.FLAGS.get(d), IommuHwInfoVtd.CAP_REG.get(d), IommuHwInfoVtd.ECAP_REG.get(d));
            case IOMMU_HW_INFO_TYPE_ARM_SMMUV3 -> {
                final int[] idr = new int[6];
                for (int i = 0; i < 6; i++) idr[i] = IommuHwInfoArmSmmuv3.IDR.get(d, i);
                yield new HwInfo.SmmuV3(iommu, raw.capabilities(), raw.maxPasidLog2(),
                        IommuHwInfoArmSmmuv3.FLAGS.get(d), idr, IommuHwInfoArmSmmuv3.IIDR.get(d),
                        IommuHwInfoArmSmmuv3.AIDR.get(d));
            }
            default -> new HwInfo.None(iommu, raw.capabilities(), raw.maxPasidLog2());
        };
    }

    /** IOMMU_HWPT_SET_DIRTY_TRACKING on a paging HWPT. */
    public void setDirtyTracking(final ObjectId.Hwpt hwpt, final boolean enable) throws HostException {
        final MemorySegment a = Scratch.get().struct(IommuHwptSetDirtyTracking.LAYOUT);
        IommuHwptSetDirtyTracking.FLAGS.set(a, enable ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0);
        IommuHwptSetDirtyTracking.HWPT_ID.set(a, hwpt.value());
        Ioctl.call("IOMMU_HWPT_SET_DIRTY_TRACKING", fd, IOMMU_HWPT_SET_DIRTY_TRACKING, a);
    }

    /**
     * IOMMU_HWPT_GET_DIRTY_BITMAP into {@code bitmap} (one bit per {@code pageSize} from {@code iova}, u64 words);
     * {@code noClear} reads without clearing (before an unmap).
     */
    public void getDirtyBitmap(final ObjectId.Hwpt hwpt, final long iova, final long length, final long pageSize,
                               final MemorySegment bitmap, final boolean noClear) throws HostException {
        // bits as iova_bitmap counts them (shift = the page size's lowest set bit); 0s are the kernel's EINVAL
        if (pageSize != 0 && length != 0) {
            final long bits = ((length - 1) >>> Long.numberOfTrailingZeros(pageSize)) + 1;
            if (Long.compareUnsigned(bits, bitmap.byteSize() * 8) > 0) {
                throw new IllegalArgumentException("bitmap too small for " + bits + " pages");
            }
        }
        final MemorySegment a = Scratch.get().struct(IommuHwptGetDirtyBitmap.LAYOUT);
        IommuHwptGetDirtyBitmap.HWPT_ID.set(a, hwpt.value());
        IommuHwptGetDirtyBitmap.FLAGS.set(a, noClear ? IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR : 0);
        IommuHwptGetDirtyBitmap.IOVA.set(a, iova);
        IommuHwptGetDirtyBitmap.LENGTH.set(a, length);
        IommuHwptGetDirtyBitmap.PAGE_SIZE.set(a, pageSize);
        IommuHwptGetDirtyBitmap.DATA.set(a, bitmap.address());
        Ioctl.call("IOMMU_HWPT_GET_DIRTY_BITMAP", fd, IOMMU_HWPT_GET_DIRTY_BITMAP, a);
    }

    /**
     * IOMMU_HWPT_INVALIDATE, raw: {@code n} entries of {@code entryLen} bytes at {@code entries} on a nested HWPT
     * or a vIOMMU. Never throws for the ioctl's failure: entry_num is written back even on error, so the result is
     * (entries processed, errno).
     */
    public InvalidationResult invalidate(final ObjectId target, final int dataType, final int entryLen,
                                         final MemorySegment entries, final int n) {
        final MemorySegment a = Scratch.get().struct(IommuHwptInvalidate.LAYOUT);
        IommuHwptInvalidate.HWPT_ID.set(a, target.value());
        IommuHwptInvalidate.DATA_UPTR.set(a, entries == null ? 0 : entries.address());
        IommuHwptInvalidate.DATA_TYPE.set(a, dataType);
        IommuHwptInvalidate.ENTRY_LEN.set(a, entryLen);
        IommuHwptInvalidate.ENTRY_NUM.set(a, n);
        final int rc = Ioctl.invoke(fd, IOMMU_HWPT_INVALIDATE, a);
        return new InvalidationResult(IommuHwptInvalidate.ENTRY_NUM.get(a), rc < 0 ? -rc : 0);
    }

    /**
     * IOMMU_HWPT_INVALIDATE of typed entries (all of one type: VT-d S1 on a nested HWPT, SMMUv3 commands on a
     * vIOMMU). Encoded into the thread's scratch; a batch larger than it goes through a confined arena.
     */
    public InvalidationResult invalidate(final ObjectId target, final List<? extends InvalidationEntry> entries)
            throws HostException {
        if (entries.isEmpty()) return new InvalidationResult(0, 0);
        final boolean vtd = entries.getFirst() instanceof InvalidationEntry.VtdS1;
        final int len = (int) (vtd ? IommuHwptVtdS1Invalidate.LAYOUT.byteSize() : IommuViommuArmSmmuv3Invalidate.LAYOUT.byteSize());
        final long bytes = (long) len * entries.size();
        Arena arena = null;
        try {
            final MemorySegment buf;
            if (bytes <= Scratch.DATA_BYTES) {
                buf = Scratch.get().data(bytes);
            } else {
                arena = Arena.ofConfined();
                buf = arena.allocate(bytes, 8);
            }
            for (int i = 0; i < entries.size(); i++) {
                final MemorySegment e = buf.asSlice((long) i * len, len);
                switch (entries.get(i)) {
                    case InvalidationEntry.VtdS1 v when vtd -> {
                        IommuHwptVtdS1Invalidate.ADDR.set(e, v.addr());
                        IommuHwptVtdS1Invalidate.NPAGES.set(e, v.npages());
                        IommuHwptVtdS1Invalidate.FLAGS.set(e, v.flags());
                    }
                    case InvalidationEntry.SmmuV3Cmd c when !vtd -> {
                        IommuViommuArmSmmuv3Invalidate.CMD.set(e, 0, c.cmd0());
                        IommuViommuArmSmmuv3Invalidate.CMD.set(e, 1, c.cmd1());
                    }
                    default -> throw new HostException("IOMMU_HWPT_INVALIDATE", Errno.EINVAL,
                            "mixed invalidation entry types in one batch");
                }
            }
            return invalidate(target, vtd ? IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 : IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
                    len, buf, entries.size());
        } finally {
            if (arena != null) arena.close();
        }
    }

    // ---- faults, vIOMMU, vDEVICE, vEVENTQ, HW queue ---------------------------------------------------------

    /** IOMMU_FAULT_QUEUE_ALLOC. The caller owns the fd (close it before destroying the object). */
    public FaultQueue faultQueueAlloc() throws HostException {
        final MemorySegment a = Scratch.get().struct(IommuFaultAlloc.LAYOUT);
        Ioctl.call("IOMMU_FAULT_QUEUE_ALLOC", fd, IOMMU_FAULT_QUEUE_ALLOC, a);
        return new FaultQueue(new ObjectId.FaultQueue(IommuFaultAlloc.OUT_FAULT_ID.get(a)),
                IommuFaultAlloc.OUT_FAULT_FD.get(a));
    }

    /** IOMMU_VIOMMU_ALLOC over a nest-parent HWPT; {@code data} is the optional driver data (in/out). */
    public ObjectId.Viommu viommuAlloc(final int type, final ObjectId.Device dev, final ObjectId.Hwpt parent,
                                       final MemorySegment data) throws HostException {
        final MemorySegment a = Scratch.get().struct(IommuViommuAlloc.LAYOUT);
        IommuViommuAlloc.TYPE.set(a, type);
        IommuViommuAlloc.DEV_ID.set(a, dev.value());
        IommuViommuAlloc.HWPT_ID.set(a, parent.value());
        IommuViommuAlloc.DATA_LEN.set(a, data == null ? 0 : (int) data.byteSize());
        IommuViommuAlloc.DATA_UPTR.set(a, data == null ? 0 : data.address());
        Ioctl.call("IOMMU_VIOMMU_ALLOC", fd, IOMMU_VIOMMU_ALLOC, a);
        return new ObjectId.Viommu(IommuViommuAlloc.OUT_VIOMMU_ID.get(a));
    }

    /** IOMMU_VDEVICE_ALLOC: the device's virtual ID on the vIOMMU (vSID, vRID, vDeviceID). */
    public ObjectId.Vdevice vdeviceAlloc(final ObjectId.Viommu viommu, final ObjectId.Device dev, final long virtId)
            throws HostException {
        final MemorySegment a = Scratch.get().struct(IommuVdeviceAlloc.LAYOUT);
        IommuVdeviceAlloc.VIOMMU_ID.set(a, viommu.value());
        IommuVdeviceAlloc.DEV_ID.set(a, dev.value());
        IommuVdeviceAlloc.VIRT_ID.set(a, virtId);
        Ioctl.call("IOMMU_VDEVICE_ALLOC", fd, IOMMU_VDEVICE_ALLOC, a);
        return new ObjectId.Vdevice(IommuVdeviceAlloc.OUT_VDEVICE_ID.get(a));
    }

    /** IOMMU_VEVENTQ_ALLOC; one per (vIOMMU, type), EEXIST for a second. The caller owns the fd. */
    public Veventq veventqAlloc(final ObjectId.Viommu viommu, final int type, final int depth) throws HostException {
        final MemorySegment a = Scratch.get().struct(IommuVeventqAlloc.LAYOUT);
        IommuVeventqAlloc.VIOMMU_ID.set(a, viommu.value());
        IommuVeventqAlloc.TYPE.set(a, type);
        IommuVeventqAlloc.VEVENTQ_DEPTH.set(a, depth);
        Ioctl.call("IOMMU_VEVENTQ_ALLOC", fd, IOMMU_VEVENTQ_ALLOC, a);
        return new Veventq(new ObjectId.Veventq(IommuVeventqAlloc.OUT_VEVENTQ_ID.get(a)),
                IommuVeventqAlloc.OUT_VEVENTQ_FD.get(a));
    }

    /** IOMMU_HW_QUEUE_ALLOC (Tegra241 VCMDQ; selftest type on the mock); returns the object ID. */
    public int hwQueueAlloc(final ObjectId.Viommu viommu, final int type, final int index, final long parentIova,
                            final long length) throws HostException {
        final MemorySegment a = Scratch.get().struct(IommuHwQueueAlloc.LAYOUT);
        IommuHwQueueAlloc.VIOMMU_ID.set(a, viommu.value());
        IommuHwQueueAlloc.TYPE.set(a, type);
        IommuHwQueueAlloc.INDEX.set(a, index);
        IommuHwQueueAlloc.NESTING_PARENT_IOVA.set(a, parentIova);
        IommuHwQueueAlloc.LENGTH.set(a, length);
        Ioctl.call("IOMMU_HW_QUEUE_ALLOC", fd, IOMMU_HW_QUEUE_ALLOC, a);
        return IommuHwQueueAlloc.OUT_HW_QUEUE_ID.get(a);
    }

    /** IOMMU_DESTROY of any object; EBUSY while referenced, ENOENT when unknown. */
    public void destroy(final ObjectId id) throws HostException { destroy(id.value()); }

    public void destroy(final int id) throws HostException {
        final MemorySegment a = Scratch.get().struct(IommuDestroy.LAYOUT);
        IommuDestroy.ID.set(a, id);
        Ioctl.call("IOMMU_DESTROY", fd, IOMMU_DESTROY, a);
    }

    /** Any ioctl on this iommufd with a caller-built argument (IOMMU_TEST_CMD for the mock IOMMU); rc or -errno. */
    public int ioctl(final long request, final MemorySegment arg) { return Ioctl.invoke(fd, request, arg); }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        FdIo.close(fd);
    }
}
