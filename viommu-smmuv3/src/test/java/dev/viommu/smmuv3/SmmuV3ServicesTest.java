package dev.viommu.smmuv3;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.host.NoHostBackend;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.metrics.ViommuMetrics;
import dev.viommu.core.spi.DeviceContext;
import dev.viommu.core.spi.Endpoint;
import dev.viommu.core.spi.EventSink;
import dev.viommu.core.spi.InterruptSink;
import dev.viommu.core.spi.PageRequestService;
import dev.viommu.core.spi.Properties;
import dev.viommu.core.translate.AccessType;
import dev.viommu.core.translate.Translation;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.viommu.core.guest.GuestMachine.NO_PASID;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The services the core sees without casting: page requests, metrics, and the query-viommu dump. */
class SmmuV3ServicesTest {
    private final ViommuMetrics metrics = new ViommuMetrics();
    private final GuestMemory ram = GuestMemory.anonymous(0, 64L << 20);

    private SmmuV3Device device(final Map<String, ?> props) throws Exception {
        final SmmuV3Provider p = new SmmuV3Provider();
        final DeviceContext ctx = new DeviceContext(() -> ram, new NoHostBackend(), InterruptSink.NONE, EventSink.NONE,
                metrics.forDevice("smmu0", p.driver()));
        return (SmmuV3Device) p.create("smmu0", Properties.parse(p.driver(), p.properties(), props), ctx);
    }

    /** A guest over the device, through a minimal in-process machine (the device was built with our metrics). */
    private SmmuV3TestGuest boot(final SmmuV3Device dev) {
        final SmmuV3TestGuest d = new SmmuV3TestGuest(new ContextMachine(dev, ram), 1L << 20);
        d.hwProbe();
        d.initStructures();
        d.deviceReset();
        return d;
    }

    @Test
    void shouldOfferThePageRequestServiceOnlyWithPri() throws Exception {
        assertTrue(device(Map.of()).pageRequests().isEmpty());
        assertTrue(device(Map.of("pri", true, "ats", true)).pageRequests().isPresent());
    }

    @Test
    void shouldAnswerPageRequestsThroughTheServiceInPcieCodes() throws Exception {
        final SmmuV3Device dev = device(Map.of("pri", true, "ats", true));
        final PageRequestService prs = dev.pageRequests().orElseThrow();
        final List<int[]> answers = new ArrayList<>();
        prs.setResponder((s, p, g, c) -> answers.add(new int[] {s, p, g, c}));
        assertFalse(prs.pageRequest(3, NO_PASID, 0x1000, AccessType.READ, true, 1), "refused while PRIQEN = 0");
        assertTrue(answers.isEmpty(), "a refused request is not also answered");
        final SmmuV3TestGuest d = boot(dev);
        assertTrue(prs.pageRequest(3, 5, 0x1000, AccessType.READ, true, 1));
        assertTrue(prs.pageRequest(3, NO_PASID, 0x2000, AccessType.WRITE, true, 2));
        assertTrue(prs.pageRequest(3, NO_PASID, 0x3000, AccessType.WRITE, true, 3));
        assertTrue(answers.isEmpty(), "no answer before the guest's PRI_RESP");
        final List<SmmuV3TestGuest.PageRequest> reqs = d.priqThread(SmmuV3TestGuest.PRI_RESP_SUCC);
        assertEquals(3, reqs.size());
        assertEquals(List.of("3/5/1/0", "3/-1/2/0", "3/-1/3/0"), answers.stream().map(a -> a[0] + "/" + a[1] + "/" + a[2] + "/" + a[3]).toList());
        answers.clear();
        assertTrue(prs.pageRequest(3, NO_PASID, 0x4000, AccessType.READ, true, 4));
        assertTrue(prs.pageRequest(3, NO_PASID, 0x5000, AccessType.READ, true, 5));
        d.priqThread(SmmuV3TestGuest.PRI_RESP_DENY);
        assertEquals(PageRequestService.INVALID_REQUEST, answers.get(0)[3], "PRI_RESP Denied is PCIe Invalid Request");
        answers.clear();
        assertTrue(prs.pageRequest(3, NO_PASID, 0x4000, AccessType.READ, true, 6));
        d.priqThread(SmmuV3TestGuest.PRI_RESP_FAIL);
        assertEquals(PageRequestService.RESPONSE_FAILURE, answers.get(0)[3], "PRI_RESP Failure is PCIe Response Failure");
    }

    @Test
    void shouldAcceptAnOverflowedRequestAndAnswerItsGroupAutomatically() throws Exception {
        final SmmuV3Device dev = device(Map.of("pri", true, "ats", true));
        final PageRequestService prs = dev.pageRequests().orElseThrow();
        final List<int[]> answers = new ArrayList<>();
        prs.setResponder((s, p, g, c) -> answers.add(new int[] {g, c}));
        final SmmuV3TestGuest d = boot(dev);
        for (int i = 0; i < 1 << d.priqShift; i++) assertTrue(prs.pageRequest(1, NO_PASID, 0x1000L * i, AccessType.READ, true, i));
        assertTrue(prs.pageRequest(1, NO_PASID, 0, AccessType.READ, true, 0x1FF));
        assertEquals(1, answers.size());
        assertEquals(0x1FF, answers.get(0)[0]);
        assertEquals(PageRequestService.SUCCESS, answers.get(0)[1]);
    }

    @Test
    void shouldRecordIotlbLookupsFaultsInvalidationsAndQueueDepths() throws Exception {
        final SmmuV3Device dev = device(Map.of());
        final SmmuV3TestGuest d = boot(dev);
        final SmmuV3TestGuest.PageTable pt = d.s1Table(12);
        pt.map(0x4000, 0x20_0000, true, false, true, false);
        final long cd = d.alloc(64, 64);
        assertTrue(d.installCd(cd, 2, 0, SmmuV3TestGuest.s1Cd(9, pt.root, 12, 5, true, true)));
        assertTrue(d.installSte(2, SmmuV3TestGuest.s1Ste(cd, 0, 0, 0)));
        final Translation t = new Translation();
        assertTrue(dev.translation().translate(2, NO_PASID, 0x4000, AccessType.READ, t));
        assertTrue(dev.translation().translate(2, NO_PASID, 0x4008, AccessType.READ, t));
        assertFalse(dev.translation().translate(2, NO_PASID, 0x9000, AccessType.READ, t));
        assertTrue(d.tlbiVa(0, 9, 0x4000));
        final MeterRegistry r = metrics.registry();
        assertEquals(1.0, count(r, "viommu.iotlb.lookups", "result", "hit"));
        assertEquals(2.0, count(r, "viommu.iotlb.lookups", "result", "miss"));
        assertEquals(1.0, count(r, "viommu.faults", "type", "F_TRANSLATION"));
        assertEquals(1.0, count(r, "viommu.invalidations", "type", "TLBI_NH_VA"));
        assertEquals(1.0, count(r, "viommu.invalidations", "type", "CFGI_ALL"));
        assertEquals(1.0, count(r, "viommu.invalidations", "type", "CFGI_STE"));
        assertEquals(1.0, count(r, "viommu.invalidations", "type", "CFGI_CD"));
        assertEquals(0.0, r.find("viommu.invalidations").tag("type", "PREFETCH_CONFIG").counters().size(), "hints are not invalidations");
        assertEquals(1.0, gauge(r, "eventq"), "the unread F_TRANSLATION record");
        assertEquals(0.0, gauge(r, "cmdq"));
        assertEquals(0.0, gauge(r, "priq"));
        d.evtqThread();
        assertEquals(0.0, gauge(r, "eventq"));
    }

    @Test
    void shouldDescribeWithJsonValuesOnly() throws Exception {
        final SmmuV3Device dev = device(Map.of("pri", true, "ats", true));
        final SmmuV3TestGuest d = boot(dev);
        dev.attachEndpoint(Endpoint.emulated("ep0", 2));
        d.installSte(2, SmmuV3TestGuest.bypassSte());
        dev.translation().translate(2, NO_PASID, 0x1000, AccessType.READ, new Translation());
        dev.translation().translate(7, NO_PASID, 0x1000, AccessType.READ, new Translation());
        final Map<String, Object> m = dev.describe();
        assertJson(m, "describe()");
        assertNotNull(m.get("streamTable"));
        assertNotNull(m.get("caches"));
        assertNotNull(m.get("queues"));
    }

    /** Maps with string keys, lists, strings, numbers, booleans and null: what Jackson writes without help. */
    private static void assertJson(final Object v, final String path) {
        switch (v) {
            case null -> { }
            case String s -> { }
            case Number n -> {
                if (!(n instanceof Integer || n instanceof Long || n instanceof Double || n instanceof Short || n instanceof Byte)) {
                    fail(path + ": " + n.getClass());
                }
            }
            case Boolean b -> { }
            case Map<?, ?> m -> m.forEach((k, x) -> {
                if (!(k instanceof String)) fail(path + ": key " + k + " is a " + k.getClass());
                assertJson(x, path + "." + k);
            });
            case List<?> l -> { for (int i = 0; i < l.size(); i++) assertJson(l.get(i), path + "[" + i + "]"); }
            default -> fail(path + ": " + v.getClass().getName() + " is not a JSON value");
        }
    }

    private static double count(final MeterRegistry r, final String name, final String tag, final String value) {
        final Counter c = r.find(name).tag(tag, value).counter();
        return c == null ? 0 : c.count();
    }

    private static double gauge(final MeterRegistry r, final String queue) {
        final Gauge g = r.find("viommu.queue.depth").tag("queue", queue).gauge();
        assertNotNull(g, queue);
        return g.value();
    }

    /** The few GuestMachine calls the test guest makes, straight into a device built with our own context. */
    private record ContextMachine(SmmuV3Device dev, GuestMemory memory) implements GuestMachine {
        @Override public long mmioRead(final int region, final long offset, final int size) { return dev.mmioRegions().get(region).read(offset, size); }

        @Override public void mmioWrite(final int region, final long offset, final int size, final long value) {
            dev.mmioRegions().get(region).write(offset, size, value);
        }

        @Override public void doorbell(final int queue) { dev.doorbell(queue); }

        @Override public void attachEmulated(final String endpointId, final int sourceId) { throw new UnsupportedOperationException(); }

        @Override public void detach(final String endpointId) { throw new UnsupportedOperationException(); }

        @Override public Translated translate(final int sourceId, final int pasid, final long iova, final int access) {
            throw new UnsupportedOperationException();
        }

        @Override public boolean pageRequest(final int s, final int p, final long a, final int acc, final boolean last, final int g) {
            throw new UnsupportedOperationException();
        }

        @Override public List<PageResponse> takePageResponses() { return List.of(); }

        @Override public Remapped remapMsi(final int sourceId, final long address, final int data) { throw new UnsupportedOperationException(); }

        @Override public List<Interrupt> takeInterrupts(final long timeoutMillis) { return List.of(); }

        @Override public List<Invalidation> takeInvalidations() { return List.of(); }

        @Override public String describe() { return String.valueOf(dev.describe()); }

        @Override public void close() { dev.close(); }
    }
}
