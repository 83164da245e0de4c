package dev.viommu.virtio.iommu;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.host.HostDeviceRef;
import dev.viommu.core.host.HostException;
import dev.viommu.core.posix.Errno;
import dev.viommu.core.spi.Endpoint;
import dev.viommu.core.translate.AccessType;
import dev.viommu.virtio.fixture.DeviceTestDriver;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.viommu.core.guest.virtio.ViommuRequests;

import static dev.viommu.core.guest.virtio.ViommuRequests.*;
import static dev.viommu.virtio.fixture.DeviceTestDriver.*;
import static org.junit.jupiter.api.Assertions.*;

class VirtioIommuDeviceTest {
    static final int EP = 8;

    private static int st(final DeviceTestDriver d, final byte[] req) {
        d.sendReqSync(req);
        return ViommuRequests.status(req);
    }

    private static DeviceTestDriver booted(final TestMachine m) {
        final DeviceTestDriver d = m.driver();
        assertEquals(0, d.probe());
        return d;
    }

    private static TestMachine machine(final Map<String, ?> props) {
        final TestMachine m = new TestMachine(props, HostBinding.NONE);
        m.attachEmulated("ep", EP);
        return m;
    }

    private static boolean mapped(final TestMachine m, final long iova) {
        return m.translate(EP, GuestMachine.NO_PASID, iova, AccessType.READ).ok();
    }

    /** The seven UNMAP examples of virtio 1.2 §5.13.6.7 (units of 4 KiB pages here). */
    @Test
    void shouldFollowEveryUnmapExampleOfTheSpec() {
        final long P = 4096;
        record Case(long[][] maps, long us, long ue, int status, boolean[] remain) {}
        final List<Case> cases = List.of(
                new Case(new long[][] {}, 0, 4, S_OK, new boolean[] {}),
                new Case(new long[][] {{0, 9}}, 0, 9, S_OK, new boolean[] {false}),
                new Case(new long[][] {{0, 4}, {5, 9}}, 0, 9, S_OK, new boolean[] {false, false}),
                new Case(new long[][] {{0, 9}}, 0, 4, S_RANGE, new boolean[] {true}),
                new Case(new long[][] {{0, 4}, {5, 9}}, 0, 4, S_OK, new boolean[] {false, true}),
                new Case(new long[][] {{0, 4}}, 0, 9, S_OK, new boolean[] {false}),
                new Case(new long[][] {{0, 4}, {10, 14}}, 0, 14, S_OK, new boolean[] {false, false}));
        for (Case c : cases) {
            try (TestMachine m = machine(Map.of())) {
                final DeviceTestDriver d = booted(m);
                assertEquals(S_OK, st(d, attachReq(1, EP, 0)));
                for (long[] mp : c.maps()) assertEquals(S_OK, st(d, mapReq(1, mp[0] * P, (mp[1] + 1) * P - 1, 0x100_0000, MAP_F_READ)));
                assertEquals(c.status(), st(d, unmapReq(1, c.us() * P, (c.ue() + 1) * P - 1)), c.toString());
                for (int i = 0; i < c.maps().length; i++) assertEquals(c.remain()[i], mapped(m, c.maps()[i][0] * P), c + " mapping " + i);
            }
        }
    }

    @Test
    void shouldMoveAnEndpointOnReattachAndDropAnEmptyDomainWithItsMappings() {
        try (TestMachine m = machine(Map.of())) {
            final DeviceTestDriver d = booted(m);
            assertEquals(S_OK, st(d, attachReq(1, EP, 0)));
            assertEquals(S_OK, st(d, mapReq(1, 0, 0xFFF, 0x100_0000, MAP_F_READ)));
            assertEquals(1, m.device.domainCount());
            assertEquals(S_OK, st(d, attachReq(2, EP, 0)));          // implicit detach from domain 1
            assertEquals(1, m.device.domainCount(), "domain 1 ceased to exist");
            assertEquals(0, m.device.mappingCount());
            assertFalse(mapped(m, 0));
            assertEquals(S_NOENT, st(d, mapReq(1, 0, 0xFFF, 0, MAP_F_READ)), "domain 1 is gone");
            assertEquals(S_INVAL, st(d, detachReq(1, EP)), "not attached to domain 1");
            assertEquals(S_NOENT, st(d, detachReq(2, 0x77)));
            assertEquals(S_OK, st(d, detachReq(2, EP)));
            assertEquals(0, m.device.domainCount());
        }
    }

    @Test
    void shouldRejectBypassFlagMismatchAndUnnegotiatedFlags() {
        try (TestMachine m = machine(Map.of())) {
            m.attachEmulated("ep2", EP + 1);
            final DeviceTestDriver d = booted(m);
            assertEquals(S_OK, st(d, attachReq(3, EP, 1)));
            assertEquals(S_INVAL, st(d, attachReq(3, EP + 1, 0)), "domain 3 is a bypass domain");
            assertEquals(S_INVAL, st(d, attachReq(4, EP + 1, 2)), "unknown flag");
            assertEquals(S_INVAL, st(d, unmapReq(3, 0, 0xFFF)), "UNMAP on a bypass domain");
        }
        try (TestMachine m = machine(Map.of())) {
            final DeviceTestDriver d = m.driver();
            assertEquals(0, d.probe(LINUX_FEATURES & ~(1L << F_BYPASS_CONFIG), true));
            assertEquals(S_INVAL, st(d, attachReq(3, EP, 1)), "ATTACH_F_BYPASS needs BYPASS_CONFIG");
            assertEquals(S_OK, st(d, attachReq(3, EP, 0)));
            assertEquals(S_INVAL, st(d, mapReq(3, 0, 0xFFF, 0, MAP_F_READ | 0x100)));
        }
        try (TestMachine m = machine(Map.of())) {
            final DeviceTestDriver d = m.driver();
            assertEquals(0, d.probe(LINUX_FEATURES & ~(1L << F_MMIO), true));
            assertEquals(S_OK, st(d, attachReq(3, EP, 0)));
            assertEquals(S_INVAL, st(d, mapReq(3, 0, 0xFFF, 0, MAP_F_READ | MAP_F_MMIO)), "MMIO needs F_MMIO");
        }
    }

    @Test
    void shouldEnforceInputAndDomainRanges() {
        try (TestMachine m = machine(Map.of("aw-bits", 39, "domain-range-start", 1, "domain-range-end", 10))) {
            final DeviceTestDriver d = booted(m);
            assertEquals((1L << 39) - 1, d.inputEnd);
            assertEquals(1 + 1, d.firstDomain);   // the driver reserved domain 1 for bypass
            assertEquals(10, d.lastDomain);
            assertEquals(S_RANGE, st(d, attachReq(11, EP, 0)));
            assertEquals(S_RANGE, st(d, attachReq(0, EP, 0)));
            assertEquals(S_OK, st(d, attachReq(10, EP, 0)));
            assertEquals(S_RANGE, st(d, mapReq(10, 1L << 39, (1L << 39) + 0xFFF, 0, MAP_F_READ)));
            assertEquals(S_OK, st(d, mapReq(10, (1L << 39) - 0x1000, (1L << 39) - 1, 0, MAP_F_READ)));
            assertEquals(S_RANGE, st(d, unmapReq(10, 0, 1L << 39)));
            assertEquals(S_RANGE, st(d, mapReq(11, 0, 0xFFF, 0, MAP_F_READ)));
            assertEquals(S_INVAL, st(d, mapReq(10, 0x2000, 0x1FFF - 0x1000, 0, MAP_F_READ)), "end below start");
            assertEquals(S_OK, st(d, mapReq(10, 0x3000, 0x3FFF, -4096L, MAP_F_READ)), "the last page of the output space");
            assertEquals(S_RANGE, st(d, mapReq(10, 0x6000, 0x7FFF, -4096L, MAP_F_READ)), "output range wraps");
        }
    }

    @Test
    void shouldReportResvMemAndFailProbeThatDoesNotFit() {
        try (TestMachine m = machine(Map.of("reserved-regions", "0x8000000:0x80fffff, 0xfee80000:0xfeffffff"))) {
            final DeviceTestDriver d = booted(m);
            final DeviceTestDriver.Endpoint ep = new DeviceTestDriver.Endpoint(EP);
            assertEquals(0, d.probeEndpoint(ep));
            // the reserved region that overlapped the MSI window lost the overlap
            assertEquals(List.of(new ResvMem(0, 0x800_0000L, 0x80F_FFFFL), new ResvMem(1, 0xFEE0_0000L, 0xFEEF_FFFFL),
                    new ResvMem(0, 0xFEF0_0000L, 0xFEFF_FFFFL)), ep.resvRegions);
            assertEquals(-ENOENT, d.probeEndpoint(new DeviceTestDriver.Endpoint(0x55)));
            assertEquals(S_OK, st(d, attachReq(1, EP, 0)));
            assertEquals(S_INVAL, st(d, mapReq(1, 0x800_0000L, 0x800_0FFFL, 0, MAP_F_READ)), "MAP over RESV_MEM");
        }
        try (TestMachine m = machine(Map.of("probe-size", 64, "reserved-regions", "0x1000:0x1fff,0x3000:0x3fff"))) {
            final DeviceTestDriver d = booted(m);
            final byte[] probe = d.probeReq(EP);
            assertEquals(-EINVAL, d.sendReqSync(probe), "72 bytes of properties do not fit in 64");
            for (int i = 72; i < 72 + 64; i++) assertEquals(0, probe[i], "no property written");
        }
    }

    @Test
    void shouldKeepTheBypassByteAcrossDeviceResetAndRestoreItOnSystemReset() {
        try (TestMachine m = machine(Map.of())) {
            final DeviceTestDriver d = booted(m);
            m.mmioWrite(0, 0x100 + 36, 1, 0);
            assertEquals(0, m.device.bypass());
            assertEquals(S_OK, st(d, attachReq(1, EP, 0)));
            m.mmioWrite(0, 0x70, 4, 0);                               // device reset
            assertEquals(0, m.device.domainCount(), "no endpoint attached after reset");
            assertEquals(0, m.device.bypass(), "bypass survives a device reset");
            m.device.reset();                                          // system reset
            assertEquals(1, m.device.bypass());
        }
    }

    // ------------------------------------------------------------------ host binding

    static final class RecordingBinding implements HostBinding {
        final List<HostBindingEvent> events = new ArrayList<>();
        final List<Integer> usedIdxAtApply = new ArrayList<>();
        TestMachine m;
        DeviceTestDriver d;
        int failErrno;
        Class<?> failOn;

        @Override
        public void apply(final HostBindingEvent e) throws HostException {
            try {
                usedIdxAtApply.add(m.memory.read16(d.requestQueue().used + 2));
            } catch (dev.viommu.core.mem.GuestMemoryException ex) {
                throw new IllegalStateException(ex);
            }
            if (failOn != null && failOn.isInstance(e)) throw new HostException("test", failErrno);
            events.add(e);
        }

        @Override
        public List<ResvRegion> reservedRegions(final Endpoint endpoint) {
            return List.of(ResvRegion.reserved(0x8000_0000L, 0xBFFF_FFFFL));
        }
    }

    private static Endpoint passthrough(final int sid) {
        return new Endpoint("vfio" + sid, Endpoint.Kind.PASSTHROUGH, sid, Optional.of(HostDeviceRef.path("/dev/vfio/devices/vfio0")));
    }

    @Test
    void shouldHandTheHostTypedEventsBeforeAcknowledging() {
        final RecordingBinding b = new RecordingBinding();
        try (TestMachine m = new TestMachine(Map.of(), b)) {
            b.m = m;
            m.add(passthrough(0x20));
            m.attachEmulated("emu", EP);
            final DeviceTestDriver d = booted(m);
            b.d = d;
            final DeviceTestDriver.Endpoint ep = new DeviceTestDriver.Endpoint(0x20);
            assertEquals(0, d.probeEndpoint(ep));
            assertTrue(ep.resvRegions.contains(new ResvMem(0, 0x8000_0000L, 0xBFFF_FFFFL)), "host reserved IOVA reported");
            // emulated endpoint: no events
            assertEquals(S_OK, st(d, attachReq(1, EP, 0)));
            assertEquals(S_OK, st(d, mapReq(1, 0x1000, 0x1FFF, 0x100_0000, MAP_F_READ)));
            assertTrue(b.events.isEmpty());
            // the passthrough endpoint joins domain 1: Attach, then a replay of its mapping
            assertEquals(S_OK, st(d, attachReq(1, 0x20, 0)));
            assertEquals(S_OK, st(d, mapReq(1, 0x4000, 0x5FFF, 0x200_0000, MAP_F_READ | MAP_F_WRITE)));
            assertEquals(S_OK, st(d, unmapReq(1, 0x4000, 0x5FFF)));
            assertEquals(S_OK, st(d, detachReq(1, 0x20)));
            assertEquals(List.of(
                    new HostBindingEvent.Attach(passthrough(0x20), 1, false, -1),
                    new HostBindingEvent.Map(1, 0x1000, 0x1FFF, 0x100_0000, AccessType.READ, false),
                    new HostBindingEvent.Map(1, 0x4000, 0x5FFF, 0x200_0000, AccessType.READ | AccessType.WRITE, false),
                    new HostBindingEvent.Unmap(1, 0x4000, 0x5FFF),
                    new HostBindingEvent.Detach(passthrough(0x20), 1)), b.events);
            // every event was applied while its request was still unacknowledged: the used index had not moved
            // past the requests before it (each request is sent and completed alone here)
            final int attachIdx = b.usedIdxAtApply.get(0);
            assertEquals(attachIdx, b.usedIdxAtApply.get(1), "replay before the ATTACH completes");
            assertEquals(attachIdx + 1, b.usedIdxAtApply.get(2), "MAP applied before its completion");
        }
    }

    @Test
    void shouldTurnHostFailuresIntoStatusesAndKeepStateConsistent() {
        final RecordingBinding b = new RecordingBinding();
        try (TestMachine m = new TestMachine(Map.of(), b)) {
            b.m = m;
            m.add(passthrough(0x20));
            final DeviceTestDriver d = booted(m);
            b.d = d;
            assertEquals(S_OK, st(d, attachReq(1, 0x20, 0)));
            b.failOn = HostBindingEvent.Map.class;
            b.failErrno = Errno.EIO;
            assertEquals(S_DEVERR, st(d, mapReq(1, 0x1000, 0x1FFF, 0, MAP_F_READ)));
            b.failErrno = Errno.ENOMEM;
            assertEquals(S_NOMEM, st(d, mapReq(1, 0x1000, 0x1FFF, 0, MAP_F_READ)));
            assertEquals(0, m.device.mappingCount(), "a MAP the host refused is not recorded");
            b.failOn = null;
            assertEquals(S_OK, st(d, mapReq(1, 0x1000, 0x1FFF, 0, MAP_F_READ)));
            b.failOn = HostBindingEvent.Unmap.class;
            b.failErrno = Errno.EFAULT;
            assertEquals(S_FAULT, st(d, unmapReq(1, 0x1000, 0x1FFF)));
            assertEquals(1, m.device.mappingCount(), "the mapping the host still has stays");
            b.failOn = HostBindingEvent.Detach.class;
            b.failErrno = Errno.EBUSY;
            assertEquals(S_UNSUPP, st(d, detachReq(1, 0x20)));
            assertEquals(1, m.device.domainCount());
        }
    }

    @Test
    void shouldDropFaultsBeyondTheBacklogWithoutEventBuffers() {
        try (TestMachine m = machine(Map.of("boot-bypass", false))) {
            final DeviceTestDriver d = booted(m);
            for (int i = 0; i < 5000; i++) assertFalse(mapped(m, i * 4096L));
            d.handleInterrupts(0);
            assertEquals(d.eventQueue().size, d.faults.size(), "one fault per posted event buffer");
            assertTrue(m.describe().contains("dropped="), m.describe());
        }
    }
}
