package dev.viommu.backend.iommufd.rig;

import dev.viommu.core.posix.Posix;

import dev.viommu.backend.iommufd.uapi.FdIo;

import dev.viommu.backend.iommufd.EventFds;
import dev.viommu.backend.iommufd.Iommufd;
import dev.viommu.backend.iommufd.IommufdBackend;
import dev.viommu.backend.iommufd.VfioDevice;
import dev.viommu.backend.iommufd.uapi.IommuTestCmd;
import dev.viommu.backend.iommufd.uapi.IommufdUapi;
import dev.viommu.backend.iommufd.uapi.Scratch;
import dev.viommu.backend.iommufd.uapi.VfioUapi;
import dev.viommu.core.host.HostCapabilities;
import dev.viommu.core.host.HostDeviceRef;
import dev.viommu.core.host.HostException;
import dev.viommu.core.host.HwInfo;
import dev.viommu.core.host.HwInfoDecoder;
import dev.viommu.core.host.HwptAlloc;
import dev.viommu.core.host.InvalidationResult;
import dev.viommu.core.host.IovaRange;
import dev.viommu.core.host.ObjectId;
import dev.viommu.core.host.PageRequest;
import dev.viommu.core.host.VEvent;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.posix.Errno;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs inside the rig's guest (tools/rig/run-vm.sh, host JDK over 9p) against the real Linux 7.3 iommufd: QEMU's
 * VT-d with the edu device on /dev/vfio/devices/vfio0, and the kernel's mock IOMMU (CONFIG_IOMMUFD_TEST). Prints
 * {@code CHECK <name> OK|FAIL <detail>} per step, {@code SKIP <name> <why>}, and {@code RESULT PASS|FAIL}.
 */
public final class InGuestChecks {
    static int failures;

    static void check(final String name, final boolean ok, final String detail) {
        System.out.println("CHECK " + name + " " + (ok ? "OK" : "FAIL") + " " + detail);
        if (!ok) failures++;
    }

    static int errnoOf(final ThrowingRunnable r) {
        try {
            r.run();
            return 0;
        } catch (final HostException e) {
            return e.errno();
        }
    }

    interface ThrowingRunnable { void run() throws HostException; }

    // edu (QEMU docs/specs/edu.rst)
    static final int EDU_DMA_SRC = 0x80, EDU_DMA_DST = 0x88, EDU_DMA_CNT = 0x90, EDU_DMA_CMD = 0x98;
    static final int EDU_DMA_RUN = 1, EDU_DMA_TO_RAM = 2;
    static final long EDU_BUF = 0x40000;

    static boolean eduDma(final VfioDevice dev, final long bar, final long src, final long dst, final boolean toRam)
            throws Exception {
        dev.write(bar + EDU_DMA_SRC, 8, src);
        dev.write(bar + EDU_DMA_DST, 8, dst);
        dev.write(bar + EDU_DMA_CNT, 8, 4096);
        dev.write(bar + EDU_DMA_CMD, 8, EDU_DMA_RUN | (toRam ? EDU_DMA_TO_RAM : 0));
        final long deadline = System.nanoTime() + 5_000_000_000L;
        while ((dev.read(bar + EDU_DMA_CMD, 8) & EDU_DMA_RUN) != 0) {
            if (System.nanoTime() > deadline) return false;
            Thread.sleep(5);
        }
        return true;
    }

    public static void main(final String[] args) throws Exception {
        try (Iommufd fd = Iommufd.open(); Arena arena = Arena.ofConfined()) {
            realVtd(fd, arena);
        } catch (final HostException e) {
            check("real-vtd", false, e.getMessage());
        }
        try {
            spi();
        } catch (final HostException e) {
            check("spi", false, e.getMessage());
        }
        try (Iommufd fd = Iommufd.open(); Arena arena = Arena.ofConfined()) {
            mock(fd, arena);
        } catch (final HostException e) {
            check("mock", false, e.getMessage());
        }
        try (Iommufd fd = Iommufd.open(); Arena arena = Arena.ofConfined()) {
            mockDirty(fd, arena);
        } catch (final HostException e) {
            check("mock-dirty", false, e.getMessage());
        }
        try {
            descriptorCheck();
        } catch (final HostException e) {
            check("iommufd-descriptor-check", false, e.getMessage());
        }
        System.out.println("RESULT " + (failures == 0 ? "PASS" : "FAIL") + " failures=" + failures);
        System.exit(failures == 0 ? 0 : 1);
    }

    /**
     * object-add iommufd's check on a lent descriptor (Iommufd.requireIommufd): a real /dev/iommu passes, by its
     * device numbers and by IOMMU_OPTION; another character device (/dev/null) does not.
     */
    static void descriptorCheck() throws Exception {
        final int iommu = FdIo.open(Iommufd.DEV_IOMMU, FdIo.O_RDWR);
        try {
            Iommufd.requireIommufd(iommu);
            check("iommufd-descriptor-accepted", true, Iommufd.DEV_IOMMU);
        } finally {
            Posix.close(iommu);
        }
        final int nul = FdIo.open("/dev/null", FdIo.O_RDWR);
        try {
            Iommufd.requireIommufd(nul);
            check("iommufd-descriptor-dev-null-refused", false, "accepted /dev/null");
        } catch (final HostException e) {
            check("iommufd-descriptor-dev-null-refused", true, e.getMessage());
        } finally {
            Posix.close(nul);
        }
    }

    static void realVtd(final Iommufd fd, final Arena arena) throws Exception {
        final ObjectId.Ioas ioas = fd.ioasAlloc();
        check("ioas-alloc", ioas.value() > 0, "ioas=" + ioas.value());
        try (VfioDevice dev = VfioDevice.open("/dev/vfio/devices/vfio0")) {
            final ObjectId.Device id = dev.bind(fd);
            check("bind", id.value() > 0, "dev_id=" + id.value() + " iommu=" + dev.iommuName());
            final HwInfo info = fd.hwInfo(id, dev.iommuName());
            final boolean vtd = info instanceof HwInfo.Vtd;
            check("get-hw-info", vtd, String.valueOf(info.getClass().getSimpleName()));
            if (info instanceof HwInfo.Vtd v) {
                final HostCapabilities caps = HwInfoDecoder.decode(v);
                check("vtd-decode", HwInfoDecoder.VtdEcap.SMTS.isSet(v.ecapReg()) && !caps.nesting(),
                        String.format("cap=0x%x ecap=0x%x %s caps=%s", v.capReg(), v.ecapReg(),
                                HwInfoDecoder.describeVtd(v.capReg(), v.ecapReg()), caps));
            }
            final int npErrno = errnoOf(() -> fd.hwptAlloc(new HwptAlloc.NestParent(id, ioas, false)));
            check("nest-parent-eopnotsupp", npErrno == Errno.EOPNOTSUPP, Errno.name(npErrno));
            final int vErrno = errnoOf(() -> fd.viommuAlloc(1, id, new ObjectId.Hwpt(0), null));
            check("viommu-refused", vErrno != 0, Errno.name(vErrno));
            final ObjectId.Hwpt paging = fd.hwptAlloc(new HwptAlloc.Paging(id, ioas, false, null));
            // with no nest parent possible, the core rejects the parent before the driver (hw_pagetable.c): EINVAL
            final int nestedErrno = errnoOf(() -> fd.hwptAlloc(new HwptAlloc.Nested(id, paging,
                    new HwptAlloc.NestedData.VtdS1(0, 0x1000, 48), null)));
            check("nested-refused", nestedErrno == Errno.EINVAL, Errno.name(nestedErrno));
            fd.destroy(paging);
            final int dirtyErrno = errnoOf(() -> fd.hwptAlloc(new HwptAlloc.Paging(id, ioas, true, null)));
            check("dirty-tracking-eopnotsupp", dirtyErrno == Errno.EOPNOTSUPP, Errno.name(dirtyErrno) + " (QEMU's VT-d has no SSADS)");
            // an allowed range that the device's IOMMU would reserve (the MSI window) makes the attach fail
            final ObjectId.Ioas guarded = fd.ioasAlloc();
            fd.allowIovas(guarded, List.of(new IovaRange(0xFEE0_0000L, 0xFEEF_FFFFL)));
            final int guardedErrno = errnoOf(() -> dev.attach(guarded, -1));
            check("allow-iovas-attach-eaddrinuse", guardedErrno == Errno.EADDRINUSE, Errno.name(guardedErrno));
            fd.destroy(guarded);
            final ObjectId.Hwpt hwpt = dev.attach(ioas, -1);
            check("attach", hwpt.value() > 0, "hwpt=" + hwpt.value() + " ranges=" + fd.iovaRanges(ioas).ranges());
            fd.allowIovas(ioas, List.of(new IovaRange(0x100000, 0x7FFF_FFFFL)));
            final int overMsi = errnoOf(() -> fd.allowIovas(ioas, List.of(new IovaRange(0xFED0_0000L, 0xFEFF_FFFFL))));
            final int empty = errnoOf(() -> fd.allowIovas(ioas, List.of(new IovaRange(0x2000, 0x2000))));
            check("allow-iovas", overMsi == Errno.EADDRINUSE && empty == Errno.EINVAL,
                    "[0x100000,0x7fffffff] ok; over the MSI window " + Errno.name(overMsi) + "; start == last " + Errno.name(empty));
            final MemorySegment src = arena.allocate(4096, 4096), dst = arena.allocate(4096, 4096);
            for (int i = 0; i < 4096; i++) src.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 7 + 3));
            final long iova = 0x100000;
            fd.map(ioas, IommufdUapi.IOMMU_IOAS_MAP_FIXED_IOVA | IommufdUapi.IOMMU_IOAS_MAP_READABLE
                    | IommufdUapi.IOMMU_IOAS_MAP_WRITEABLE, src.address(), 4096, iova);
            fd.map(ioas, IommufdUapi.IOMMU_IOAS_MAP_FIXED_IOVA | IommufdUapi.IOMMU_IOAS_MAP_READABLE
                    | IommufdUapi.IOMMU_IOAS_MAP_WRITEABLE, dst.address(), 4096, iova + 4096);
            check("map", true, "2 pages at 0x100000");
            check("map-overlap-eexist", errnoOf(() -> fd.map(ioas, IommufdUapi.IOMMU_IOAS_MAP_FIXED_IOVA
                    | IommufdUapi.IOMMU_IOAS_MAP_READABLE, src.address(), 4096, iova)) == Errno.EEXIST, "");
            final VfioDevice.Region bar0 = dev.regionInfo(VfioUapi.VFIO_PCI_BAR0_REGION_INDEX);
            final VfioDevice.Region cfg = dev.regionInfo(VfioUapi.VFIO_PCI_CONFIG_REGION_INDEX);
            check("region-info", bar0.size() >= 4096, "bar0 size=0x" + Long.toHexString(bar0.size()) + " info=" + dev.info());
            dev.write(cfg.offset() + 4, 2, dev.read(cfg.offset() + 4, 2) | 0x6);  // memory decode + bus master
            final long id0 = dev.read(bar0.offset(), 4);
            check("edu-id", (id0 & 0xFF) == 0xed, "id=0x" + Long.toHexString(id0));
            final boolean done = eduDma(dev, bar0.offset(), iova, EDU_BUF, false) && eduDma(dev, bar0.offset(), EDU_BUF, iova + 4096, true);
            check("edu-dma-roundtrip", done && src.mismatch(dst) == -1, "data verified through IOVA 0x100000 -> 0x101000");
            check("unmap", fd.unmap(ioas, iova + 4096, 4096) == 4096, "");
            dst.fill((byte) 0);
            eduDma(dev, bar0.offset(), EDU_BUF, iova + 4096, true);
            boolean untouched = true;
            for (int i = 0; i < 4096; i++) untouched &= dst.get(ValueLayout.JAVA_BYTE, i) == 0;
            check("edu-dma-after-unmap-blocked", untouched, "a DMAR fault (reason 0x05) is expected in the guest log");
            check("unmap-nothing-enoent", errnoOf(() -> fd.unmap(ioas, iova + 4096, 4096)) == Errno.ENOENT, "");
            final Iommufd.FaultQueue fq = fd.faultQueueAlloc();
            final ObjectId.Hwpt iopf = fd.hwptAlloc(new HwptAlloc.Paging(id, ioas, false, fq.id()));
            check("fault-queue-alloc", fq.fd() >= 0 && iopf.value() > 0, "fault=" + fq.id().value() + " fd=" + fq.fd());
            dev.detach(-1);
            fd.destroy(iopf);
            dev_close(fq.fd());
            fd.destroy(fq.id());
            fd.unmap(ioas, 0, -1L);
            fd.destroy(ioas);
            check("teardown", true, "leaves first");
        }
    }

    /**
     * The host SPI end to end on the real VT-d: IommufdBackend binds the cdev, probes capabilities (nesting by a
     * NEST_PARENT allocation on a scratch IOAS), allows IOVAs, attaches, and tears everything down at close.
     */
    static void spi() throws Exception {
        try (IommufdBackend b = IommufdBackend.open(Iommufd.DEV_IOMMU, GuestMemory::empty)) {
            final ObjectId.Device d = b.bindDevice(HostDeviceRef.path("/dev/vfio/devices/vfio0"));
            final HostCapabilities caps = b.capabilities(d);
            check("spi-capabilities", caps.kind() == HostCapabilities.Kind.VTD && !caps.nesting()
                    && caps.inputAddressBits() >= 39 && !caps.dirtyTracking(), caps.toString());
            final ObjectId.Ioas ioas = b.allocIoas();
            b.allowIovas(ioas, List.of(new IovaRange(0x100000, 0xFEDF_FFFFL)));
            final ObjectId.Hwpt h = b.attach(d, -1, ioas);
            final boolean kept = b.iovaRanges(ioas).stream().anyMatch(r -> r.contains(0x100000, 0xFED0_0000L));
            check("spi-allow-iovas-attach", h.value() > 0 && kept, "ranges=" + b.iovaRanges(ioas));
            final int dirty = errnoOf(() -> b.setDirtyTracking(h, true));
            check("spi-dirty-eopnotsupp", dirty == Errno.EOPNOTSUPP, Errno.name(dirty) + " (no dirty ops on this domain)");
        }
        check("spi-teardown", true, "IommufdBackend.close");
    }

    static void dev_close(final int fd) { dev.viommu.backend.iommufd.uapi.FdIo.close(fd); }

    static MemorySegment testCmd(final int op, final int id) {
        final MemorySegment c = Scratch.get().struct(IommuTestCmd.LAYOUT);
        IommuTestCmd.OP.set(c, op);
        IommuTestCmd.ID.set(c, id);
        return c;
    }

    static void mock(final Iommufd fd, final Arena arena) throws Exception {
        final ObjectId.Ioas ioas = fd.ioasAlloc();
        MemorySegment c = testCmd(IommuTestCmd.IOMMU_TEST_OP_MOCK_DOMAIN, ioas.value());
        final int rc = fd.ioctl(IommuTestCmd.IOMMU_TEST_CMD, c);
        if (rc == -Errno.ENOTTY) {
            System.out.println("SKIP mock no IOMMU_TEST_CMD (kernel without CONFIG_IOMMUFD_TEST)");
            failures++;
            return;
        }
        check("mock-domain", rc == 0, "rc=" + rc);
        final int stdev = IommuTestCmd.MOCK_DOMAIN_OUT_STDEV_ID.get(c);
        final ObjectId.Device idev = new ObjectId.Device(IommuTestCmd.MOCK_DOMAIN_OUT_IDEV_ID.get(c));
        final Iommufd.RawHwInfo raw = fd.hwInfoRaw(idev);
        check("mock-hw-info", raw.type() == IommuTestCmd.IOMMU_HW_INFO_TYPE_SELFTEST, "type=0x" + Integer.toHexString(raw.type()));
        check("mock-nesting-probe", fd.probeNestParent(idev), "NEST_PARENT on a scratch IOAS succeeds on the mock");
        final ObjectId.Hwpt parent = fd.hwptAlloc(IommufdUapi.IOMMU_HWPT_ALLOC_NEST_PARENT, idev, ioas, 0, null, 0);
        // iommu_viommu_selftest {in_data, out_data, out_mmap_offset, out_mmap_length}: the driver writes back
        final byte[] data = new byte[24];
        MemorySegment.ofArray(data).set(ValueLayout.JAVA_INT_UNALIGNED, 0, 0x1234abcd);
        final IommufdBackend spi = new IommufdBackend(fd, GuestMemory::empty);
        final ObjectId.Viommu dataVi = spi.allocViommu(idev, IommuTestCmd.IOMMU_VIOMMU_TYPE_SELFTEST, parent, data);
        final MemorySegment out = MemorySegment.ofArray(data);
        final int loop = out.get(ValueLayout.JAVA_INT_UNALIGNED, 4);
        final long mmapLen = out.get(ValueLayout.JAVA_LONG_UNALIGNED, 16);
        check("viommu-driver-data", loop == 0x1234abcd && mmapLen == 8192,
                "out_data=0x" + Integer.toHexString(loop) + " out_mmap_length=" + mmapLen);
        fd.destroy(dataVi);
        final MemorySegment sel = arena.allocate(8, 8);
        sel.set(ValueLayout.JAVA_INT, 0, IommuTestCmd.IOMMU_TEST_IOTLB_DEFAULT);
        final ObjectId.Hwpt nested = fd.hwptAlloc(0, idev, parent, IommuTestCmd.IOMMU_HWPT_DATA_SELFTEST, sel, 0);
        check("mock-nested-hwpt", nested.value() > 0, "parent=" + parent.value() + " nested=" + nested.value());
        c = testCmd(IommuTestCmd.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, stdev);
        IommuTestCmd.MOCK_DOMAIN_REPLACE_PT_ID.set(c, nested.value());
        check("mock-attach-nested", fd.ioctl(IommuTestCmd.IOMMU_TEST_CMD, c) == 0, "");
        check("destroy-attached-ebusy", errnoOf(() -> fd.destroy(nested)) == Errno.EBUSY, "");
        // batch invalidation with a bad third entry: iotlb_id 5 > 3 -> EINVAL, entry_num 2
        final MemorySegment inv = arena.allocate(3 * 8, 8);
        inv.set(ValueLayout.JAVA_INT, 4, 0);
        inv.set(ValueLayout.JAVA_INT, 12, 1);
        inv.set(ValueLayout.JAVA_INT, 20, 5);
        final InvalidationResult r = fd.invalidate(nested, IommuTestCmd.IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 8, inv, 3);
        check("invalidate-partial-entry-num", r.processed() == 2 && r.errno() == Errno.EINVAL, r.toString());
        final InvalidationResult ok = fd.invalidate(nested, IommuTestCmd.IOMMU_HWPT_INVALIDATE_DATA_SELFTEST, 8, inv, 2);
        check("invalidate-ok", ok.ok() && ok.processed() == 2, ok.toString());
        c = testCmd(IommuTestCmd.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, stdev);
        IommuTestCmd.MOCK_DOMAIN_REPLACE_PT_ID.set(c, ioas.value());
        fd.ioctl(IommuTestCmd.IOMMU_TEST_CMD, c);
        fd.destroy(nested);

        // vIOMMU, vDEVICE, vEVENTQ
        final ObjectId.Viommu vi = fd.viommuAlloc(IommuTestCmd.IOMMU_VIOMMU_TYPE_SELFTEST, idev, parent, null);
        final ObjectId.Vdevice vd = fd.vdeviceAlloc(vi, idev, 0x99);
        check("viommu-vdevice", vi.value() > 0 && vd.value() > 0, "viommu=" + vi.value() + " vdevice=" + vd.value());
        final Iommufd.Veventq q = fd.veventqAlloc(vi, IommuTestCmd.IOMMU_VEVENTQ_TYPE_SELFTEST, 2);
        check("veventq-second-eexist", errnoOf(() -> fd.veventqAlloc(vi, IommuTestCmd.IOMMU_VEVENTQ_TYPE_SELFTEST, 2)) == Errno.EEXIST, "");
        final Iommufd.FaultQueue fq = fd.faultQueueAlloc();
        final ObjectId.Hwpt vnested = fd.hwptAlloc(IommufdUapi.IOMMU_HWPT_FAULT_ID_VALID, idev, vi,
                IommuTestCmd.IOMMU_HWPT_DATA_SELFTEST, sel, fq.id().value());
        c = testCmd(IommuTestCmd.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, stdev);
        IommuTestCmd.MOCK_DOMAIN_REPLACE_PT_ID.set(c, vnested.value());
        check("attach-viommu-nested", fd.ioctl(IommuTestCmd.IOMMU_TEST_CMD, c) == 0, "");
        c = testCmd(IommuTestCmd.IOMMU_TEST_OP_TRIGGER_VEVENT, 0);
        IommuTestCmd.TRIGGER_VEVENT_DEV_ID.set(c, idev.value());
        final int trig = fd.ioctl(IommuTestCmd.IOMMU_TEST_CMD, c);
        final List<VEvent> events = new ArrayList<>();
        EventFds.readEvents(q.fd(), IommuTestCmd.IOMMU_VEVENTQ_TYPE_SELFTEST, 4, 8, events::add, new int[] {-1});
        check("vevent-read", trig == 0 && events.size() == 1 && events.getFirst().data()[0] == 0x99,
                "events=" + events.stream().map(e -> "seq " + e.sequence() + " virt_id 0x" + Long.toHexString(e.data()[0])).toList());
        final InvalidationResult vinv;
        final MemorySegment ve = arena.allocate(12, 4);
        ve.set(ValueLayout.JAVA_INT, 4, 0x99);
        vinv = fd.invalidate(vi, IommuTestCmd.IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST, 12, ve, 1);
        check("viommu-invalidate", vinv.ok() && vinv.processed() == 1, vinv.toString());

        // IOPF round trip
        c = testCmd(IommuTestCmd.IOMMU_TEST_OP_TRIGGER_IOPF, 0);
        IommuTestCmd.TRIGGER_IOPF_DEV_ID.set(c, idev.value());
        IommuTestCmd.TRIGGER_IOPF_PASID.set(c, 1);
        IommuTestCmd.TRIGGER_IOPF_GRPID.set(c, 2);
        IommuTestCmd.TRIGGER_IOPF_PERM.set(c, IommufdUapi.IOMMU_PGFAULT_PERM_READ | IommufdUapi.IOMMU_PGFAULT_PERM_WRITE);
        IommuTestCmd.TRIGGER_IOPF_ADDR.set(c, 0xdeadbeafL);
        final int iopfRc = fd.ioctl(IommuTestCmd.IOMMU_TEST_CMD, c);
        final List<PageRequest> faults = new ArrayList<>();
        EventFds.readPageRequests(fq.fd(), 4, faults::add);
        final boolean got = iopfRc == 0 && faults.size() == 1 && faults.getFirst().lastPage() && faults.getFirst().groupId() == 2;
        check("iopf-read", got, "rc=" + iopfRc + " " + faults);
        if (got) {
            EventFds.respond(fq.fd(), faults.getFirst().cookie(), 0);
            check("iopf-respond", true, "cookie=" + faults.getFirst().cookie());
            check("iopf-respond-again-einval", errnoOf(() -> EventFds.respond(fq.fd(), faults.getFirst().cookie(), 0)) == Errno.EINVAL, "");
        }
        // teardown, leaves first
        c = testCmd(IommuTestCmd.IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE, stdev);
        IommuTestCmd.MOCK_DOMAIN_REPLACE_PT_ID.set(c, ioas.value());
        fd.ioctl(IommuTestCmd.IOMMU_TEST_CMD, c);
        dev_close(q.fd());
        fd.destroy(q.id());
        fd.destroy(vd);
        fd.destroy(vnested);
        dev_close(fq.fd());
        fd.destroy(fq.id());
        fd.destroy(vi);
        fd.destroy(parent);
        fd.destroy(stdev);
        fd.destroy(ioas);
        check("mock-teardown", true, "");
    }

    /**
     * Dirty tracking through the mock IOMMU (FIXTURE(iommufd_dirty_tracking)): a DIRTY_TRACKING paging HWPT over an
     * IOAS with a mapping, tracking enabled through the SPI, pages marked by IOMMU_TEST_OP_DIRTY ("device writes"),
     * then read back through IommufdBackend.getDirtyBitmap, with and without NO_CLEAR.
     */
    static void mockDirty(final Iommufd fd, final Arena arena) throws Exception {
        final ObjectId.Ioas ioas = fd.ioasAlloc();
        MemorySegment c = testCmd(IommuTestCmd.IOMMU_TEST_OP_MOCK_DOMAIN, ioas.value());
        if (fd.ioctl(IommuTestCmd.IOMMU_TEST_CMD, c) != 0) {
            check("mock-dirty-domain", false, "MOCK_DOMAIN failed");
            return;
        }
        final int stdev = IommuTestCmd.MOCK_DOMAIN_OUT_STDEV_ID.get(c);
        final ObjectId.Device idev = new ObjectId.Device(IommuTestCmd.MOCK_DOMAIN_OUT_IDEV_ID.get(c));
        final long iova = IommuTestCmd.MOCK_APERTURE_START, len = 16 * 4096;
        final MemorySegment buf = arena.allocate(len, 4096);
        // one IOAS_MAP per page: a single map of physically contiguous pages may get larger leaves (the mock's
        // page table coalesces), and a dirty leaf reports all its pages; per-page maps keep every leaf at 4 KiB
        for (long off = 0; off < len; off += 4096) {
            fd.map(ioas, IommufdUapi.IOMMU_IOAS_MAP_FIXED_IOVA | IommufdUapi.IOMMU_IOAS_MAP_READABLE
                    | IommufdUapi.IOMMU_IOAS_MAP_WRITEABLE, buf.address() + off, 4096, iova + off);
        }
        final IommufdBackend spi = new IommufdBackend(fd, GuestMemory::empty);
        final ObjectId.Hwpt plain = fd.hwptAlloc(0, idev, ioas, 0, null, 0);
        final int noOps = errnoOf(() -> spi.setDirtyTracking(plain, true));
        check("dirty-tracking-without-flag-eopnotsupp", noOps == Errno.EOPNOTSUPP, Errno.name(noOps));
        fd.destroy(plain);
        final ObjectId.Hwpt hwpt = fd.hwptAlloc(IommufdUapi.IOMMU_HWPT_ALLOC_DIRTY_TRACKING, idev, ioas, 0, null, 0);
        spi.setDirtyTracking(hwpt, true);
        final MemorySegment marks = arena.allocate(8, 8);
        marks.set(ValueLayout.JAVA_LONG, 0, 0b100101L);          // pages 0, 2 and 5 "written by the device"
        c = testCmd(IommuTestCmd.IOMMU_TEST_OP_DIRTY, hwpt.value());
        IommuTestCmd.DIRTY_IOVA.set(c, iova);
        IommuTestCmd.DIRTY_LENGTH.set(c, len);
        IommuTestCmd.DIRTY_PAGE_SIZE.set(c, 4096);
        IommuTestCmd.DIRTY_UPTR.set(c, marks.address());
        final int rc = fd.ioctl(IommuTestCmd.IOMMU_TEST_CMD, c);
        final long nr = IommuTestCmd.DIRTY_OUT_NR_DIRTY.get(c);
        check("mock-dirty-mark", rc == 0 && nr == 3, "rc=" + rc + " out_nr_dirty=" + nr);
        final long[] keep = new long[1], clear = new long[1], after = new long[1];
        spi.getDirtyBitmap(hwpt, iova, len, 4096, keep, true);
        spi.getDirtyBitmap(hwpt, iova, len, 4096, clear, false);
        spi.getDirtyBitmap(hwpt, iova, len, 4096, after, false);
        check("mock-dirty-bitmap", keep[0] == 0b100101L && clear[0] == 0b100101L && after[0] == 0,
                String.format("no-clear 0x%x, clear 0x%x, then 0x%x", keep[0], clear[0], after[0]));
        final int geometry = errnoOf(() -> spi.getDirtyBitmap(hwpt, iova, len, 0, new long[1], false));
        final int shortMap = errnoOf(() -> spi.getDirtyBitmap(hwpt, iova, 65 * 4096L, 4096, new long[1], false));
        check("dirty-bitmap-errors", geometry == Errno.EINVAL && shortMap == Errno.EFAULT,
                "page_size 0 " + Errno.name(geometry) + "; 65 pages into 64 bits " + Errno.name(shortMap));
        spi.setDirtyTracking(hwpt, false);
        fd.destroy(hwpt);
        fd.unmap(ioas, 0, -1L);
        fd.destroy(stdev);
        fd.destroy(ioas);
        check("mock-dirty-teardown", true, "");
    }
}
