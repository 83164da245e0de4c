package dev.viommu.virtio.iommu;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.spi.PciFunction;
import dev.viommu.core.translate.AccessType;
import dev.viommu.core.translate.TranslationService;
import dev.viommu.virtio.iommu.HostileGuest.Chain;
import dev.viommu.virtio.iommu.HostileGuest.Entry;
import dev.viommu.virtio.iommu.HostileGuest.Layout;
import dev.viommu.virtio.iommu.HostileGuest.Mode;
import dev.viommu.virtio.iommu.HostileGuest.Transport;
import dev.viommu.virtio.iommu.IommuReferenceModel.Expected;
import dev.viommu.virtio.iommu.IommuReferenceModel.Mapping;
import dev.viommu.virtio.spec.IommuRequest;
import dev.viommu.virtio.spec.PciConfig;
import dev.viommu.virtio.spec.VirtioMmioReg;
import dev.viommu.virtio.spec.VirtioPciCap;
import dev.viommu.virtio.transport.PciConfigSpace;
import dev.viommu.virtio.transport.PciLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static dev.viommu.core.guest.virtio.ViommuRequests.*;
import static dev.viommu.virtio.iommu.HostileGuest.*;
import static dev.viommu.virtio.iommu.RawVirtqueue.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A hostile guest that knows virtio-iommu. From a correctly initialised device (virtio-mmio, virtio-pci with INTx
 * or MSI-X; with and without EVENT_IDX and indirect descriptors) a seeded guest interleaves thousands of:
 * well-formed ATTACH/DETACH/MAP/UNMAP/PROBE with plausible but often invalid fields (domains and endpoints out of
 * range or unknown, overlapping, huge, wrapping and misaligned ranges, unknown flags, reserved fields set); the
 * same requests with damaged chains (bit flips in descriptor address, length, flags and next; loops; chains longer
 * than the queue; buffers outside RAM or inside the rings; zero-length and wrongly directed buffers; indirect
 * tables nested, empty or without the feature; damaged headers and types; damaged available-ring slots and
 * indices); damaged event buffers; random transport register, configuration and PCI config-space accesses,
 * resets in the middle and out-of-order initialisation; doorbells for queues that do not exist; hot-unplug; and
 * DMA translations from any endpoint, PASID, address and access type.
 * <p>
 * Invariants: no exception escapes a device call, every call returns (the timeout), the device writes guest RAM
 * only in used rings and device-writable buffers ({@link DeviceWriteOracle}), a running device answers every
 * well-formed request and consumes every chain it is notified of (a damaged chain may set DEVICE_NEEDS_RESET
 * instead, §2.1.2, after which reset and re-initialisation must bring it back), every status is a §5.13.6.3
 * S_* value with a zero reserved tail, a request succeeds exactly when {@link IommuReferenceModel} says it is
 * valid, translations and fault records agree with the model, and so do the device's domain and mapping counts.
 * A damaged request that may have done something is resolved by detaching every endpoint.
 */
class VirtioIommuHostileGuestTest {
    private static final int STEPS = 5_000;
    private static final int EP_A = 8, EP_B = 9, EP_C = 0x100;
    private static final int[] ENDPOINTS = {EP_A, EP_B, EP_C};
    private static final long[] MSI = {0xFEE0_0000L, 0xFEEF_FFFFL, 1};

    private HostileGuest g;
    private ChainDamage damage;
    private IommuReferenceModel model;
    private Random r;
    private long wanted;
    private int step;
    private final ArrayDeque<String> history = new ArrayDeque<>();
    /** A damaged request may have had an effect: the model does not know the device's state until re-synced. */
    private boolean dirty;
    /** The eventq holds only this driver's buffers, so every fault record can be matched to its translation. */
    private boolean eventsTrusted;
    private final ArrayDeque<long[]> expectedFaults = new ArrayDeque<>();
    private List<long[]> resv;
    private final Map<String, Integer> stats = new HashMap<>();

    static Stream<Arguments> variants() {
        final long all = ALL_FEATURES;
        return Stream.of(
                Arguments.of(Transport.MMIO, Map.of("queue-size", 64, "probe-size", 128), all, List.of(MSI), 1L),
                Arguments.of(Transport.PCI_MSIX, Map.of("queue-size", 32, "boot-bypass", false,
                        "reserved-regions", "0x100000:0x1fffff"), all, List.of(new long[] {0x10_0000L, 0x1F_FFFFL, 0}, MSI), 2L),
                Arguments.of(Transport.PCI_INTX, Map.of("queue-size", 16, "event-idx", false, "indirect-desc", false,
                        "granule", "64k", "aw-bits", 48), all, List.of(MSI), 3L),
                Arguments.of(Transport.MMIO, Map.of("queue-size", 16, "aw-bits", 39, "domain-range-start", 1,
                        "domain-range-end", 40, "probe-size", 64, "reserved-regions", "0x0:0xfff,0x3000:0x3fff",
                        "boot-bypass", false, "max-domains", 4), all & ~(1L << F_MMIO),
                        List.of(new long[] {0, 0xFFFL, 0}, new long[] {0x3000L, 0x3FFFL, 0}, MSI), 4L),
                Arguments.of(Transport.PCI_MSIX, Map.of("queue-size", 64, "max-mappings", 300, "max-total-mappings", 500,
                        "granule", "16k", "indirect-desc", false), all & ~(1L << F_EVENT_IDX) & ~(1L << F_PROBE), List.of(MSI), 5L),
                Arguments.of(Transport.MMIO, Map.of("queue-size", 32, "msi-window", ""), all & ~(1L << F_INDIRECT_DESC),
                        List.of(), 6L),
                Arguments.of(Transport.PCI_INTX, Map.of("queue-size", 64, "domain-range-start", 0xFFFF_FFF0L,
                        "domain-range-end", 0xFFFF_FFFFL, "boot-bypass", false), all & ~(1L << F_BYPASS_CONFIG), List.of(MSI), 7L),
                Arguments.of(Transport.PCI_MSIX, Map.of("queue-size", 16, "granule", "8k", "aw-bits", 32), all, List.of(MSI), 8L));
    }

    @ParameterizedTest(name = "{0} seed {4}")
    @MethodSource("variants")
    @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void aHostileGuestNeverBreaksTheDeviceOrItsAddressSpaces(final Transport transport, final Map<String, Object> props,
                                                             final long features, final List<long[]> resvMem, final long seed) {
        r = new Random(seed);
        wanted = features;
        resv = resvMem;
        try (HostileGuest guest = new HostileGuest(transport, props)) {
            g = guest;
            damage = new ChainDamage(g, r);
            for (int ep : ENDPOINTS) g.machine.attachEmulated("ep" + ep, ep);
            g.setup(wanted);
            final VirtioIommuConfig c = g.device.config();
            model = new IommuReferenceModel(Long.lowestOneBit(g.pageSizeMask), g.inputEnd, g.domainFirst, g.domainLast,
                    c.maxDomains(), c.maxMappingsPerDomain(), c.maxTotalMappings(), resv, g.probeSize);
            for (int ep : ENDPOINTS) model.plug(ep);
            model.negotiated(g.features);
            model.bypass = c.bootBypass() ? 1 : 0;
            assertEquals(model.bypass, g.bypassByte(), "boot-bypass");
            eventsTrusted = true;
            for (step = 0; step < STEPS; step++) {
                try {
                    oneStep();
                    afterStep();
                } catch (Throwable e) {
                    throw new AssertionError("seed " + seed + " step " + step + ", last steps:\n  " + String.join("\n  ", history)
                            + "\n" + model + "\n" + g.device.describe(), e);
                }
            }
            stillAnswers();
        }
        final String s = "seed " + seed + ": " + stats;
        assertTrue(count("request S_OK") > 300 && count("request refused") > 300, s);
        assertTrue(count("translation compared") > 2000 && count("translation ok") > 300, s);
        assertTrue(count("damaged") > 300 && count("DEVICE_NEEDS_RESET") > 20 && count("damaged, no effect") > 50, s);
        assertTrue(count("fault record matched") > 100, s);
    }

    private int count(final String k) { return stats.getOrDefault(k, 0); }

    private void stat(final String k) { stats.merge(k, 1, Integer::sum); }

    private void note(final String s) {
        if (history.size() == 40) history.removeFirst();
        history.addLast(step + ": " + s);
    }

    private void oneStep() {
        final int k = r.nextInt(100);
        if (k < 33) wellFormedBatch();
        else if (k < 52) damagedRequest();
        else if (k < 67) translations();
        else if (k < 76) registerAccesses();
        else if (k < 79) damagedEventBuffers();
        else if (k < 82) hostileInitialisation();
        else if (k < 83) ringsBelowTheTop();
        else if (k < 85) mapBurst();
        else if (k < 88) hotplug();
        else if (k < 89) systemReset();
        else if (k < 93) strayNotifications();
        else sweep();
    }

    // ================================================================== invariants between steps

    /** Brings the device back to a running state the model describes, and compares what can be compared. */
    private void afterStep() {
        g.machine.takeInterrupts(0);
        if (!g.running()) {
            if (g.needsReset()) stat("DEVICE_NEEDS_RESET");
            if (!dirty) checkCounts("before re-initialising");   // DEVICE_NEEDS_RESET leaves the domains alone
            note("re-initialise (status 0x" + Integer.toHexString(g.deviceTransport().status()) + ")");
            boot();
            if (r.nextInt(4) != 0) populate();
        } else if (dirty) {
            resyncByDetaching();
        }
        checkCounts("after the step");
        for (int i = 0; i < 20 && drainEvents(); i++) { }
    }

    /** Reset and the initialisation of §3.1.1; no endpoint is attached afterwards and 'bypass' is unchanged (§5.13.4). */
    private void boot() {
        g.setup(wanted);
        model.detachAll();
        model.negotiated(g.features);
        assertEquals(model.bypass, g.bypassByte(), "the bypass byte survives a device reset");
        expectedFaults.clear();
        eventsTrusted = true;
        dirty = false;
        stat("re-initialised");
    }

    /** What a guest that just booted does: attach the endpoints (some sharing a domain) and map a few ranges. */
    private void populate() {
        final List<GuestRequest> reqs = new ArrayList<>();
        final long gr = granule();
        for (int ep : model.plugged()) {
            final int d = g.domainFirst + r.nextInt(4);
            reqs.add(new GuestRequest.Attach(d, ep, 0, 0));
            for (int n = 2 + r.nextInt(8); n > 0; n--) {
                final long s = gr * r.nextInt(64) + 0x4000_0000L;
                reqs.add(new GuestRequest.Map(d, s, s + gr * (1 + r.nextInt(4)) - 1, gr * r.nextInt(1 << 16),
                        r.nextInt(4) == 0 ? MAP_F_READ : MAP_F_READ | MAP_F_WRITE));
            }
        }
        note("populate " + reqs.size());
        send(reqs, true, 4);
    }

    private void checkCounts(final String when) {
        assertEquals(model.domainCount(), g.device.domainCount(), "domains " + when);
        assertEquals(model.mappingCount(), g.device.mappingCount(), "mappings " + when);
    }

    /**
     * After a damaged request that may have succeeded: DETACH every endpoint from the domain the device has it in
     * (its own {@code describe()}), which takes every domain and mapping away (§5.13.6.5); the model starts empty.
     */
    private void resyncByDetaching() {
        note("re-sync by detaching");
        @SuppressWarnings("unchecked")
        final List<Map<String, Object>> eps = (List<Map<String, Object>>) g.device.describe().get("endpoints");
        final List<GuestRequest> detach = new ArrayList<>();
        for (Map<String, Object> e : eps) {
            if ((Boolean) e.get("attached")) detach.add(new GuestRequest.Detach((int) (long) (Long) e.get("domain"), (Integer) e.get("endpoint")));
        }
        final List<Integer> st = send(detach, false, 4);
        for (int i = 0; i < st.size(); i++) assertEquals(S_OK, st.get(i), "re-sync " + detach.get(i));
        model.detachAll();
        dirty = false;
        stat("re-synced");
    }

    /** At the end, whatever happened: the device still attaches, maps and translates for a correct driver. */
    private void stillAnswers() {
        if (!g.running()) boot();
        resyncByDetaching();
        if (!model.isPlugged(EP_A)) {
            g.call("plug", () -> g.machine.attachEmulated("ep" + EP_A, EP_A));
            model.plug(EP_A);
        }
        final int d = g.domainFirst + 2;
        final long gr = Long.lowestOneBit(g.pageSizeMask);
        final List<Integer> st = send(List.of(new GuestRequest.Attach(d, EP_A, 0, 0), new GuestRequest.Map(d, 0x40 * gr, 0x41 * gr - 1,
                0x7 * gr, MAP_F_READ)), true, 4);
        assertEquals(List.of(S_OK, S_OK), st);
        checkTranslation(EP_A, TranslationService.NO_PASID, 0x40 * gr + 8, AccessType.READ);
    }

    // ================================================================== well-formed requests

    private void wellFormedBatch() {
        final List<GuestRequest> reqs = new ArrayList<>();
        for (int n = 1 + r.nextInt(4); n > 0; n--) reqs.add(randomRequest());
        note("well-formed " + reqs);
        send(reqs, true, 4);
    }

    /**
     * Sends well-formed requests in batches of at most {@code batch} chains, checks that every one is answered in
     * order with a valid status and, when {@code judge}, that it succeeded exactly when the model says it is valid.
     * Returns the statuses (-1: returned unwritten).
     */
    private List<Integer> send(final List<GuestRequest> reqs, final boolean judge, final int batch) {
        final List<Integer> statuses = new ArrayList<>();
        int i = 0;
        while (i < reqs.size()) {
            g.beginBatch();
            final List<Chain> chains = new ArrayList<>();
            while (i < reqs.size() && chains.size() < batch) {
                final GuestRequest q = reqs.get(i);
                final byte[] rd = ignoredBytes(q, q.readable());
                final Chain c = g.build(q, rd, q.writable(g.probeSize), wellFormedLayout(), r);
                if (c == null) break;
                g.publish(c);
                chains.add(c);
                i++;
            }
            g.kick(g.req);
            final List<RawVirtqueue.Used> used = g.req.reap();
            assertEquals(chains.size(), used.size(), "a running device answers every well-formed request");
            for (int k = 0; k < chains.size(); k++) statuses.add(answered(chains.get(k), used.get(k), judge));
        }
        return statuses;
    }

    private int answered(final Chain c, final RawVirtqueue.Used u, final boolean judge) {
        assertEquals(c.head(), u.id(), "used elements come back in order, with the head as id");
        if (c.request() instanceof GuestRequest.Probe && !g.has(F_PROBE)) {
            assertEquals(0, u.len(), "PROBE without F_PROBE is returned unwritten (§5.13.6.8.2)");
            return -1;
        }
        assertEquals(c.writeLen(), u.len(), "used length of " + c.request());
        final int[] t = g.tail(c);
        final int st = t[0];
        assertTrue(st <= S_NOMEM && st != S_IOERR && st != S_DEVERR, "status " + st + " for " + c.request());
        assertEquals(0, t[1] | t[2] | t[3], "reserved tail bytes");
        if (judge) {
            final boolean valid = model.valid(c.request());
            if (valid != (st == S_OK)) fail(c.request() + " → " + IommuRequest.statusName(st) + ", but the model says it is " + (valid ? "valid" : "invalid"));
            if (st == S_OK) model.apply(c.request());
            stat(st == S_OK ? "request S_OK" : "request refused");
        }
        if (st == S_OK && c.request() instanceof GuestRequest.Probe) checkProperties(g.properties(c));
        return st;
    }

    /** §5.13.6.8.2: one RESV_MEM property per reserved region, in order, then zeroes up to probe_size. */
    private void checkProperties(final byte[] props) {
        final ByteBuffer want = ByteBuffer.allocate(props.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long[] v : resv) {
            want.putShort((short) 1).putShort((short) 20).put((byte) v[2]).put(new byte[3]).putLong(v[0]).putLong(v[1]);
        }
        assertArrayEquals(want.array(), props, "PROBE properties");
    }

    /** A layout a correct driver may use: readable and writable parts in 1-3 pieces, indirect when negotiated. */
    private Layout wellFormedLayout() {
        final int rp = r.nextInt(4) == 0 ? 2 + r.nextInt(2) : 1, wp = r.nextInt(5) == 0 ? 2 + r.nextInt(2) : 1;
        Mode m = Mode.DIRECT;
        if (g.has(F_INDIRECT_DESC)) m = switch (r.nextInt(6)) { case 0, 1 -> Mode.INDIRECT; case 2 -> Mode.MIXED; default -> Mode.DIRECT; };
        // §2.7.5.3.2: the device MUST ignore the write-only flag of a descriptor that refers to an indirect table
        return new Layout(rp, wp, m, r.nextInt(5) == 0);
    }

    /** Sets bytes the device must ignore: head reserved[3], DETACH reserved[8], PROBE reserved[64]; sometimes extra bytes. */
    private byte[] ignoredBytes(final GuestRequest q, final byte[] rd) {
        if (r.nextInt(4) == 0) for (int i = 1; i < 4; i++) rd[i] = (byte) r.nextInt();
        if (q instanceof GuestRequest.Detach && r.nextInt(4) == 0) for (int i = 12; i < 20; i++) rd[i] = (byte) r.nextInt();
        if (q instanceof GuestRequest.Probe && r.nextInt(4) == 0) for (int i = 8; i < 72; i++) rd[i] = (byte) r.nextInt();
        if (r.nextInt(20) == 0) {
            final byte[] longer = Arrays.copyOf(rd, rd.length + 1 + r.nextInt(12));
            for (int i = rd.length; i < longer.length; i++) longer[i] = (byte) r.nextInt();
            return longer;
        }
        return rd;
    }

    // ---- random but plausible fields

    private long granule() { return Long.lowestOneBit(g.pageSizeMask); }

    private int domain() {
        final int k = r.nextInt(20);
        if (k < 15) return g.domainFirst + r.nextInt(6);
        return switch (k) {
            case 15 -> g.domainLast + 1;
            case 16 -> g.domainFirst - 1;
            case 17 -> g.domainLast;
            case 18 -> -1;
            default -> r.nextInt();
        };
    }

    /** A domain some endpoint is attached to, if any, else {@link #domain()}. */
    private int liveDomain() {
        final int ep = ENDPOINTS[r.nextInt(ENDPOINTS.length)];
        final Integer d = model.domainOf(ep);
        return d != null && r.nextInt(5) != 0 ? d : domain();
    }

    private int endpoint() {
        final int k = r.nextInt(12);
        if (k < 10) return ENDPOINTS[r.nextInt(ENDPOINTS.length)];
        return switch (r.nextInt(4)) { case 0 -> 0x77; case 1 -> -1; case 2 -> 0; default -> r.nextInt(); };
    }

    private long iova() {
        final long gr = granule();
        return switch (r.nextInt(12)) {
            case 0 -> 0xFEE0_0000L - gr * r.nextInt(3);                                  // at the MSI window
            case 1 -> g.inputEnd + 1 - gr * (1 + r.nextInt(4));                           // the top of the input range
            case 2 -> r.nextLong() & -gr;
            case 3 -> 0x10_0000L + gr * r.nextInt(8);
            default -> gr * r.nextInt(64) + (r.nextBoolean() ? 0 : 0x4000_0000L);
        };
    }

    private GuestRequest randomRequest() {
        final long gr = granule();
        return switch (r.nextInt(10)) {
            case 0, 1 -> new GuestRequest.Attach(domain(), endpoint(), r.nextInt(12) == 0 ? IommuRequest.ATTACH_F_BYPASS : r.nextInt(30) == 0 ? 1 << r.nextInt(32) : 0,
                    r.nextInt(15) == 0 ? 1 << r.nextInt(32) : 0);
            case 2 -> {
                final int ep = endpoint();
                final Integer d = model.domainOf(ep);
                yield new GuestRequest.Detach(d != null && r.nextInt(3) != 0 ? d : domain(), ep);
            }
            case 3, 4, 5 -> {
                final long s = iova();
                final long pages = switch (r.nextInt(20)) { case 0 -> 1L << (10 + r.nextInt(20)); case 1 -> (g.inputEnd - s) / gr + 1; default -> 1 + r.nextInt(8); };
                long e = s + pages * gr - 1;
                e = switch (r.nextInt(25)) { case 0 -> s - 1; case 1 -> e | 1; case 2 -> e + gr; case 3 -> -1L; case 4 -> s; default -> e; };
                final long p = switch (r.nextInt(25)) { case 0 -> -gr * pages; case 1 -> -gr; case 2 -> r.nextLong(); case 3 -> gr / 2; default -> gr * r.nextInt(1 << 16); };
                final int f = switch (r.nextInt(20)) {
                    case 0 -> 0; case 1 -> MAP_F_READ | MAP_F_MMIO; case 2 -> 1 << r.nextInt(32); case 3 -> r.nextInt(16);
                    case 4, 5, 6 -> MAP_F_READ; case 7, 8 -> MAP_F_WRITE; default -> MAP_F_READ | MAP_F_WRITE;
                };
                yield new GuestRequest.Map(liveDomain(), s, e, p, f);
            }
            case 6, 7 -> {
                final int d = liveDomain();
                final List<Mapping> ms = new ArrayList<>();
                for (int ep : ENDPOINTS) if (Integer.valueOf(d).equals(model.domainOf(ep))) { ms.addAll(model.mappingsOf(ep)); break; }
                long s = iova(), e = s + gr * (1 + r.nextInt(8)) - 1;
                if (!ms.isEmpty() && r.nextInt(4) != 0) {
                    final Mapping a = ms.get(r.nextInt(ms.size())), b = ms.get(r.nextInt(ms.size()));
                    switch (r.nextInt(4)) {
                        case 0 -> { s = a.start(); e = a.end(); }
                        case 1 -> { s = Math.min(a.start(), b.start()); e = Math.max(a.end(), b.end()); }
                        case 2 -> { s = a.start(); e = a.start() + gr - 1; }            // splits a multi-page mapping
                        default -> { s = a.start() + gr; e = a.end() + gr; }
                    }
                } else if (r.nextInt(10) == 0) {
                    s = 0;
                    e = r.nextBoolean() ? -1L : g.inputEnd;
                }
                yield new GuestRequest.Unmap(d, s, e, r.nextInt(20) == 0 ? 1 << r.nextInt(32) : 0);
            }
            default -> new GuestRequest.Probe(endpoint());
        };
    }

    // ================================================================== damaged requests

    private void damagedRequest() {
        stat("damaged");
        g.beginBatch();
        final GuestRequest q = randomRequest();
        final byte[] rd = q.readable();
        Layout l = wellFormedLayout();
        if (r.nextInt(10) == 0) l = new Layout(l.readPieces(), l.writePieces(), Mode.INDIRECT, false);   // maybe not negotiated
        final Chain c = g.build(q, rd, q.writable(g.probeSize), l, r);
        final StringBuilder what = new StringBuilder("damaged " + q + " " + l.mode() + ":");
        for (int n = 1 + (r.nextInt(3) == 0 ? 1 : 0); n > 0; n--) what.append(' ').append(damage.chain(c, rd));
        g.publish(c);
        final byte[] evtRings = g.image(EVT_DESC, eventRingBytes());
        final int usedIdx = g.req.deviceUsedIdx();
        boolean scribbledUsedIdx = false;
        if (r.nextInt(4) == 0) {
            what.append(' ').append(damage.ring(c));
            if (r.nextInt(6) == 0) {
                g.w16(REQ_USED + 2, usedIdx + 0x8000);
                scribbledUsedIdx = true;
            }
        }
        final byte[] reqAvailPublished = g.image(REQ_AVAIL, 6 + 2 * g.queueSize);
        final int how = r.nextInt(16);
        note(what + new String[] {" (no notification)", " (data-plane doorbell)", " (eventq notified)", ""}[Math.min(how, 3)]);
        switch (how) {
            case 0 -> { }
            case 1 -> g.doorbell(0);
            case 2 -> g.notify(1);
            default -> g.notify(0);
        }
        if (scribbledUsedIdx && g.req.deviceUsedIdx() == ((usedIdx + 0x8000) & 0xFFFF)) g.w16(REQ_USED + 2, usedIdx);
        final boolean availTouched = !Arrays.equals(reqAvailPublished, g.image(REQ_AVAIL, 6 + 2 * g.queueSize));
        if (!g.needsReset() && g.running() && !g.requestsDrained()) g.notify(0);
        if (!g.needsReset() && g.running() && !availTouched) {
            assertTrue(g.requestsDrained(), "a running device consumes every chain it is notified of");
        }
        judge(c, g.req.reap());
        g.req.resync();
        if (!Arrays.equals(evtRings, g.image(EVT_DESC, eventRingBytes()))) eventsTrusted = false;
        if (!dirty) {
            stat("damaged, no effect");
            probeAround(q);
        }
        if (availTouched || g.r16(REQ_USED) != 0) {
            // The guest gave the device its own request rings as a buffer (used.flags is the device's and stays 0):
            // this driver no longer knows its queue.
            note("the damaged request's buffer was the request ring itself");
            boot();
        }
    }

    /**
     * What the used elements of a damaged step prove. An element of length 0 was returned unwritten: it must have
     * had no effect. The damaged chain's own element with its full length and a failure status in its tail had
     * no effect either. Anything else may have succeeded: the model is dirty.
     */
    private void judge(final Chain c, final List<RawVirtqueue.Used> used) {
        int mine = 0;
        for (RawVirtqueue.Used u : used) if (u.id() == c.head()) mine++;
        for (RawVirtqueue.Used u : used) {
            if (u.len() == 0) continue;
            if (u.id() == c.head() && mine == 1 && u.len() == c.writeLen()) {
                final int[] t = g.tail(c);
                if (t[0] >= S_IOERR && t[0] <= S_NOMEM && (t[1] | t[2] | t[3]) == 0) {
                    assertNotEquals(S_DEVERR, t[0], "S_DEVERR means the device caught its own exception");
                    continue;
                }
            }
            dirty = true;
        }
    }

    /** After a damaged step without effect: the request's own IOVAs and the endpoints' mappings translate as before. */
    private void probeAround(final GuestRequest q) {
        final long a = switch (q) {
            case GuestRequest.Map m -> m.start();
            case GuestRequest.Unmap u -> u.start();
            default -> iova();
        };
        for (int ep : ENDPOINTS) {
            checkTranslation(ep, TranslationService.NO_PASID, a, AccessType.READ);
            final List<Mapping> ms = model.mappingsOf(ep);
            if (!ms.isEmpty()) checkTranslation(ep, TranslationService.NO_PASID, ms.get(r.nextInt(ms.size())).start(), AccessType.READ);
        }
    }

    // ================================================================== translations and fault records

    private void translations() {
        note("translations");
        for (int n = 4 + r.nextInt(12); n > 0; n--) randomTranslation();
    }

    private void randomTranslation() {
        int sid = r.nextInt(8) == 0 ? endpoint() : ENDPOINTS[r.nextInt(ENDPOINTS.length)];
        for (int i = 0; i < 3 && r.nextBoolean() && model.mappingsOf(sid).isEmpty(); i++) sid = ENDPOINTS[r.nextInt(ENDPOINTS.length)];
        final int pasid = r.nextInt(15) == 0 ? (r.nextBoolean() ? 0 : r.nextInt()) : TranslationService.NO_PASID;
        final List<Mapping> ms = model.mappingsOf(sid);
        long iova = iova() + (r.nextInt(4) == 0 ? r.nextInt((int) Math.min(granule(), 1 << 20)) : 0);
        if (!ms.isEmpty() && r.nextInt(3) != 0) {
            final Mapping m = ms.get(r.nextInt(ms.size()));
            iova = switch (r.nextInt(5)) {
                case 0 -> m.start(); case 1 -> m.end(); case 2 -> m.start() - 1; case 3 -> m.end() + 1;
                default -> m.start() + ((m.end() - m.start()) >>> 1);
            };
        } else if (r.nextInt(20) == 0) {
            iova = r.nextLong();
        }
        final int access = switch (r.nextInt(10)) {
            case 0 -> AccessType.EXEC; case 1 -> 0; case 2 -> AccessType.PRIV | AccessType.READ; case 3 -> r.nextInt(16);
            case 4, 5 -> AccessType.WRITE; case 6 -> AccessType.READ | AccessType.WRITE; default -> AccessType.READ;
        };
        checkTranslation(sid, pasid, iova, access);
    }

    /** Translates and compares with the model; a fault for a plugged endpoint must come as a record (§5.13.6.9). */
    private void checkTranslation(final int sid, final int pasid, final long iova, final int access) {
        final GuestMachine.Translated t = g.translate(sid, pasid, iova, access);
        final Expected e = model.expect(sid, pasid, iova, access);
        final String what = "translate sid " + sid + " pasid " + pasid + " iova 0x" + Long.toHexString(iova) + " access " + access;
        stat("translation compared");
        assertEquals(e.ok(), t.ok(), what + ": " + t);
        if (e.ok()) {
            stat("translation ok");
            assertEquals(e.out(), t.outputAddress(), what);
            assertEquals(e.perms(), t.permissions(), what);
            if (!e.identity()) {
                final long ps = t.pageSize();
                assertTrue(Long.bitCount(ps) == 1 && ps >= granule(), what + ": page size " + ps);
                final long base = iova & -ps;
                assertTrue(Long.compareUnsigned(base, e.blockStart()) >= 0 && Long.compareUnsigned(base + ps - 1, e.blockEnd()) <= 0,
                        what + ": a " + ps + "-byte block around it leaves the mapping");
            }
        } else if (model.isPlugged(sid)) {
            final int reason = pasid != TranslationService.NO_PASID ? 0 : model.domainOf(sid) == null ? 1 : 2;
            final int flags = 0x100 | ((access & AccessType.WRITE) != 0 ? 2 : 0) | ((access & (AccessType.READ | AccessType.EXEC)) != 0 ? 1 : 0);
            expectedFaults.add(new long[] {reason, flags, sid, iova});
        }
    }

    /** viommu_event_handler: every record is a §5.13.6.9 fault record, in the order the faults happened. */
    private boolean drainEvents() {
        final List<HostileGuest.Event> events = g.drainEvents(eventsTrusted);
        for (HostileGuest.Event ev : events) {
            if (!eventsTrusted) continue;
            assertEquals(EVT_SIZE, ev.len(), "event used length");
            final ByteBuffer b = ByteBuffer.wrap(ev.record()).order(ByteOrder.LITTLE_ENDIAN);
            final long[] want = expectedFaults.poll();
            assertNotNull(want, "a fault record without a fault: " + Arrays.toString(ev.record()));
            final long[] got = {b.get(0), b.getInt(4), b.getInt(8), b.getLong(16)};
            assertArrayEquals(want, got, "fault record (reason, flags, endpoint, address)");
            assertEquals(0, b.get(1) | b.get(2) | b.get(3) | b.getInt(12), "reserved fields of a fault record");
            stat("fault record matched");
        }
        return !events.isEmpty();
    }

    private void sweep() {
        note("sweep");
        assertEquals(model.bypass, g.bypassByte(), "bypass byte");
        for (int ep : model.plugged()) {
            final List<Mapping> ms = model.mappingsOf(ep);
            for (int i = 0; i < 6 && !ms.isEmpty(); i++) {
                final Mapping m = ms.get(r.nextInt(ms.size()));
                checkTranslation(ep, TranslationService.NO_PASID, m.start(), AccessType.READ);
                checkTranslation(ep, TranslationService.NO_PASID, m.end(), AccessType.WRITE);
            }
            for (int i = 0; i < 3; i++) checkTranslation(ep, TranslationService.NO_PASID, iova(), AccessType.READ);
        }
    }

    // ================================================================== many mappings at once

    /** A few hundred one-page MAPs in one domain (so the device's table grows past one block), UNMAPs, a sweep. */
    private void mapBurst() {
        final int ep = ENDPOINTS[r.nextInt(ENDPOINTS.length)];
        final int d = g.domainFirst + r.nextInt(6);
        if (send(List.of(new GuestRequest.Attach(d, ep, 0, 0)), true, 1).getFirst() != S_OK) return;
        final long gr = granule();
        final long base = gr * (2048 + r.nextInt(1024));
        final int n = 64 + r.nextInt(300);
        note("map burst of " + n + " in domain " + d);
        final List<Integer> pages = new ArrayList<>();
        for (int i = 0; i < 3 * n; i++) pages.add(i);
        java.util.Collections.shuffle(pages, r);
        final List<GuestRequest> maps = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            final long s = base + gr * pages.get(i);
            maps.add(new GuestRequest.Map(d, s, s + gr * (1 + (r.nextInt(8) == 0 ? 1 : 0)) - 1, gr * r.nextInt(1 << 20), MAP_F_READ | MAP_F_WRITE));
        }
        send(maps, true, Math.max(1, g.queueSize / 2));
        final List<GuestRequest> unmaps = new ArrayList<>();
        for (int i = 0; i < 5 + r.nextInt(15); i++) {
            final long s = base + gr * r.nextInt(3 * n);
            unmaps.add(new GuestRequest.Unmap(d, s, s + gr * (1 + r.nextInt(24)) - 1, 0));
        }
        send(unmaps, true, Math.max(1, g.queueSize / 2));
        checkCounts("after a burst");
        for (int i = 0; i < 30; i++) {
            checkTranslation(ep, TranslationService.NO_PASID, base + gr * r.nextInt(3 * n) + r.nextInt((int) Math.min(gr, 4096)),
                    r.nextBoolean() ? AccessType.READ : AccessType.WRITE);
        }
    }

    // ================================================================== the transport

    /** Random accesses to the transport registers, configuration space and (PCI) config space of a running device. */
    private void registerAccesses() {
        for (int n = 1 + r.nextInt(4); n > 0 && g.running(); n--) {
            final String what = g.transport == Transport.MMIO ? mmioAccess() : pciAccess();
            note(what);
            if (!g.deviceTransport().queue(0).ready()) {
                model.detachAll();                    // only a reset disables a queue (no VIRTIO_F_RING_RESET)
                expectedFaults.clear();
            }
            final int b = g.bypassByte();
            assertTrue(b == 0 || b == 1, "the device presents only 0 or 1 in bypass (§5.13.4)");
            model.bypass = b;
        }
    }

    private long registerValue() {
        return switch (r.nextInt(10)) {
            case 0 -> -1L; case 1 -> 0; case 2 -> 1L << 31; case 3 -> r.nextLong(); case 4 -> r.nextInt(RAM) & ~15L;
            case 5 -> 0x8000_0000_0000_0000L | r.nextInt(4); case 6 -> 1 + r.nextInt(3);
            default -> r.nextInt(256);
        };
    }

    private static final int[] MMIO_REGS = {
            VirtioMmioReg.DEVICE_FEATURES_SEL, VirtioMmioReg.DRIVER_FEATURES, VirtioMmioReg.DRIVER_FEATURES_SEL,
            VirtioMmioReg.QUEUE_SEL, VirtioMmioReg.QUEUE_NUM, VirtioMmioReg.QUEUE_READY, VirtioMmioReg.QUEUE_NOTIFY,
            VirtioMmioReg.INTERRUPT_ACK, VirtioMmioReg.QUEUE_DESC_LOW, VirtioMmioReg.QUEUE_DESC_HIGH,
            VirtioMmioReg.QUEUE_AVAIL_LOW, VirtioMmioReg.QUEUE_AVAIL_HIGH, VirtioMmioReg.QUEUE_USED_LOW,
            VirtioMmioReg.QUEUE_USED_HIGH, VirtioMmioReg.SHM_SEL, VirtioMmioReg.QUEUE_RESET, VirtioMmioReg.MAGIC_VALUE,
            VirtioMmioReg.DEVICE_FEATURES, VirtioMmioReg.INTERRUPT_STATUS, VirtioMmioReg.CONFIG_GENERATION,
            VirtioMmioReg.QUEUE_NUM_MAX};

    private String mmioAccess() {
        final int size = new int[] {4, 4, 4, 1, 2, 8}[r.nextInt(6)];
        long off = switch (r.nextInt(8)) {
            case 0 -> VirtioMmioReg.CONFIG + r.nextInt(48);
            case 1 -> r.nextInt(0x200);
            case 2 -> r.nextInt(30) == 0 ? VirtioMmioReg.STATUS : VirtioMmioReg.QUEUE_SEL;
            default -> MMIO_REGS[r.nextInt(MMIO_REGS.length)];
        };
        off = Math.min(off, 0x200 - size);
        final long v = registerValue();
        if (r.nextInt(3) == 0) {
            read(0, off, size);
            return "mmio read " + size + " @0x" + Long.toHexString(off);
        }
        final long o = off;
        g.call("mmio write", () -> g.machine.mmioWrite(0, o, size, v));
        return "mmio write " + size + " @0x" + Long.toHexString(off) + " = 0x" + Long.toHexString(v);
    }

    private String pciAccess() {
        final int size = new int[] {1, 2, 4, 8}[r.nextInt(4)];
        final int region;
        long off;
        switch (r.nextInt(6)) {
            case 0, 1 -> {
                region = 0;
                off = switch (r.nextInt(5)) {
                    case 0 -> PciLayout.ISR_OFFSET;
                    case 1 -> PciLayout.DEVICE_OFFSET + r.nextInt(48);
                    case 2 -> PciLayout.NOTIFY_OFFSET + r.nextInt(32);
                    case 3 -> r.nextInt((int) PciLayout.MODERN_BAR_SIZE);
                    default -> r.nextInt(30) == 0 ? VirtioPciCap.DEVICE_STATUS : new int[] {VirtioPciCap.Q_SELECT, VirtioPciCap.Q_SIZE,
                            VirtioPciCap.Q_MSIX, VirtioPciCap.Q_ENABLE, VirtioPciCap.Q_DESCLO, VirtioPciCap.Q_USEDHI, VirtioPciCap.GFSELECT,
                            VirtioPciCap.GF, VirtioPciCap.DFSELECT, VirtioPciCap.MSIX_CONFIG, VirtioPciCap.Q_RESET, 60}[r.nextInt(12)];
                };
                off = Math.min(off, PciLayout.MODERN_BAR_SIZE - size);
            }
            case 2 -> {
                region = 1;
                off = Math.min(r.nextBoolean() ? r.nextInt(64) : r.nextInt((int) PciLayout.MSIX_BAR_SIZE), PciLayout.MSIX_BAR_SIZE - size);
            }
            default -> {
                region = PciFunction.CONFIG_REGION;
                final int cap = g.device.pci().map(p -> ((PciConfigSpace) p).pciCfgCapability()).orElse(0x40);
                off = switch (r.nextInt(5)) {
                    case 0 -> PciConfig.COMMAND;
                    case 1 -> PciConfig.BAR0 + 4 * r.nextInt(6);
                    case 2 -> cap + VirtioPciCap.CAP_BAR + r.nextInt(16);          // the PCI_CFG window
                    case 3 -> ((PciConfigSpace) g.device.pci().orElseThrow()).msixCapability() + r.nextInt(12);
                    default -> r.nextInt(0x1000);
                };
                if (r.nextInt(20) == 0) off = r.nextInt();                      // the function checks the offset itself
            }
        }
        final long v = region == PciFunction.CONFIG_REGION && off == PciConfig.COMMAND ? r.nextInt(0x10000) : registerValue();
        final long o = off;
        if (r.nextInt(3) == 0) {
            read(region, o, size);
            return "pci read region " + region + " size " + size + " @0x" + Long.toHexString(o);
        }
        g.call("pci write", () -> g.machine.mmioWrite(region, o, size, v));
        return "pci write region " + region + " size " + size + " @0x" + Long.toHexString(o) + " = 0x" + Long.toHexString(v);
    }

    private void read(final int region, final long off, final int size) {
        final long v = g.machine.mmioRead(region, off, size);
        if (size < 8) assertEquals(0, v >>> (8 * size), "a " + size + "-byte read returned 0x" + Long.toHexString(v));
    }

    /**
     * Initialisation done wrong (§3.1.1 out of order, values out of range, resets in the middle, buffers published
     * and doorbells rung on half-configured queues, faults on a garbage eventq), then done right: afterwards the
     * device must work for the correct driver.
     */
    private void hostileInitialisation() {
        final StringBuilder what = new StringBuilder("hostile initialisation:");
        for (int n = 4 + r.nextInt(12); n > 0; n--) {
            switch (r.nextInt(11)) {
                case 0 -> { what.append(" reset"); g.status(0); }
                case 1 -> {
                    final int s = new int[] {1, 3, 0xB, 0xF, 4, 7, 0x4F, 0x80, 0xFF, r.nextInt(256)}[r.nextInt(10)];
                    what.append(" status 0x").append(Integer.toHexString(s));
                    g.status(s);
                }
                case 2 -> {
                    final int sel = new int[] {0, 1, 2, -1}[r.nextInt(4)];
                    final int v = r.nextBoolean() ? (int) (ALL_FEATURES >>> (32 * (sel & 1))) : r.nextInt();
                    what.append(" features[").append(sel).append("]=0x").append(Integer.toHexString(v));
                    final Object before = g.deviceTransport().describe().get("driver-features");
                    g.driverFeatures(sel, v);
                    if (sel != 0 && sel != 1) {
                        assertEquals(before, g.deviceTransport().describe().get("driver-features"),
                                "a write to feature word " + sel + ", which has no offered bits, is ignored");
                    }
                }
                case 3 -> {
                    final int q = new int[] {0, 1, 2, 0xFFFF, -1, 0x10000}[r.nextInt(6)];
                    what.append(" select ").append(q);
                    g.queueSelect(q);
                }
                case 4 -> {
                    final int s = new int[] {0, 1, 3, 16, g.queueSize, 2 * g.queueSize, 0xFFFF, r.nextInt()}[r.nextInt(8)];
                    what.append(" size ").append(s);
                    g.queueRegister(VirtioMmioReg.QUEUE_NUM, VirtioPciCap.Q_SIZE, 2, s);
                }
                case 5 -> {
                    final long a = switch (r.nextInt(7)) {
                        case 0 -> r.nextInt(RAM) | 1; case 1 -> RAM - 8; case 2 -> 1L << 40; case 3 -> SCRATCH;
                        case 5 -> -(16L << r.nextInt(10));                           // aligned, and the ring wraps past 2^64
                        case 4 -> new long[] {REQ_DESC, REQ_AVAIL, REQ_USED, EVT_DESC, EVT_AVAIL, EVT_USED}[r.nextInt(6)];
                        default -> r.nextLong();
                    };
                    final int which = r.nextInt(3);
                    what.append(" ").append(new String[] {"desc", "avail", "used"}[which]).append("=0x").append(Long.toHexString(a));
                    g.queueRegister(VirtioMmioReg.QUEUE_DESC_LOW + 0x10 * which, VirtioPciCap.Q_DESCLO + 8 * which, 4, (int) a);
                    g.queueRegister(VirtioMmioReg.QUEUE_DESC_HIGH + 0x10 * which, VirtioPciCap.Q_DESCHI + 8 * which, 4, (int) (a >>> 32));
                }
                case 6 -> { what.append(" enable"); g.queueRegister(VirtioMmioReg.QUEUE_READY, VirtioPciCap.Q_ENABLE, 2, 1); }
                case 7 -> {
                    final int q = r.nextInt(4) == 0 ? r.nextInt() : r.nextInt(3);
                    what.append(" doorbell ").append(q);
                    g.doorbell(q);
                }
                case 8 -> {
                    final int off = r.nextInt(44), size = new int[] {1, 2, 4, 8}[r.nextInt(4)];
                    what.append(" config write @").append(off);
                    final long v = registerValue();
                    g.call("config write", () -> g.ops.writeConfig(off, size, v));
                }
                case 9 -> {
                    what.append(" translate");
                    g.translate(ENDPOINTS[r.nextInt(3)], TranslationService.NO_PASID, iova(), AccessType.READ);
                }
                default -> {
                    what.append(" junk in the rings");
                    for (int i = 0; i < 8; i++) {
                        final long a = new long[] {REQ_DESC, REQ_AVAIL, REQ_USED, EVT_DESC, EVT_AVAIL}[r.nextInt(5)] + 2L * r.nextInt(64);
                        g.w16(a, r.nextInt(0x10000));
                    }
                }
            }
        }
        note(what.toString());
        model.bypass = g.bypassByte();
        boot();
    }

    /**
     * A correct initialisation except that one ring of the request queue starts just below 2^64 (aligned as §2.7
     * asks), so that it runs past the top of the address space; what lies past the top, read as GPA 0 on, is a
     * real request. A ring is guest-physical memory: it must not continue at GPA 0, so nothing may be answered.
     */
    private void ringsBelowTheTop() {
        final int q = g.queueSize;
        final int which = r.nextInt(3);
        final int j = 1 + r.nextInt(q - 2);
        final long top = new long[] {-16L * j, -2L, -4L}[which];
        note("request queue " + new String[] {"descriptors", "available ring", "used ring"}[which] + " at 0x" + Long.toHexString(top));
        g.status(0);
        g.status(1);
        g.status(3);
        final long f = g.ops.getFeatures() & wanted;
        g.driverFeatures(1, (int) (f >>> 32));
        g.driverFeatures(0, (int) f);
        g.status(0xB);
        g.req.init((f & (1L << F_EVENT_IDX)) != 0);
        g.evt.init((f & (1L << F_EVENT_IDX)) != 0);
        final long[][] rings = {{which == 0 ? top : REQ_DESC, which == 1 ? top : REQ_AVAIL, which == 2 ? top : REQ_USED},
                {EVT_DESC, EVT_AVAIL, EVT_USED}};
        for (int i = 0; i < 2; i++) {
            g.queueSelect(i);
            g.queueRegister(VirtioMmioReg.QUEUE_NUM, VirtioPciCap.Q_SIZE, 2, q);
            for (int k = 0; k < 3; k++) {
                g.queueRegister(VirtioMmioReg.QUEUE_DESC_LOW + 0x10 * k, VirtioPciCap.Q_DESCLO + 8 * k, 4, (int) rings[i][k]);
                g.queueRegister(VirtioMmioReg.QUEUE_DESC_HIGH + 0x10 * k, VirtioPciCap.Q_DESCHI + 8 * k, 4, (int) (rings[i][k] >>> 32));
            }
            g.queueRegister(VirtioMmioReg.QUEUE_READY, VirtioPciCap.Q_ENABLE, 2, 1);
        }
        g.status(0xF);
        g.beginBatch();
        final GuestRequest req = new GuestRequest.Attach(g.domainFirst + r.nextInt(6), EP_B, 0, 0);
        final Chain c = g.build(req, req.readable(), 4, new Layout(1, 1, Mode.DIRECT, false), r);
        switch (which) {
            case 0 -> {                 // descriptor j of the table is at GPA 0
                final List<Entry> es = c.entries();
                writeDesc(g.mem, 0, g.r64(es.get(0).at()), g.r32(es.get(0).at() + DESC_LEN), F_NEXT, j + 1);
                writeDesc(g.mem, DESC_SIZE, g.r64(es.get(1).at()), 4, F_WRITE, 0);
                g.req.publish(j);
            }
            case 1 -> {                 // avail->idx is at GPA 0, ring[0] at GPA 2
                g.w16(0, 1);
                g.w16(2, c.head());
            }
            default -> g.publish(c);    // the used element lands at GPA 0
        }
        g.notify(0);
        assertEquals(0, g.r16(g.req.used + 2), "a request taken from a ring that wraps was answered");
        g.translate(EP_C, 1, 0, AccessType.READ);
        g.fill(0, 0x1000, 0);
        boot();
    }

    /** Doorbells for queues that do not exist, and notify-region writes at every offset and width. */
    private void strayNotifications() {
        final int q = switch (r.nextInt(6)) { case 0 -> 2; case 1 -> -1; case 2 -> 0xFFFF; case 3 -> Integer.MIN_VALUE; case 4 -> 1; default -> r.nextInt(); };
        note("stray doorbell " + q);
        g.doorbell(q);
        if (g.transport == Transport.MMIO) {
            g.call("QueueNotify", () -> g.machine.mmioWrite(0, VirtioMmioReg.QUEUE_NOTIFY, 4, Integer.toUnsignedLong(q)));
        } else {
            final int size = new int[] {1, 2, 4, 8}[r.nextInt(4)];
            final long off = Math.min(PciLayout.NOTIFY_OFFSET + r.nextInt(0x1000), PciLayout.MODERN_BAR_SIZE - size);
            g.call("notify region", () -> g.machine.mmioWrite(0, off, size, q));
        }
        assertEquals(0, g.req.newlyUsed(), "nothing was pending, so nothing may be answered");
    }

    // ================================================================== event queue, hot-plug, system reset

    /** Damaged event buffers (wrong direction, too short, outside RAM, chained, indirect), then faults to deliver. */
    private void damagedEventBuffers() {
        final StringBuilder what = new StringBuilder("damaged event buffers:");
        for (int n = 1 + r.nextInt(3); n > 0; n--) {
            final long e = g.evt.descEntry(r.nextInt(g.queueSize));
            switch (r.nextInt(6)) {
                case 0 -> { g.w16(e + DESC_FLAGS, 0); what.append(" readable"); }
                case 1 -> { g.w32(e + DESC_LEN, new int[] {0, 8, 23, -1}[r.nextInt(4)]); what.append(" length"); }
                case 2 -> { g.w64(e + DESC_ADDR, damage.hostileAddress()); what.append(" address"); }
                case 3 -> { g.w16(e + DESC_FLAGS, F_WRITE | F_NEXT); g.w16(e + DESC_NEXT, r.nextInt(g.queueSize + 2)); what.append(" chained"); }
                case 4 -> { g.w16(e + DESC_FLAGS, F_INDIRECT); g.w32(e + DESC_LEN, 16 * r.nextInt(3)); what.append(" indirect"); }
                default -> { g.evt.setAvailIdx(g.evt.availIdx() + r.nextInt(2 * g.queueSize)); what.append(" avail idx"); }
            }
        }
        note(what.toString());
        eventsTrusted = false;
        final byte[] reqRings = g.image(REQ_DESC, (int) (REQ_USED - REQ_DESC) + 6 + 8 * g.queueSize);
        for (int i = 0; i < 2 * g.queueSize && g.running(); i++) {
            g.translate(ENDPOINTS[r.nextInt(3)], 1, 0xFFF0_0000L, AccessType.READ);      // a PASID: always a fault
        }
        g.drainEvents(false);
        if (!Arrays.equals(reqRings, g.image(REQ_DESC, reqRings.length))) {
            note("a damaged event buffer was the request rings");       // the records went where the guest said
            boot();
        }
    }

    /** The hypervisor takes an endpoint away (it leaves its domain) and maybe puts it back. */
    private void hotplug() {
        final int ep = ENDPOINTS[r.nextInt(ENDPOINTS.length)];
        if (model.isPlugged(ep)) {
            note("unplug " + ep);
            g.call("unplug", () -> g.machine.detach("ep" + ep));
            model.unplug(ep);
            checkTranslation(ep, TranslationService.NO_PASID, iova(), AccessType.READ);
            if (r.nextBoolean()) return;
        }
        note("plug " + ep);
        g.call("plug", () -> g.machine.attachEmulated("ep" + ep, ep));
        model.plug(ep);
    }

    /** A system reset: the device and PCI function reset, 'bypass' back to its initial value (§5.13.4); firmware runs again. */
    private void systemReset() {
        note("system reset");
        g.call("system reset", g.device::reset);
        if (g.pci() != null) g.pci().enumerate();
        model.bypass = g.device.config().bootBypass() ? 1 : 0;
        assertEquals(model.bypass, g.bypassByte(), "bypass after a system reset");
        model.detachAll();
        expectedFaults.clear();
        boot();
    }

    // ================================================================== regressions: one per bug this test found

    /** A chain sent by {@link #sendOne} and the used element the device returned for it (null: none). */
    private record Sent(Chain chain, RawVirtqueue.Used used) {}

    private static HostileGuest running(final Transport t) {
        final HostileGuest guest = new HostileGuest(t, Map.of("queue-size", 16));
        guest.machine.attachEmulated("ep" + EP_A, EP_A);
        guest.setup(ALL_FEATURES);
        return guest;
    }

    /** Sends one request laid out as Linux does (one readable, one writable buffer), damaged before it is published. */
    private Sent sendOne(final GuestRequest q, final java.util.function.Consumer<Chain> damage) {
        g.beginBatch();
        final Chain c = g.build(q, q.readable(), q.writable(g.probeSize), new Layout(1, 1, Mode.DIRECT, false), new Random(0));
        damage.accept(c);
        g.publish(c);
        g.notify(0);
        final List<RawVirtqueue.Used> used = g.req.reap();
        return new Sent(c, used.isEmpty() ? null : used.getFirst());
    }

    /** virtio-mmio QueueSel is a u32: from 0x8000_0000 up it selects no queue, and every register keeps working. */
    @Test
    void mmioQueueSelectWithTheTopBitSetSelectsNoQueue() {
        try (HostileGuest guest = running(Transport.MMIO)) {
            g = guest;
            g.call("QueueSel", () -> g.machine.mmioWrite(0, VirtioMmioReg.QUEUE_SEL, 4, 0x8000_0000L));
            assertEquals(0, g.machine.mmioRead(0, VirtioMmioReg.QUEUE_NUM_MAX, 4), "QueueNumMax of no queue");
            assertEquals(0, g.machine.mmioRead(0, VirtioMmioReg.QUEUE_READY, 4));
            g.call("QueueNum", () -> g.machine.mmioWrite(0, VirtioMmioReg.QUEUE_NUM, 4, 8));
            assertEquals(VirtioMmioReg.MAGIC, (int) g.machine.mmioRead(0, VirtioMmioReg.MAGIC_VALUE, 4));
            final Sent s = sendOne(new GuestRequest.Attach(1, EP_A, 0, 0), c -> { });
            assertEquals(S_OK, g.tail(s.chain())[0], "the request queue is unchanged");
        }
    }

    /** The driver-features select is a u32 on both transports: a write to any word but 0 and 1 changes nothing. */
    @Test
    void aDriverFeatureWordOtherThanTheFirstTwoIsIgnored() {
        for (Transport t : List.of(Transport.MMIO, Transport.PCI_INTX)) {
            try (HostileGuest guest = new HostileGuest(t, Map.of("queue-size", 16))) {
                g = guest;
                g.status(0);
                g.status(1);
                g.status(3);
                final long offered = g.ops.getFeatures();
                g.driverFeatures(1, (int) (offered >>> 32));
                g.driverFeatures(0, (int) offered);
                g.driverFeatures(0x8000_0000, -1);
                g.driverFeatures(-1, -1);
                g.driverFeatures(2, -1);
                g.status(0xB);
                assertEquals(8, g.ops.getStatus() & 8, t + ": FEATURES_OK, as only offered bits were accepted");
                assertEquals(offered, g.deviceTransport().negotiatedFeatures(), t.toString());
            }
        }
    }

    /**
     * A request whose tail lies outside RAM cannot be answered, and the guest takes used length 0 as failure: the
     * request must not take effect either (before, this ATTACH attached the endpoint all the same).
     */
    @Test
    void aRequestWhoseTailIsOutsideRamIsReturnedUnwrittenWithoutEffect() {
        try (HostileGuest guest = running(Transport.MMIO)) {
            g = guest;
            for (long tail : new long[] {RAM - 2, RAM, 1L << 40}) {
                final Sent s = sendOne(new GuestRequest.Attach(1, EP_A, 0, 0), c -> g.w64(c.entries().getLast().at() + DESC_ADDR, tail));
                assertEquals(0, s.used().len(), "tail at 0x" + Long.toHexString(tail));
                assertEquals(0, g.device.domainCount(), "tail at 0x" + Long.toHexString(tail) + ": not attached");
            }
            final Sent s = sendOne(new GuestRequest.Attach(1, EP_A, 0, 0), c -> { });
            assertEquals(S_OK, g.tail(s.chain())[0]);
            assertEquals(1, g.device.domainCount());
        }
    }

    /**
     * A buffer is the guest-physical bytes [addr, addr + len), which end at 2^64. A descriptor that runs past the
     * top is a chain error (DEVICE_NEEDS_RESET), not a buffer that goes on at GPA 0: before, the tail of this
     * ATTACH, 16 bytes into a buffer at 2^64 - 16, was written at GPA 0 and the request took effect.
     */
    @Test
    void aBufferThatRunsPastTheTopOfTheAddressSpaceIsAChainErrorNotAWriteAtGpaZero() {
        try (HostileGuest guest = running(Transport.MMIO)) {
            g = guest;
            g.fill(0, 0x100, 0);
            final Sent s = sendOne(new GuestRequest.Attach(1, EP_A, 0, 0), c -> {
                final long w = c.entries().getLast().at();
                g.w64(w + DESC_ADDR, -16L);
                g.w32(w + DESC_LEN, 20);
            });
            assertNull(s.used(), "the chain is not answered");
            assertTrue(g.needsReset(), "DEVICE_NEEDS_RESET");
            assertArrayEquals(new byte[0x100], g.image(0, 0x100), "nothing written at GPA 0");
            assertEquals(0, g.device.domainCount());
        }
    }

    /**
     * A ring occupies its §2.7 size from its address; one that would run past 2^64 is not enabled (QueueReady reads
     * 0), while one that ends exactly at 2^64 is. Before, the used ring at 2^64 - 4 put the first used element at
     * GPA 0.
     */
    @Test
    void aQueueWhoseRingRunsPastTheTopOfTheAddressSpaceIsNotEnabled() {
        record Ring(long desc, long avail, long used, boolean enabled) {}
        // queue size 16: descriptors 256 bytes, available ring 38, used ring 134 (§2.7, EVENT_IDX fields included)
        final List<Ring> rings = List.of(new Ring(-256, REQ_AVAIL, REQ_USED, true), new Ring(-240, REQ_AVAIL, REQ_USED, false),
                new Ring(REQ_DESC, -38, REQ_USED, true), new Ring(REQ_DESC, -36, REQ_USED, false),
                new Ring(REQ_DESC, REQ_AVAIL, -136, true), new Ring(REQ_DESC, REQ_AVAIL, -132, false),
                new Ring(REQ_DESC, REQ_AVAIL, -4, false));
        for (Transport t : List.of(Transport.MMIO, Transport.PCI_MSIX)) {
            try (HostileGuest guest = new HostileGuest(t, Map.of("queue-size", 16))) {
                g = guest;
                for (Ring ring : rings) {
                    g.status(0);
                    g.status(1);
                    g.status(3);
                    final long f = g.ops.getFeatures();
                    g.driverFeatures(1, (int) (f >>> 32));
                    g.driverFeatures(0, (int) f);
                    g.status(0xB);
                    g.queueSelect(0);
                    g.queueRegister(VirtioMmioReg.QUEUE_NUM, VirtioPciCap.Q_SIZE, 2, 16);
                    final long[] a = {ring.desc(), ring.avail(), ring.used()};
                    for (int k = 0; k < 3; k++) {
                        g.queueRegister(VirtioMmioReg.QUEUE_DESC_LOW + 0x10 * k, VirtioPciCap.Q_DESCLO + 8 * k, 4, (int) a[k]);
                        g.queueRegister(VirtioMmioReg.QUEUE_DESC_HIGH + 0x10 * k, VirtioPciCap.Q_DESCHI + 8 * k, 4, (int) (a[k] >>> 32));
                    }
                    g.queueRegister(VirtioMmioReg.QUEUE_READY, VirtioPciCap.Q_ENABLE, 2, 1);
                    assertEquals(ring.enabled(), g.deviceTransport().queue(0).ready(), t + " " + ring);
                }
            }
        }
    }

    /** The eventq's rings: descriptors, available ring, used ring. */
    private int eventRingBytes() { return (int) (EVT_USED - EVT_DESC) + 6 + 8 * g.queueSize; }

}
