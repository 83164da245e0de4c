package dev.viommu.virtio.guest;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.translate.AccessType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.List;
import java.util.Map;

import static dev.viommu.virtio.guest.ViommuGuestDriver.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Guest scripts: what a Linux guest does with virtio-iommu, through the guest driver, over both transports.
 * Endpoint 0x10 (an emulated NIC at 00:02.0) sits behind the vIOMMU.
 */
class ViommuGuestScriptsTest {
    static final int EP = 0x10;
    static final long BUF_GPA = 0x200_0000L;

    private static Platform boot(final Platform.Bus bus, final Map<String, ?> props) {
        final Platform p = new Platform(bus, props);
        p.machine.attachEmulated("nic0", EP);
        return p;
    }

    @ParameterizedTest
    @EnumSource(Platform.Bus.class)
    void shouldBootLikeLinuxAndProbeTheEndpoint(final Platform.Bus bus) {
        try (Platform p = boot(bus, Map.of())) {
            final ViommuGuestDriver d = p.driver();
            assertEquals(0, d.probe(), p.machine.describe());
            assertTrue(d.hasFeature(F_VERSION_1) && d.hasFeature(F_MAP_UNMAP) && d.hasFeature(F_PROBE)
                    && d.hasFeature(F_BYPASS_CONFIG) && d.hasFeature(F_INPUT_RANGE) && d.hasFeature(F_DOMAIN_RANGE)
                    && d.hasFeature(F_EVENT_IDX) && d.hasFeature(F_INDIRECT_DESC) && d.hasFeature(F_MMIO));
            assertEquals(-4096L, d.pgsizeBitmap);
            assertEquals(-1L, d.inputEnd);
            assertEquals(512, d.probeSize);
            assertEquals(1, d.firstDomain, "domain 0 reserved for the identity domain");
            assertEquals(0, d.eventQueue().numFree(), "event queue filled");

            final ViommuGuestDriver.Endpoint ep = new ViommuGuestDriver.Endpoint(EP);
            assertEquals(0, d.probeDevice(ep));
            assertEquals(List.of(new ResvMem(1, 0xFEE0_0000L, 0xFEEF_FFFFL)), ep.resvRegions);

            final ViommuGuestDriver.Domain dom = d.domainAllocPaging();
            assertEquals(0, d.attachDev(dom, ep));
            assertEquals(0, d.mapPages(dom, 0x1000, BUF_GPA, 4096, 1, IOMMU_READ | IOMMU_WRITE));
            assertEquals(0, d.iotlbSyncMap(dom));
            assertTrue(p.machine.translate(EP, GuestMachine.NO_PASID, 0x1234, AccessType.READ).ok());
            assertTrue(p.machine.describe().contains("mapping-count=1"), p.machine.describe());
        }
    }

    @ParameterizedTest
    @EnumSource(Platform.Bus.class)
    void shouldMapDmaUnmapThenDeliverAFaultEvent(final Platform.Bus bus) throws Exception {
        try (Platform p = boot(bus, Map.of("boot-bypass", false))) {
            final ViommuGuestDriver d = p.driver();
            assertEquals(0, d.probe());
            final ViommuGuestDriver.Endpoint ep = new ViommuGuestDriver.Endpoint(EP);
            assertEquals(0, d.probeDevice(ep));
            final ViommuGuestDriver.Domain dom = d.domainAllocPaging();
            assertEquals(0, d.attachDev(dom, ep));
            p.machine.takeInvalidations();

            // dma_map_page: two pages, batched MAPs flushed by iotlb_sync_map
            assertEquals(0, d.mapPages(dom, 0x10_0000, BUF_GPA, 4096, 1, IOMMU_WRITE | IOMMU_READ));
            assertEquals(0, d.mapPages(dom, 0x10_1000, BUF_GPA + 0x5000, 4096, 1, IOMMU_READ));
            assertEquals(0, d.iotlbSyncMap(dom));

            final byte[] data = new byte[4096];
            for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 7);
            assertEquals(0, p.machine.dmaWrite(EP, GuestMachine.NO_PASID, 0x10_0000, data));
            final byte[] back = new byte[4096];
            p.machine.memory().read(BUF_GPA, back, 0, back.length);
            assertArrayEquals(data, back);
            assertEquals(0, p.machine.dmaRead(EP, GuestMachine.NO_PASID, 0x10_1000, new byte[16]));

            // dma_unmap_page: UNMAP batched, flushed on iotlb_sync; the translation consumers hear of it
            assertEquals(8192, d.unmapPages(dom, 0x10_0000, 4096, 2));
            d.iotlbSync(dom);
            final List<GuestMachine.Invalidation> inv = p.machine.takeInvalidations();
            assertTrue(inv.contains(new GuestMachine.Invalidation(EP, GuestMachine.NO_PASID, 0x10_0000, 8192)), inv.toString());

            // the device keeps DMAing: a MAPPING fault arrives on the event queue, with an interrupt
            d.handleInterrupts(0);          // the guest's ISR has run for earlier request completions
            assertEquals(2, p.machine.dmaWrite(EP, GuestMachine.NO_PASID, 0x10_0040, new byte[8]));
            assertTrue(d.handleInterrupts(1000) > 0, "fault interrupt");
            assertEquals(List.of(new Fault(2, 0x100 | 2, EP, 0x10_0040)), d.faults);
            assertEquals(0, d.eventQueue().numFree(), "event buffer refilled");

            // a write through a read-only mapping faults too; detach, and the next DMA is a DOMAIN fault
            assertEquals(0, d.mapPages(dom, 0x20_0000, BUF_GPA, 4096, 1, IOMMU_READ));
            d.iotlbSyncMap(dom);
            assertEquals(2, p.machine.dmaWrite(EP, GuestMachine.NO_PASID, 0x20_0000, new byte[4]));
            assertEquals(0, d.detachDev(ep));
            assertEquals(1, p.machine.dmaRead(EP, GuestMachine.NO_PASID, 0x20_0000, new byte[4]));
            d.handleInterrupts(1000);
            assertEquals(3, d.faults.size(), d.faults.toString());
            assertEquals(new Fault(2, 0x100 | 2, EP, 0x20_0000), d.faults.get(1));
            assertEquals(new Fault(1, 0x100 | 1, EP, 0x20_0000), d.faults.get(2));
        }
    }

    @ParameterizedTest
    @EnumSource(Platform.Bus.class)
    void shouldBypassUnattachedEndpointsAndIdentityDomains(final Platform.Bus bus) {
        try (Platform p = boot(bus, Map.of())) {
            // boot-bypass: before any driver, DMA reaches guest-physical space unchanged
            assertEquals(0x3000_0000L, p.machine.translate(EP, GuestMachine.NO_PASID, 0x3000_0000L, AccessType.WRITE).outputAddress());
            final ViommuGuestDriver d = p.driver();
            assertEquals(0, d.probe());
            final ViommuGuestDriver.Endpoint ep = new ViommuGuestDriver.Endpoint(EP);
            d.probeDevice(ep);
            // iommu.passthrough=1: the identity domain is ATTACH with VIRTIO_IOMMU_ATTACH_F_BYPASS
            assertEquals(0, d.attachIdentity(ep));
            assertTrue(p.machine.translate(EP, GuestMachine.NO_PASID, 0x1234_5000L, AccessType.READ).ok());
            // MAP into a bypass domain is refused
            assertEquals(-EINVAL, d.sendReqSync(mapReq(d.identityDomainId, 0, 0xFFF, 0, MAP_F_READ)));
            // a paging domain stops the bypass
            final ViommuGuestDriver.Domain dom = d.domainAllocPaging();
            assertEquals(0, d.attachDev(dom, ep));
            assertFalse(p.machine.translate(EP, GuestMachine.NO_PASID, 0x1234_5000L, AccessType.READ).ok());
            // the 'bypass' config byte (BYPASS_CONFIG): unattached endpoints follow it
            assertEquals(0, d.detachDev(ep));
            assertTrue(p.machine.translate(EP, GuestMachine.NO_PASID, 0x5000, AccessType.READ).ok());
            p.transport.writeConfig(36, 1, 0);
            assertEquals(0, p.transport.readConfig(36, 1));
            assertFalse(p.machine.translate(EP, GuestMachine.NO_PASID, 0x5000, AccessType.READ).ok());
        }
    }

    @ParameterizedTest
    @EnumSource(Platform.Bus.class)
    void shouldReturnEveryStatusAGuestCanProvoke(final Platform.Bus bus) {
        try (Platform p = boot(bus, Map.of("max-mappings", 2))) {
            final ViommuGuestDriver d = p.driver();
            assertEquals(0, d.probe());
            byte[] r;
            // S_OK
            assertEquals(S_OK, st(d, attachReq(5, EP, 0)));
            assertEquals(S_OK, st(d, mapReq(5, 0x0, 0x9FFF, 0x10_0000, MAP_F_READ)));
            // S_RANGE: an UNMAP that would split a mapping, and nothing is removed
            assertEquals(S_RANGE, st(d, unmapReq(5, 0x0, 0x4FFF)));
            assertTrue(p.machine.translate(EP, GuestMachine.NO_PASID, 0x9000, AccessType.READ).ok());
            // S_RANGE: misaligned MAP, domain outside domain_range is not possible with 32 bits, so alignment
            assertEquals(S_RANGE, st(d, mapReq(5, 0x1_0800, 0x1_17FF, 0, MAP_F_READ)));
            // S_INVAL: overlapping MAP, unknown flag, reserved field in ATTACH, MAP over the MSI window
            assertEquals(S_INVAL, st(d, mapReq(5, 0x9000, 0xAFFF, 0, MAP_F_READ)));
            assertEquals(S_INVAL, st(d, mapReq(5, 0x2_0000, 0x2_0FFF, 0, 0x10)));
            r = attachReq(6, EP, 0);
            r[16] = 1;
            assertEquals(S_INVAL, st(d, r));
            assertEquals(S_INVAL, st(d, mapReq(5, 0xFEE0_0000L, 0xFEE0_0FFFL, 0, MAP_F_WRITE)));
            // S_NOENT: unknown endpoint, unknown domain
            assertEquals(S_NOENT, st(d, attachReq(5, 0x999, 0)));
            assertEquals(S_NOENT, st(d, mapReq(77, 0, 0xFFF, 0, MAP_F_READ)));
            // S_NOMEM: the domain's mapping limit (max-mappings=2)
            assertEquals(S_OK, st(d, mapReq(5, 0x10_0000, 0x10_0FFF, 0, MAP_F_READ)));
            assertEquals(S_NOMEM, st(d, mapReq(5, 0x20_0000, 0x20_0FFF, 0, MAP_F_READ)));
            // S_IOERR: a request whose device-readable part cannot hold its type's fields
            final long buf = p.alloc.alloc(64, 8);
            p.machine.memory().write8(buf, T_MAP);
            assertEquals(4, d.sendRaw(new long[][] {{buf, 8}}, new long[][] {{buf + 32, 4}}));
            assertEquals(S_IOERR, p.machine.memory().read8(buf + 32));
            // S_FAULT: the request lies outside guest RAM
            assertEquals(4, d.sendRaw(new long[][] {{0x7000_0000_0000L, 24}}, new long[][] {{buf + 40, 4}}));
            assertEquals(S_FAULT, p.machine.memory().read8(buf + 40));
            // no tail at all / unknown type: returned unwritten (used length 0)
            assertEquals(0, d.sendRaw(new long[][] {{buf, 8}}, new long[0][]));
            p.machine.memory().write8(buf, 0x42);
            assertEquals(0, d.sendRaw(new long[][] {{buf, 24}}, new long[][] {{buf + 48, 4}}));
            assertEquals(S_OK, st(d, detachReq(5, EP)));
        } catch (dev.viommu.core.mem.GuestMemoryException e) {
            fail(e);
        }
    }

    @ParameterizedTest
    @EnumSource(Platform.Bus.class)
    void shouldAnswerUnsuppWhenMapUnmapWasNotNegotiated(final Platform.Bus bus) {
        try (Platform p = boot(bus, Map.of())) {
            final ViommuGuestDriver d = p.driver();
            assertEquals(0, d.probe(LINUX_FEATURES & ~(1L << F_MAP_UNMAP), false));
            assertEquals(S_OK, st(d, attachReq(1, EP, 0)));
            assertEquals(S_UNSUPP, st(d, mapReq(1, 0, 0xFFF, 0, MAP_F_READ)));
            assertEquals(S_UNSUPP, st(d, unmapReq(1, 0, 0xFFF)));
        }
    }

    @ParameterizedTest
    @EnumSource(Platform.Bus.class)
    void shouldRefuseNewDomainsAndMappingsAtTheLimitsWithNomem(final Platform.Bus bus) {
        try (Platform p = boot(bus, Map.of("max-domains", 2, "max-mappings", 64, "max-total-mappings", 100))) {
            p.machine.attachEmulated("nic1", EP + 1);
            p.machine.attachEmulated("nic2", EP + 2);
            final ViommuGuestDriver d = p.driver();
            assertEquals(0, d.probe());
            final ViommuGuestDriver.Endpoint a = new ViommuGuestDriver.Endpoint(EP), b = new ViommuGuestDriver.Endpoint(EP + 1),
                    c = new ViommuGuestDriver.Endpoint(EP + 2);
            final ViommuGuestDriver.Domain da = d.domainAllocPaging(), db = d.domainAllocPaging(), dc = d.domainAllocPaging();
            assertEquals(0, d.attachDev(da, a));
            assertEquals(0, d.attachDev(db, b));
            assertEquals(-ENOMEM, d.attachDev(dc, c), "third domain over max-domains=2");
            // 64 per domain: the 65th MAP fails; Linux's batched MAPs ignore the status, so send synchronously
            for (int i = 0; i < 64; i++) assertEquals(0, d.sendReqSync(mapReq(da.id, i * 4096L, i * 4096L + 4095, 0, MAP_F_READ)));
            assertEquals(-ENOMEM, d.sendReqSync(mapReq(da.id, 64 * 4096L, 64 * 4096L + 4095, 0, MAP_F_READ)));
            // 100 in total: domain b gets 36
            for (int i = 0; i < 36; i++) assertEquals(0, d.sendReqSync(mapReq(db.id, i * 4096L, i * 4096L + 4095, 0, MAP_F_READ)));
            assertEquals(-ENOMEM, d.sendReqSync(mapReq(db.id, 36 * 4096L, 36 * 4096L + 4095, 0, MAP_F_READ)));
            // freeing room makes MAP work again: the device stayed healthy
            assertEquals(0, d.sendReqSync(unmapReq(da.id, 0, 64 * 4096L - 1)));
            assertEquals(0, d.sendReqSync(mapReq(db.id, 36 * 4096L, 36 * 4096L + 4095, 0, MAP_F_READ)));
            assertEquals(0, d.detachDev(a));
            assertEquals(0, d.attachDev(dc, c), "a domain slot is free again");
        }
    }

    private static int st(final ViommuGuestDriver d, final byte[] req) {
        d.sendReqSync(req);
        return ViommuGuestDriver.status(req);
    }
}
