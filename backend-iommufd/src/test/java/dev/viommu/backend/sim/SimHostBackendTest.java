package dev.viommu.backend.sim;

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
import dev.viommu.core.posix.Errno;
import dev.viommu.core.translate.AccessType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class SimHostBackendTest {
    static final int RW = AccessType.READ | AccessType.WRITE;
    static final long RAM = 0x4000_0000L;

    GuestMemory ram;
    SimHostBackend sim;

    @BeforeEach
    void setUp() {
        ram = GuestMemory.anonymous(RAM, 16 << 20);
        sim = new SimHostBackend(Map.of(
                "iommus", List.of(
                        Map.of("name", "smmu0", "type", "smmuv3", "nesting", true),
                        Map.of("name", "smmu1", "type", "smmuv3", "nesting", true),
                        Map.of("name", "dmar0", "type", "vtd", "nesting", true),
                        Map.of("name", "dmar1", "type", "vtd", "nesting", false, "dirtyTracking", false)),
                "devices", List.of(
                        Map.of("path", "sim:nic0", "iommu", "smmu0"),
                        Map.of("path", "sim:nic1", "iommu", "smmu1"),
                        Map.of("path", "sim:gpu0", "iommu", "dmar0"),
                        Map.of("path", "sim:old0", "iommu", "dmar1", "pasidBits", 0)),
                "reserved", List.of(Map.of("start", "0x100000000", "last", "0x1ffffffff"))), () -> ram);
    }

    static int errno(final org.junit.jupiter.api.function.Executable e) {
        return assertThrows(HostException.class, e).errno();
    }

    ObjectId.Device bind(final String p) throws HostException { return sim.bindDevice(HostDeviceRef.path(p)); }

    long[] dirty(final ObjectId.Hwpt h, final long iova, final long len, final long pageSize, final boolean noClear)
            throws HostException {
        final long[] bm = new long[(int) ((len / pageSize + 63) / 64)];
        sim.getDirtyBitmap(h, iova, len, pageSize, bm, noClear);
        return bm;
    }

    @Test
    void shouldRecordTheExactCallSequenceOfAPlainIoasSetup() throws Exception {
        final ObjectId.Device dev = bind("sim:gpu0");
        final ObjectId.Ioas ioas = sim.allocIoas();
        final ObjectId.Hwpt hwpt = sim.attach(dev, -1, ioas);
        sim.map(ioas, RAM, RAM, 0x2000, RW);
        assertEquals(0x2000, sim.unmap(ioas, RAM, 0x2000));
        assertEquals(List.of("VFIO_DEVICE_BIND_IOMMUFD", "IOMMU_IOAS_ALLOC", "VFIO_DEVICE_ATTACH_IOMMUFD_PT",
                "IOMMU_IOAS_MAP", "IOMMU_IOAS_UNMAP"), sim.ops());
        assertTrue(sim.calls().stream().allMatch(c -> c.ok()));
        assertNotEquals(ioas.value(), hwpt.value(), "the auto domain gets its own ID in the shared namespace");
    }

    @Test
    void shouldRejectOverlappingMapWithEexistAndReservedIovaWithEinval() throws Exception {
        final ObjectId.Device dev = bind("sim:gpu0");
        final ObjectId.Ioas ioas = sim.allocIoas();
        sim.attach(dev, -1, ioas);
        sim.map(ioas, 0x10000, RAM, 0x4000, RW);
        assertEquals(Errno.EEXIST, errno(() -> sim.map(ioas, 0x12000, RAM, 0x4000, RW)));
        assertEquals(Errno.EINVAL, errno(() -> sim.map(ioas, 0xFEE00000L, RAM, 0x1000, RW)), "x86 MSI window");
        assertEquals(Errno.EINVAL, errno(() -> sim.map(ioas, 0x100000000L, RAM, 0x1000, RW)), "host reserved");
        assertEquals(Errno.EINVAL, errno(() -> sim.map(ioas, 1L << 48, RAM, 0x1000, RW)), "beyond the aperture");
        assertEquals(Errno.EINVAL, errno(() -> sim.map(ioas, 0x20800, RAM, 0x1000, RW)), "unaligned");
        assertEquals(Errno.EOVERFLOW, errno(() -> sim.map(ioas, -0x1000L, RAM, 0x2000, RW)));
        assertEquals(Errno.EFAULT, errno(() -> sim.map(ioas, 0x40000, 0x1000, 0x1000, RW)), "not guest RAM");
        assertEquals(Errno.EEXIST, sim.calls().get(4).errno());
    }

    @Test
    void shouldUnmapWithEnoentForNothingAndForPartlyCoveredAreas() throws Exception {
        final ObjectId.Ioas ioas = sim.allocIoas();
        assertEquals(Errno.ENOENT, errno(() -> sim.unmap(ioas, 0x10000, 0x1000)));
        sim.map(ioas, 0x10000, RAM, 0x2000, RW);
        sim.map(ioas, 0x20000, RAM, 0x2000, RW);
        assertEquals(Errno.ENOENT, errno(() -> sim.unmap(ioas, 0x10000, 0x1000)), "may not split a MAP");
        assertEquals(0x4000, sim.unmap(ioas, 0, -1L), "0/U64_MAX unmaps everything");
        assertEquals(0, sim.unmap(ioas, 0, -1L), "unmap-all of nothing is fine");
        assertEquals(Errno.ENOENT, errno(() -> sim.unmap(new ObjectId.Ioas(999), 0, 0x1000)));
    }

    @Test
    void shouldShrinkIovaRangesWhenADeviceAttaches() throws Exception {
        final ObjectId.Ioas ioas = sim.allocIoas();
        assertEquals(List.of(new IovaRange(0, 0xFFFFFFFFL), new IovaRange(0x200000000L, -1L)), sim.iovaRanges(ioas));
        sim.attach(bind("sim:gpu0"), -1, ioas);
        assertEquals(List.of(new IovaRange(0, 0xFEDFFFFFL), new IovaRange(0xFEF00000L, 0xFFFFFFFFL),
                new IovaRange(0x200000000L, 0xFFFF_FFFF_FFFFL)), sim.iovaRanges(ioas));
    }

    @Test
    void shouldRefuseAttachWhenTheIoasAlreadyMapsTheDevicesReservedWindow() throws Exception {
        final ObjectId.Ioas ioas = sim.allocIoas();
        sim.map(ioas, 0xFEE00000L, RAM, 0x1000, RW);
        assertEquals(98 /* EADDRINUSE */, errno(() -> sim.attach(bind("sim:gpu0"), -1, ioas)));
    }

    @Test
    void shouldAttachNestedVtdDomainOnlyBehindItsOwnIommuAndValidateAtAttach() throws Exception {
        final ObjectId.Device gpu = bind("sim:gpu0");
        final ObjectId.Device old = bind("sim:old0");
        final ObjectId.Ioas ioas = sim.allocIoas();
        final ObjectId.Hwpt parent = sim.allocHwpt(new HwptAlloc.NestParent(gpu, ioas, false));
        assertEquals(Errno.EOPNOTSUPP, errno(() -> sim.allocHwpt(new HwptAlloc.NestParent(old, ioas, false))),
                "dmar1 has no nesting");
        final ObjectId.Hwpt s1 = sim.allocHwpt(new HwptAlloc.Nested(gpu, parent,
                new HwptAlloc.NestedData.VtdS1(0, RAM, 48), null));
        assertEquals(Errno.EINVAL, errno(() -> sim.attach(old, -1, s1)), "nested domain of another IOMMU");
        assertEquals(s1, sim.attach(gpu, -1, s1));
        final ObjectId.Hwpt bad = sim.allocHwpt(new HwptAlloc.Nested(gpu, parent,
                new HwptAlloc.NestedData.VtdS1(0, RAM, 39), null));
        assertEquals(Errno.EINVAL, errno(() -> sim.attach(gpu, -1, bad)), "addr_width 39 is checked at attach");
        assertEquals(Errno.EINVAL, errno(() -> sim.allocHwpt(new HwptAlloc.Nested(gpu, s1,
                new HwptAlloc.NestedData.VtdS1(0, RAM, 48), null))), "parent must be a nest parent");
        assertEquals(Errno.EOPNOTSUPP, errno(() -> sim.allocHwpt(new HwptAlloc.Nested(gpu, parent,
                new HwptAlloc.NestedData.SmmuV3Ste(1, 0), null))), "wrong data type");
    }

    @Test
    void shouldCheckMaskedVsteBitsWithEio() throws Exception {
        final ObjectId.Device nic = bind("sim:nic0");
        final ObjectId.Ioas ioas = sim.allocIoas();
        final ObjectId.Hwpt s2 = sim.allocHwpt(new HwptAlloc.NestParent(nic, ioas, false));
        final ObjectId.Viommu vi = sim.allocViommu(nic, 1, s2);
        final HwptAlloc.NestedData.SmmuV3Ste s1 = new HwptAlloc.NestedData.SmmuV3Ste(0xB | (RAM & ~0x3FL), 0);
        sim.allocHwpt(new HwptAlloc.Nested(nic, vi, s1, null));
        sim.allocHwpt(new HwptAlloc.Nested(nic, vi, new HwptAlloc.NestedData.SmmuV3Ste(0x9, 0), null));
        sim.allocHwpt(new HwptAlloc.Nested(nic, vi, new HwptAlloc.NestedData.SmmuV3Ste(0xFFF0, -1L), null)); // V=0: abort
        assertEquals(Errno.EIO, errno(() -> sim.allocHwpt(new HwptAlloc.Nested(nic, vi,
                new HwptAlloc.NestedData.SmmuV3Ste(0x1 | (1L << 52), 0), null))), "S2 bits are the host's");
        assertEquals(Errno.EIO, errno(() -> sim.allocHwpt(new HwptAlloc.Nested(nic, vi,
                new HwptAlloc.NestedData.SmmuV3Ste(0x1 | (6 << 1), 0), null))), "Config = S2 only");
        assertEquals(Errno.EIO, errno(() -> sim.allocHwpt(new HwptAlloc.Nested(nic, vi,
                new HwptAlloc.NestedData.SmmuV3Ste(0xB, 2L << 28), null))), "EATS = split-stage");
        assertEquals(Errno.EIO, errno(() -> sim.allocHwpt(new HwptAlloc.Nested(nic, vi,
                new HwptAlloc.NestedData.SmmuV3Ste(0xB, 1L << 8), null))), "STE1 bit 8 not allowed");
    }

    @Test
    void shouldRequireAVdeviceBeforeAttachingATranslateVste() throws Exception {
        final ObjectId.Device nic = bind("sim:nic0");
        final ObjectId.Ioas ioas = sim.allocIoas();
        final ObjectId.Hwpt s2 = sim.allocHwpt(new HwptAlloc.NestParent(nic, ioas, false));
        final ObjectId.Viommu vi = sim.allocViommu(nic, 1, s2);
        final ObjectId.Hwpt bypass = sim.allocHwpt(new HwptAlloc.Nested(nic, vi, new HwptAlloc.NestedData.SmmuV3Ste(0x9, 0), null));
        final ObjectId.Hwpt s1 = sim.allocHwpt(new HwptAlloc.Nested(nic, vi, new HwptAlloc.NestedData.SmmuV3Ste(0xB, 0), null));
        sim.attach(nic, -1, bypass);  // GBPA case: no vDEVICE needed
        assertEquals(Errno.ENOENT, errno(() -> sim.attach(nic, -1, s1)));
        sim.allocVdevice(vi, nic, 0x42);
        assertEquals(s1, sim.attach(nic, -1, s1));
    }

    @Test
    void shouldRejectVdeviceAndViommuAcrossPhysicalIommus() throws Exception {
        final ObjectId.Device nic0 = bind("sim:nic0");
        final ObjectId.Device nic1 = bind("sim:nic1");
        final ObjectId.Ioas ioas = sim.allocIoas();
        final ObjectId.Hwpt s2 = sim.allocHwpt(new HwptAlloc.NestParent(nic0, ioas, false));
        assertEquals(Errno.EINVAL, errno(() -> sim.allocViommu(nic1, 1, s2)), "S2 parent on another SMMU");
        final ObjectId.Viommu vi = sim.allocViommu(nic0, 1, s2);
        assertEquals(Errno.EINVAL, errno(() -> sim.allocVdevice(vi, nic1, 7)));
        assertEquals(Errno.EINVAL, errno(() -> sim.allocHwpt(new HwptAlloc.Nested(nic1, vi,
                new HwptAlloc.NestedData.SmmuV3Ste(0x9, 0), null))));
        sim.allocVdevice(vi, nic0, 7);
        assertEquals(Errno.EEXIST, errno(() -> sim.allocVdevice(vi, nic0, 8)), "one vDEVICE per device");
        assertEquals(Errno.EOPNOTSUPP, errno(() -> sim.allocViommu(nic0, 0, s2)), "DEFAULT type");
        final ObjectId.Device gpu = bind("sim:gpu0");
        final ObjectId.Hwpt vtdParent = sim.allocHwpt(new HwptAlloc.NestParent(gpu, ioas, false));
        assertEquals(Errno.EOPNOTSUPP, errno(() -> sim.allocViommu(gpu, 1, vtdParent)), "no VT-d vIOMMU type");
    }

    @Test
    void shouldRefuseToDestroyReferencedObjectsWithEbusyAndTearDownLeavesFirst() throws Exception {
        final ObjectId.Device nic = bind("sim:nic0");
        final ObjectId.Ioas ioas = sim.allocIoas();
        final ObjectId.Hwpt s2 = sim.allocHwpt(new HwptAlloc.NestParent(nic, ioas, false));
        final ObjectId.Viommu vi = sim.allocViommu(nic, 1, s2);
        final ObjectId.Vdevice vd = sim.allocVdevice(vi, nic, 3);
        final ObjectId.Veventq q = sim.allocVeventq(vi, 1, 8);
        final ObjectId.FaultQueue fq = sim.allocFaultQueue();
        final ObjectId.Hwpt s1 = sim.allocHwpt(new HwptAlloc.Nested(nic, vi, new HwptAlloc.NestedData.SmmuV3Ste(0xB, 0), fq));
        sim.attach(nic, -1, s1);
        assertEquals(Errno.EBUSY, errno(() -> sim.destroy(ioas)));
        assertEquals(Errno.EBUSY, errno(() -> sim.destroy(s2)));
        assertEquals(Errno.EBUSY, errno(() -> sim.destroy(vi)));
        assertEquals(Errno.EBUSY, errno(() -> sim.destroy(s1)), "attached");
        assertEquals(Errno.EBUSY, errno(() -> sim.destroy(fq)), "used by a HWPT");
        assertEquals(Errno.ENOENT, errno(() -> sim.destroy(new ObjectId.Ioas(4242))));
        sim.attach(nic, -1, s2);
        sim.destroy(q);
        sim.destroy(vd);
        sim.destroy(s1);
        sim.destroy(fq);
        sim.destroy(vi);
        sim.detach(nic, -1);
        sim.destroy(s2);
        sim.destroy(ioas);
        sim.unbindDevice(nic);
        assertEquals(0, sim.liveObjects());
    }

    @Test
    void shouldStopVtdBatchAtFirstBadEntryAndReportEntryNum() throws Exception {
        final ObjectId.Device gpu = bind("sim:gpu0");
        final ObjectId.Ioas ioas = sim.allocIoas();
        final ObjectId.Hwpt parent = sim.allocHwpt(new HwptAlloc.NestParent(gpu, ioas, false));
        final ObjectId.Hwpt s1 = sim.allocHwpt(new HwptAlloc.Nested(gpu, parent, new HwptAlloc.NestedData.VtdS1(0, RAM, 48), null));
        final InvalidationResult r = sim.invalidate(s1, List.of(
                new InvalidationEntry.VtdS1(0x1000, 1, 0), new InvalidationEntry.VtdS1(0x2000, 4, 1),
                new InvalidationEntry.VtdS1(0x2800, 1, 0), new InvalidationEntry.VtdS1(0, -1L, 0)));
        assertEquals(new InvalidationResult(2, Errno.EINVAL), r);
        assertEquals(2, sim.invalidated().size());
        assertEquals(new InvalidationResult(0, Errno.EOPNOTSUPP), sim.invalidate(s1, List.of(new InvalidationEntry.VtdS1(0, 1, 2))));
        assertEquals(new InvalidationResult(1, 0), sim.invalidate(s1, List.of(new InvalidationEntry.VtdS1(0, -1L, 0))));
        assertEquals(new InvalidationResult(0, 0), sim.invalidate(s1, List.of()), "entry_num 0 probes VT-d");
        assertEquals(Errno.EINVAL, sim.invalidate(parent, List.of(new InvalidationEntry.VtdS1(0, 1, 0))).errno(),
                "a paging HWPT takes no user invalidation");
    }

    @Test
    void shouldStopSmmuBatchAtUnknownVsidOrForbiddenOpcode() throws Exception {
        final ObjectId.Device nic = bind("sim:nic0");
        final ObjectId.Ioas ioas = sim.allocIoas();
        final ObjectId.Viommu vi = sim.allocViommu(nic, 1, sim.allocHwpt(new HwptAlloc.NestParent(nic, ioas, false)));
        sim.allocVdevice(vi, nic, 0x10);
        final InvalidationResult r = sim.invalidate(vi, List.of(
                new InvalidationEntry.SmmuV3Cmd(0x11 | (5L << 48), 0),          // TLBI_NH_ASID
                new InvalidationEntry.SmmuV3Cmd(0x05 | (0x10L << 32), 0),       // CFGI_CD vSID 0x10
                new InvalidationEntry.SmmuV3Cmd(0x40 | (0x11L << 32), 0),       // ATC_INV unknown vSID
                new InvalidationEntry.SmmuV3Cmd(0x10, 0)));
        assertEquals(new InvalidationResult(2, Errno.EIO), r);
        assertEquals(new InvalidationResult(0, Errno.EIO), sim.invalidate(vi, List.of(new InvalidationEntry.SmmuV3Cmd(0x46, 0))),
                "CMD_SYNC is the VMM's job");
        assertEquals(new InvalidationResult(0, Errno.EINVAL), sim.invalidate(vi, List.of()), "SMMUv3 rejects entry_num 0");
    }

    @Test
    void shouldFailAnyCallWithAnInjectedErrnoAndLogIt() throws Exception {
        sim.failNext("IOMMU_IOAS_ALLOC", Errno.ENOMEM);
        assertEquals(Errno.ENOMEM, errno(sim::allocIoas));
        final ObjectId.Ioas ioas = sim.allocIoas();
        sim.failAlways("IOMMU_IOAS_MAP", Errno.ENOSPC);
        assertEquals(Errno.ENOSPC, errno(() -> sim.map(ioas, 0, RAM, 0x1000, RW)));
        assertEquals(Errno.ENOSPC, errno(() -> sim.map(ioas, 0, RAM, 0x1000, RW)));
        sim.clearFailures();
        sim.map(ioas, 0, RAM, 0x1000, RW);
        sim.failNext("IOMMU_HWPT_INVALIDATE", Errno.EFAULT);
        assertEquals(new InvalidationResult(0, Errno.EFAULT), sim.invalidate(ioas, List.of()));
        assertEquals(List.of(Errno.ENOMEM, 0, Errno.ENOSPC, Errno.ENOSPC, 0, Errno.EFAULT),
                sim.calls().stream().map(c -> c.errno()).toList());
    }

    @Test
    void shouldRoundTripAPageFaultGroupAndRejectUnknownCookies() throws Exception {
        final ObjectId.Device gpu = bind("sim:gpu0");
        final ObjectId.Ioas ioas = sim.allocIoas();
        final ObjectId.FaultQueue fq = sim.allocFaultQueue();
        final ObjectId.Hwpt h = sim.allocHwpt(new HwptAlloc.Paging(gpu, ioas, false, fq));
        sim.attach(gpu, -1, h);
        assertFalse(sim.injectPageFault(gpu, 5, 2, AccessType.READ, 0x1234, true), "PASID 5 is not attached");
        sim.attach(gpu, 5, h);
        assertTrue(sim.injectPageFault(gpu, 5, 2, AccessType.READ, 0x1234, false));
        final List<PageRequest> got = new ArrayList<>();
        assertEquals(0, sim.readPageRequests(fq, 8, got::add), "an incomplete group is not readable");
        assertTrue(sim.injectPageFault(gpu, 5, 2, AccessType.WRITE, 0x2234, true));
        assertEquals(0, sim.readPageRequests(fq, 1, got::add), "a group that does not fit stays queued");
        assertEquals(2, sim.readPageRequests(fq, 8, got::add));
        assertEquals(got.get(0).cookie(), got.get(1).cookie());
        assertTrue(got.get(1).lastPage() && got.get(1).pasidValid());
        assertEquals(0x2000, got.get(1).address());
        assertEquals(Errno.EINVAL, errno(() -> sim.respond(fq, new PageResponse(999, 0))));
        assertEquals(Errno.EINVAL, errno(() -> sim.respond(fq, new PageResponse(got.get(0).cookie(), 7))));
        sim.respond(fq, new PageResponse(got.get(0).cookie(), PageResponse.SUCCESS));
        assertEquals(Errno.EINVAL, errno(() -> sim.respond(fq, new PageResponse(got.get(0).cookie(), 0))), "answered once");
    }

    @Test
    void shouldAcceptUnknownVtdS1FlagsAsLinuxLeavesThemUnchecked() throws Exception {
        // Linux 7.3 intel_iommu_domain_alloc_nested does not validate vtd_s1.flags; attach tests only SRE and EAFE
        final ObjectId.Device gpu = bind("sim:gpu0");
        final ObjectId.Hwpt parent = sim.allocHwpt(new HwptAlloc.NestParent(gpu, sim.allocIoas(), false));
        final ObjectId.Hwpt s1 = sim.allocHwpt(new HwptAlloc.Nested(gpu, parent,
                new HwptAlloc.NestedData.VtdS1(1L << 40 | 4, RAM, 48), null));
        assertEquals(s1, sim.attach(gpu, -1, s1));
    }

    @Test
    void shouldTreatDetachingWhatIsNotAttachedAsASuccessfulNoOp() throws Exception {
        // Linux 7.3 vfio_iommufd_physical_(pasid_)detach_ioas return early; VFIO_DEVICE_DETACH_IOMMUFD_PT returns 0
        final ObjectId.Device gpu = bind("sim:gpu0");
        sim.detach(gpu, -1);
        sim.detach(gpu, 7);
        final ObjectId.Hwpt h = sim.allocHwpt(new HwptAlloc.Paging(gpu, sim.allocIoas(), false, null));
        sim.attach(gpu, -1, h);
        sim.detach(gpu, -1);
        sim.detach(gpu, -1);
        assertTrue(sim.calls().stream().allMatch(c -> c.ok()), sim.calls().toString());
        sim.destroy(h);
    }

    @Test
    void shouldAutoRespondInvalidToOutstandingFaultsOnDetach() throws Exception {
        final ObjectId.Device gpu = bind("sim:gpu0");
        final ObjectId.Ioas ioas = sim.allocIoas();
        final ObjectId.FaultQueue fq = sim.allocFaultQueue();
        sim.attach(gpu, -1, sim.allocHwpt(new HwptAlloc.Paging(gpu, ioas, false, fq)));
        sim.injectPageFault(gpu, -1, 1, AccessType.READ, 0x5000, true);
        final List<PageRequest> got = new ArrayList<>();
        sim.readPageRequests(fq, 4, got::add);
        sim.detach(gpu, -1);
        assertEquals(List.of(new PageResponse(got.getFirst().cookie(), PageResponse.INVALID)), sim.responses());
    }

    @Test
    void shouldDeliverVeventsWithVsidOnlyForVdevicesAndMarkLostEvents() throws Exception {
        final ObjectId.Device nic = bind("sim:nic0");
        final ObjectId.Ioas ioas = sim.allocIoas();
        final ObjectId.Viommu vi = sim.allocViommu(nic, 1, sim.allocHwpt(new HwptAlloc.NestParent(nic, ioas, false)));
        final ObjectId.Veventq q = sim.allocVeventq(vi, 1, 2);
        assertEquals(Errno.EEXIST, errno(() -> sim.allocVeventq(vi, 1, 2)));
        assertEquals(Errno.EOPNOTSUPP, errno(() -> sim.allocVeventq(vi, 0, 2)), "DEFAULT type");
        assertFalse(sim.injectEvent(nic, new long[] {0x10, 0, 0, 0}), "no vDEVICE: dropped");
        sim.allocVdevice(vi, nic, 0x99);
        assertTrue(sim.injectEvent(nic, new long[] {0x10 | (0x1234L << 32), 0xAB, 0, 0}));
        assertTrue(sim.injectEvent(nic, new long[] {0x11, 0, 0, 0}));
        assertFalse(sim.injectEvent(nic, new long[] {0x12, 0, 0, 0}), "depth 2: lost");
        final List<VEvent> ev = new ArrayList<>();
        assertEquals(3, sim.readEvents(q, 16, ev::add));
        assertEquals(0x10 | (0x99L << 32), ev.get(0).data()[0], "StreamID rewritten to the vSID");
        assertEquals(0xAB, ev.get(0).data()[1]);
        assertEquals(List.of(0, 1), List.of(ev.get(0).sequence(), ev.get(1).sequence()));
        assertTrue(ev.get(2).lostBefore() && ev.get(2).data().length == 0);
    }

    @Test
    void shouldDmaThroughTheIoasAndFaultAfterUnmap() throws Exception {
        final ObjectId.Device gpu = bind("sim:gpu0");
        final ObjectId.Ioas ioas = sim.allocIoas();
        final ObjectId.FaultQueue fq = sim.allocFaultQueue();
        sim.attach(gpu, -1, sim.allocHwpt(new HwptAlloc.Paging(gpu, ioas, false, fq)));
        sim.map(ioas, 0x100000, RAM + 0x3000, 0x2000, RW);
        ram.write(RAM + 0x3010, new byte[] {1, 2, 3, 4}, 0, 4);
        final byte[] buf = new byte[4];
        assertEquals(SimHostBackend.DmaStatus.OK, sim.dma(gpu, -1, 0x100010, buf, false));
        assertArrayEquals(new byte[] {1, 2, 3, 4}, buf);
        assertEquals(SimHostBackend.DmaStatus.OK, sim.dma(gpu, -1, 0x101ffe, new byte[] {9, 9}, true));
        assertEquals(9, ram.read8(RAM + 0x4fff));
        sim.unmap(ioas, 0x100000, 0x2000);
        assertEquals(SimHostBackend.DmaStatus.FAULT, sim.dma(gpu, -1, 0x100010, buf, false));
        final List<PageRequest> got = new ArrayList<>();
        assertEquals(1, sim.readPageRequests(fq, 4, got::add));
        assertEquals(0x100000, got.getFirst().address());
        assertEquals(SimHostBackend.DmaStatus.BLOCKED, sim.dma(bind("sim:nic0"), -1, 0, buf, false));
    }

    @Test
    void shouldTrackDirtyPagesOnlyWhenEnabled() throws Exception {
        final ObjectId.Device gpu = bind("sim:gpu0");
        final ObjectId.Ioas ioas = sim.allocIoas();
        final ObjectId.Hwpt h = sim.allocHwpt(new HwptAlloc.Paging(gpu, ioas, true, null));
        sim.attach(gpu, -1, h);
        sim.map(ioas, 0, RAM, 0x10000, RW);
        sim.dma(gpu, -1, 0x1000, new byte[1], true);
        sim.setDirtyTracking(h, true);
        sim.dma(gpu, -1, 0x3000, new byte[0x1001], true);
        assertArrayEquals(new long[] {0b11000}, dirty(h, 0, 0x10000, 0x1000, true));
        assertArrayEquals(new long[] {0b11000}, dirty(h, 0, 0x10000, 0x1000, false));
        assertArrayEquals(new long[] {0}, dirty(h, 0, 0x10000, 0x1000, false));
        assertEquals(Errno.EOPNOTSUPP, errno(() -> sim.allocHwpt(new HwptAlloc.Paging(bind("sim:old0"), ioas, true, null))));
    }

    @Test
    void shouldCheckPasidAttachAgainstTheDevicesPasidSupport() throws Exception {
        final ObjectId.Device gpu = bind("sim:gpu0");
        final ObjectId.Device old = bind("sim:old0");
        final ObjectId.Ioas ioas = sim.allocIoas();
        final ObjectId.Hwpt h = sim.allocHwpt(new HwptAlloc.Paging(gpu, ioas, false, null));
        assertEquals(h, sim.attach(gpu, 7, h));
        assertEquals(h, sim.attachedTo(gpu, 7));
        assertEquals(Errno.EINVAL, errno(() -> sim.attach(gpu, 1 << 20, h)));
        assertEquals(Errno.EOPNOTSUPP, errno(() -> sim.attach(old, 1, ioas)));
        sim.detach(gpu, 7);
        assertNull(sim.attachedTo(gpu, 7));
    }

    @Test
    void shouldReportHwInfoPerPhysicalIommuThatDecodesToItsFeatures() throws Exception {
        final HwInfo gpu = sim.hwInfo(bind("sim:gpu0"));
        final HwInfo old = sim.hwInfo(bind("sim:old0"));
        final HwInfo nic = sim.hwInfo(bind("sim:nic1"));
        assertEquals("dmar0", gpu.iommu());
        assertEquals("smmu1", nic.iommu());
        final HostCapabilities g = HwInfoDecoder.decode(gpu);
        assertTrue(g.nesting() && g.dirtyTracking() && g.pri() && g.ats());
        assertEquals(20, g.pasidBits());
        final HostCapabilities o = HwInfoDecoder.decode(old);
        assertFalse(o.nesting() || o.dirtyTracking());
        assertEquals(0, o.pasidBits());
        final HostCapabilities n = HwInfoDecoder.decode(nic);
        assertEquals(HostCapabilities.Kind.SMMUV3, n.kind());
        assertEquals(48, n.outputAddressBits());
        assertFalse(n.nesting(), "S1P/S2P are masked as on a real kernel: probe instead");
    }

    @Test
    void shouldRefuseUnknownDevicesAndDoubleBind() throws Exception {
        assertEquals(Errno.ENODEV, errno(() -> bind("sim:nope")));
        bind("sim:gpu0");
        assertEquals(Errno.EINVAL, errno(() -> bind("sim:gpu0")));
    }
}
