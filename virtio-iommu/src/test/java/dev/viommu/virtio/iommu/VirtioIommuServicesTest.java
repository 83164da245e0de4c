package dev.viommu.virtio.iommu;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.host.HostBackend;
import dev.viommu.core.host.HostDeviceRef;
import dev.viommu.core.host.HostException;
import dev.viommu.core.posix.Errno;
import dev.viommu.core.host.IovaRange;
import dev.viommu.core.host.ObjectId;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.metrics.DeviceMetrics;
import dev.viommu.core.metrics.ViommuMetrics;
import dev.viommu.core.spi.DeviceContext;
import dev.viommu.core.spi.Endpoint;
import dev.viommu.core.spi.EventSink;
import dev.viommu.core.spi.InterruptSink;
import dev.viommu.core.spi.Properties;
import dev.viommu.core.translate.AccessType;
import dev.viommu.virtio.fixture.DeviceTestDriver;
import dev.viommu.core.guest.virtio.GuestAllocator;
import dev.viommu.core.guest.virtio.VirtioMmioGuest;
import org.junit.jupiter.api.Test;
import org.mockito.InOrder;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import dev.viommu.core.guest.virtio.ViommuRequests;

import static dev.viommu.core.guest.virtio.ViommuRequests.*;
import static dev.viommu.virtio.fixture.DeviceTestDriver.*;
import static org.junit.jupiter.api.Assertions.*;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyInt;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.*;

/** describe() as JSON, the metrics the device records, and the default host binding over the HostBackend. */
class VirtioIommuServicesTest {
    static final int EP = 8;

    private static int st(final DeviceTestDriver d, final byte[] req) {
        d.sendReqSync(req);
        return ViommuRequests.status(req);
    }

    @Test
    void shouldDescribeItselfWithJsonSerialisableValuesOnly() throws Exception {
        for (String driver : List.of("virtio-iommu-device", "virtio-iommu-pci")) {
            try (DirectMachine m = new DirectMachine(driver, Map.of(), 64L << 20)) {
                m.attachEmulated("ep", EP);
                m.attachEmulated("ep2", EP + 1);
                final DeviceTestDriver d = new DeviceTestDriver(m, new VirtioMmioGuest(m, 0), new GuestAllocator(0x10_0000, 0x100_0000));
                if (driver.endsWith("device")) {
                    assertEquals(0, d.probe());
                    assertEquals(S_OK, st(d, attachReq(1, EP, 0)));
                }
                final Map<String, Object> desc = m.device().describe();
                assertJsonValues(desc, driver);
                final String json = new ObjectMapper().writeValueAsString(desc);
                assertTrue(json.contains("\"endpoints\""), json);
            }
        }
    }

    private static void assertJsonValues(final Object v, final String where) {
        switch (v) {
            case Map<?, ?> map -> map.forEach((k, x) -> {
                assertInstanceOf(String.class, k, where);
                assertJsonValues(x, where + "." + k);
            });
            case List<?> l -> l.forEach(x -> assertJsonValues(x, where + "[]"));
            case String s -> { }
            case Number n -> { }
            case Boolean b -> { }
            case null -> fail(where + " is null");
            default -> fail(where + " is a " + v.getClass().getName());
        }
    }

    @Test
    void shouldRecordLookupsInvalidationsFaultsAndQueueDepths() {
        final ViommuMetrics reg = new ViommuMetrics();
        final DeviceMetrics metrics = reg.forDevice("v", "virtio-iommu-device");
        final GuestMemory ram = GuestMemory.anonymous(0, 64L << 20);
        final VirtioIommuDevice dev = new VirtioIommuDevice("v", "virtio-iommu-device", VirtioIommuDevice.Transport.MMIO,
                VirtioIommuConfig.from(props(Map.of("boot-bypass", false))),
                new DeviceContext(() -> ram, new dev.viommu.core.host.NoHostBackend(), InterruptSink.NONE, EventSink.NONE, metrics),
                HostBinding.NONE);
        final TestMachine m = new TestMachine(dev, ram);
        m.attachEmulated("ep", EP);
        final DeviceTestDriver d = new DeviceTestDriver(m, new VirtioMmioGuest(m, 0), new GuestAllocator(0x10_0000, 0x100_0000));
        assertEquals(0, d.probe());
        assertEquals(S_OK, st(d, attachReq(1, EP, 0)));
        assertEquals(S_OK, st(d, mapReq(1, 0x1000, 0x1FFF, 0x10_0000, MAP_F_READ)));
        assertTrue(m.translate(EP, GuestMachine.NO_PASID, 0x1000, AccessType.READ).ok());
        assertFalse(m.translate(EP, GuestMachine.NO_PASID, 0x3000, AccessType.READ).ok());
        assertEquals(S_OK, st(d, unmapReq(1, 0x1000, 0x1FFF)));
        assertEquals(S_OK, st(d, detachReq(1, EP)));
        assertFalse(m.translate(EP, GuestMachine.NO_PASID, 0x3000, AccessType.READ).ok());
        assertEquals(1, metrics.iotlbHits.count());
        assertEquals(1, metrics.iotlbMisses.count());
        assertEquals(3, metrics.translations.count());
        final String text = reg.scrape();
        assertTrue(text.contains("viommu_invalidations_total{device=\"v\",driver=\"virtio-iommu-device\",type=\"UNMAP\"} 1.0"), text);
        assertTrue(text.contains("type=\"DETACH\"} 1.0"), text);
        assertTrue(text.contains("viommu_faults_total{device=\"v\",driver=\"virtio-iommu-device\",type=\"MAPPING\"} 1.0"), text);
        assertTrue(text.contains("type=\"DOMAIN\"} 1.0"), text);
        assertTrue(text.contains("viommu_queue_depth{device=\"v\",driver=\"virtio-iommu-device\",queue=\"requestq\"} 0.0"), text);
        assertTrue(text.contains("queue=\"eventq\"}"), text);
    }

    private static Properties props(final Map<String, ?> p) {
        try {
            return Properties.parse("virtio-iommu-device", VirtioIommuConfig.properties(), p);
        } catch (dev.viommu.core.spi.PropertyException e) {
            throw new IllegalArgumentException(e);
        }
    }

    @Test
    void shouldProgramTheHostBackendForPassthroughEndpointsByDefault() throws Exception {
        final HostBackend host = mock(HostBackend.class);
        final ObjectId.Device hd = new ObjectId.Device(7);
        final ObjectId.Ioas scratch = new ObjectId.Ioas(20), ioas = new ObjectId.Ioas(21);
        when(host.kind()).thenReturn("sim");
        when(host.bindDevice(any())).thenReturn(hd);
        when(host.allocIoas()).thenReturn(scratch, ioas);
        when(host.iovaRanges(scratch)).thenReturn(List.of(new IovaRange(0, 0xFEDF_FFFFL), new IovaRange(0xFEF0_0000L, (1L << 48) - 1)));
        final GuestMemory ram = GuestMemory.anonymous(0, 64L << 20);
        final DeviceContext ctx = new DeviceContext(() -> ram, host, InterruptSink.NONE, EventSink.NONE, DeviceMetrics.detached("h"));
        final HostBinding binding = HostBindingFactory.find("h", ctx);
        assertInstanceOf(HostBackendBinding.class, binding, "ctx.host() of kind sim gives the HostBackend binding");
        final VirtioIommuDevice dev = new VirtioIommuDevice("h", "virtio-iommu-device", VirtioIommuDevice.Transport.MMIO,
                VirtioIommuConfig.from(props(Map.of())), ctx, binding);
        final TestMachine m = new TestMachine(dev, ram);
        dev.attachEndpoint(new Endpoint("vfio0", Endpoint.Kind.PASSTHROUGH, 0x20, Optional.of(HostDeviceRef.path("/dev/vfio/devices/vfio0"))));
        final DeviceTestDriver d = new DeviceTestDriver(m, new VirtioMmioGuest(m, 0), new GuestAllocator(0x10_0000, 0x100_0000));
        assertEquals(0, d.probe());
        final DeviceTestDriver.Endpoint ep = new DeviceTestDriver.Endpoint(0x20);
        assertEquals(0, d.probeEndpoint(ep));
        assertEquals(List.of(new ResvMem(1, 0xFEE0_0000L, 0xFEEF_FFFFL), new ResvMem(0, 1L << 48, -1L)), ep.resvRegions,
                "the host's gaps: its MSI window (merged with ours) and everything above the 48-bit aperture");
        assertEquals(S_OK, st(d, attachReq(1, 0x20, 0)));
        assertEquals(S_OK, st(d, mapReq(1, 0x4000, 0x5FFF, 0x20_0000, MAP_F_READ | MAP_F_WRITE)));
        assertEquals(S_OK, st(d, unmapReq(1, 0x4000, 0x5FFF)));
        assertEquals(S_OK, st(d, detachReq(1, 0x20)));
        final InOrder o = inOrder(host);
        o.verify(host).bindDevice(HostDeviceRef.path("/dev/vfio/devices/vfio0"));
        o.verify(host).attach(hd, -1, scratch);
        o.verify(host).detach(hd, -1);
        o.verify(host).destroy(scratch);
        o.verify(host).attach(hd, -1, ioas);
        o.verify(host).map(ioas, 0x4000, 0x20_0000, 0x2000, AccessType.READ | AccessType.WRITE);
        o.verify(host).unmap(ioas, 0x4000, 0x2000);
        o.verify(host).detach(hd, -1);
        o.verify(host).destroy(ioas);
        when(host.allocIoas()).thenReturn(new ObjectId.Ioas(22));
        doThrow(new HostException("ioas-map", Errno.EIO)).when(host)
                .map(any(), anyLong(), anyLong(), anyLong(), anyInt());
        assertEquals(S_OK, st(d, attachReq(2, 0x20, 0)));
        assertEquals(S_DEVERR, st(d, mapReq(2, 0x4000, 0x4FFF, 0, MAP_F_READ)), "a host failure with EIO: S_DEVERR");
        verify(host, never()).map(eq(ioas), eq(0x8000L), anyLong(), anyLong(), anyInt());
        dev.close();
        verify(host).unbindDevice(hd);
    }

    private static long anyLong() { return org.mockito.ArgumentMatchers.anyLong(); }
}
