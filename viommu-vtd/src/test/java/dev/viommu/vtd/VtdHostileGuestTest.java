package dev.viommu.vtd;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.guest.GuestMachine.Translated;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.core.translate.AccessType;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

import static dev.viommu.vtd.VtdTestGuest.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Guests are hostile. Starting from a correctly booted unit with real tables (legacy, or scalable with every
 * PGTT), a seeded guest interleaves thousands of: bit flips and pointer swaps in its root, context, PASID and page
 * tables and its interrupt remapping table; well-formed and malformed invalidation descriptors; random register
 * writes (including GCMD, RTADDR, IQA, the fault records, PQ and IR registers, at odd offsets and sizes); DMA
 * translations, page requests and MSIs from known and unknown sources. Nothing may escape as an exception and
 * every call must return (the timeout).
 * <p>
 * Two coherence oracles run along the way, each comparing the unit's answer with the answer it gives once every
 * cache is dropped internally ({@link VtdTranslator#flushAll}):
 * <ul>
 *   <li>after the guest rewrites random entries and issues global context, PASID-cache and IOTLB invalidations
 *       (VT-d 6.5: after those, no stale entry may be used), for every known request;</li>
 *   <li>after the guest rewrites one leaf of a known mapping and issues a page-selective invalidation for just
 *       that page (IOTLB PSI, and PASID-IOTLB PSI in scalable mode), for that request;</li>
 *   <li>the same for interrupt remapping: 16 valid IRTEs (with and without SID and bus-range verification) are
 *       rewritten, then flushed globally or by index from the interrupt-entry cache, and every known MSI must
 *       remap as it does with that cache dropped.</li>
 * </ul>
 */
class VtdHostileGuestTest {
    private static final long IOVA = 0x1000_0000L, DATA = 0x280_0000L;
    private static final int PAGES = 24, STEPS = 20_000, EPOCH = 250;
    /** Oracle translations that succeeded, and all compared (per test: JUnit runs the cases one at a time). */
    private final long[] okCompared = new long[2];
    /** Remapping oracle answers that delivered, and all compared. */
    private final long[] remaps = new long[2];
    private static final int[] REGS = {GCMD, RTADDR, RTADDR + 4, CCMD, CCMD + 4, FSTS, FECTL, FEDATA, FEADDR, FEUADDR,
            IQH, IQT, IQA, IQA + 4, ICS, IECTL, IEDATA, IEADDR, IQERCD, IRTA, PQH, PQT, PQA, PRS, PECTL, PEDATA, PEADDR,
            IVA, IOTLB, IOTLB + 4, FRCD, FRCD + 8, FRCD + 12, FRCD + 28, VER, CAP, ECAP, GSTS};

    /** A request the guest set up, with the leaf entry that maps it (for the page-selective oracle). */
    private record Known(int sid, int pasid, int did, long iova, long leaf) {}

    static Stream<Arguments> variants() {
        final Map<String, Object> legacy = Map.of("device-iotlb", true, "nfr", 4);
        final Map<String, Object> legacyCm = Map.of("caching-mode", true, "aw-bits", 39, "eim", false, "snoop-control", true);
        final Map<String, Object> scalable = new HashMap<>(scalableProps());
        scalable.putAll(Map.of("svm", true, "device-iotlb", true, "aw-bits", 57));
        final Map<String, Object> scalableSs = Map.of("x-scalable-mode", true, "x-pasid-mode", true, "pasid-bits", 8, "nfr", 1);
        final List<Arguments> all = new ArrayList<>();
        for (long seed = 1; seed <= 3; seed++) {
            all.add(Arguments.of("legacy", legacy, false, seed));
            all.add(Arguments.of("legacy-cm-aw39", legacyCm, false, seed));
            all.add(Arguments.of("scalable", scalable, true, seed));
            all.add(Arguments.of("scalable-ss-only", scalableSs, true, seed));
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} seed {3}")
    @MethodSource("variants")
    @Timeout(60)
    void randomTablesDescriptorsAndRegistersNeverEscapeAndCachesStayCoherent(final String name, final Map<String, Object> props,
                                                                               final boolean scalable, final long seed) throws Exception {
        try (DirectMachine m = machine(props)) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(scalable);
            final VtdConfig cfg = g.device().config();
            if (cfg.intremap()) g.interruptRemapping(6, cfg.eim());
            g.pageRequestQueue();
            final List<Known> known = scalable ? scalableSetup(g, cfg) : legacySetup(g, cfg);
            final List<long[]> msis = cfg.intremap() ? irteSetup(g, known, cfg.eim()) : List.of();
            final long top = g.page() + 4096;               // every structure page lies in [0x10_0000, top)
            final Random r = new Random(seed);
            final List<Long> live = nonZeroQwords(g, top);
            final byte[] clean = snapshot(g, top);
            int globalOracles = 0, pageOracles = 0;
            for (int step = 0; step < STEPS; step++) {
                if (step % EPOCH == 0) {                    // a fresh attack on clean tables every EPOCH steps
                    restore(g, clean);
                    reprogram(g, scalable);
                    g.flushContext();
                    if (scalable) g.flushPasidCache();
                    g.flushIotlb();
                }
                switch (r.nextInt(16)) {
                    case 0, 1 -> mutate(g, r, r.nextInt(4) != 0 && !live.isEmpty() ? live.get(r.nextInt(live.size())) : randomQword(r, top));
                    case 2 -> guestInvalidation(g, r, scalable, known);
                    case 3 -> rawDescriptor(g, r, scalable);
                    case 4 -> registerWrite(m, r);
                    case 5, 6, 7 -> translate(m, r, known);
                    case 8 -> pageRequest(g, r, known);
                    case 9 -> {
                        if (!msis.isEmpty() && r.nextBoolean()) {
                            final long[] k = msis.get(r.nextInt(msis.size()));
                            m.remapMsi(r.nextInt(4) != 0 ? (int) k[0] : r.nextInt(0x300), k[1], (int) k[2]);
                        } else {
                            m.remapMsi(r.nextInt(0x300), r.nextBoolean() ? remappableMsiAddress(r.nextInt(200)) : 0xFEE0_0000L | r.nextInt(0x10_0000),
                                    r.nextInt());
                        }
                    }
                    case 10 -> g.faults();
                    case 11 -> {
                        if (r.nextInt(20) == 0) m.device().reset();
                        reprogram(g, scalable);
                    }
                    case 12 -> {
                        reprogram(g, scalable);
                        globalOracle(g, r, known, msis, top);
                        globalOracles++;
                    }
                    default -> {
                        reprogram(g, scalable);
                        if (r.nextInt(4) == 0 && !msis.isEmpty()) {
                            irteOracle(g, r, msis, clean);
                        } else if (pageOracle(g, r, scalable, known, clean)) {
                            pageOracles++;
                        }
                    }
                }
            }
            assertTrue(globalOracles > 100 && pageOracles > 100, globalOracles + " global and " + pageOracles + " page oracles ran");
            assertTrue(okCompared[0] > 20 * (STEPS / EPOCH), "only " + okCompared[0] + " of " + okCompared[1]
                    + " compared translations succeeded: the oracles barely saw a working table");
            if (!msis.isEmpty()) {
                assertTrue(remaps[1] > 100 * (STEPS / EPOCH) && remaps[0] > remaps[1] / 5,
                        remaps[0] + " of " + remaps[1] + " compared remappings delivered");
            }
            assertTrue(m.describe().contains("registers"));
        }
    }

    // ------------------------------------------------------------------ set-up: real tables the guest then attacks

    private static List<Known> legacySetup(final VtdTestGuest g, final VtdConfig cfg) throws GuestMemoryException {
        final List<Known> known = new ArrayList<>();
        final int aw = cfg.awBits() >= 48 ? 2 : 1;
        final int[][] domains = {{0x10, 1}, {0x11, 1}, {0x18, 2}, {0x108, 3}};
        PageTableWriter shared = null;
        for (final int[] d : domains) {
            final PageTableWriter pt = d[0] == 0x11 ? shared : g.ss(aw + 2);
            if (d[0] == 0x10) shared = pt;
            g.legacyContext(d[0], d[1], pt.root(), aw, 0);
            if (d[0] != 0x11) map(pt, d[0] == 0x108);
            addKnown(known, pt, d[0], NO_PASID, d[1]);
        }
        if (cfg.passThrough()) g.legacyContext(0x20, 4, 0, aw, 2);
        known.add(new Known(0x20, NO_PASID, 4, IOVA, -1));
        g.flushIotlb();
        return known;
    }

    private static List<Known> scalableSetup(final VtdTestGuest g, final VtdConfig cfg) throws GuestMemoryException {
        final List<Known> known = new ArrayList<>();
        final long flags = PASIDE | PDTS_MAX | (cfg.svm() ? PRE : 0) | (cfg.deviceIotlb() ? DTE : 0);
        final int levels = cfg.awBits() == 57 ? 5 : 4;
        for (final int sid : new int[]{0x10, 0x90}) {
            final long dir = g.scalableContext(sid, flags);
            final PageTableWriter ss = g.ss(4);
            map(ss, sid == 0x90);
            g.pasidSecondStage(dir, 0, 1, ss);                             // RID_PASID: requests without PASID
            addKnown(known, ss, sid, NO_PASID, 1);
            if (cfg.fsSupported()) {
                final PageTableWriter fs = g.fs(sid == 0x10 ? 4 : levels);
                map(fs, true);
                g.pasidFirstStage(dir, 5, 2, fs);
                addKnown(known, fs, sid, 5, 2);
                if (cfg.nestSupported()) {
                    final PageTableWriter outer = g.ss(4);
                    for (long gpa = 0; gpa < RAM; gpa += PageTableWriter.SIZE_2M) outer.map(gpa, gpa, PageTableWriter.SIZE_2M, true);
                    final PageTableWriter inner = g.fs(4);
                    map(inner, false);
                    g.pasidNested(dir, 6, 3, inner, outer);
                    addKnown(known, inner, sid, 6, 3);
                }
            }
            if (cfg.passThrough()) {
                g.pasidEntry(dir, 7, 4L << 6 | 1, 4, 0);
                known.add(new Known(sid, 7, 4, IOVA, -1));
            }
        }
        return known;
    }

    /**
     * Valid IRTEs 0..15 (vector 0x30 + i, some verifying the requester's SID, one bus-range check, one with FPD) and
     * the MSI each known source sends through them: {sid, address, data}.
     */
    private static List<long[]> irteSetup(final VtdTestGuest g, final List<Known> known, final boolean x2apic) {
        final List<long[]> msis = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            final int sid = known.get(i % known.size()).sid;
            final long lo = 1 | (i == 5 ? 2 : 0) | (long) (0x30 + i) << 16 | (long) (i & 7) << (x2apic ? 32 : 40);   // xAPIC: DST 47:40
            final long hi = switch (i % 3) {
                case 0 -> 0;                                                    // no source check
                case 1 -> sid | 1L << 18;                                       // SID (and SQ 0)
                default -> (long) ((sid >>> 8) << 8 | (sid >>> 8)) | 2L << 18;   // bus range [bus, bus]
            };
            g.irte(i, lo, hi);
            msis.add(new long[]{sid, remappableMsiAddress(i), 0});
            msis.add(new long[]{sid ^ 1, remappableMsiAddress(i), 0});          // a neighbour: fails a SID check
        }
        return msis;
    }

    /** {@value #PAGES} 4 KiB pages at {@link #IOVA}, every third read-only; with {@code large}, a 2 MiB and a 1 GiB page too. */
    private static void map(final PageTableWriter pt, final boolean large) throws GuestMemoryException {
        for (int p = 0; p < PAGES; p++) pt.map(IOVA + 4096L * p, DATA + 4096L * p, PageTableWriter.SIZE_4K, p % 3 != 0);
        if (large) {
            pt.map(IOVA + PageTableWriter.SIZE_2M, 0x20_0000L, PageTableWriter.SIZE_2M, true);
            pt.map(0x8000_0000L, 0, PageTableWriter.SIZE_1G, false);
        }
    }

    private static void addKnown(final List<Known> known, final PageTableWriter pt, final int sid, final int pasid, final int did)
            throws GuestMemoryException {
        for (final long iova : new long[]{IOVA, IOVA + 4096, IOVA + 4096L * (PAGES - 1), IOVA + PageTableWriter.SIZE_2M + 0x1234,
                0x8000_0000L + 0x12_3456L}) {
            final long leaf = pt.leafAddress(iova);
            if (leaf >= 0) known.add(new Known(sid, pasid, did, iova, leaf));
        }
    }

    // ------------------------------------------------------------------ the guest's attacks

    /** The structure pages [0x10_0000, top) and the interrupt remapping table, as the guest built them. */
    private static byte[] snapshot(final VtdTestGuest g, final long top) throws GuestMemoryException {
        final byte[] b = new byte[(int) (top - 0x10_0000L) + (g.irt != 0 ? 16 * 128 : 0)];
        g.mem.read(0x10_0000L, b, 0, (int) (top - 0x10_0000L));
        if (g.irt != 0) g.mem.read(g.irt, b, (int) (top - 0x10_0000L), 16 * 128);
        return b;
    }

    private static void restore(final VtdTestGuest g, final byte[] clean) throws GuestMemoryException {
        final int tables = clean.length - (g.irt != 0 ? 16 * 128 : 0);
        g.mem.write(0x10_0000L, clean, 0, tables);
        if (g.irt != 0) g.mem.write(g.irt, clean, tables, 16 * 128);
    }

    private static List<Long> nonZeroQwords(final VtdTestGuest g, final long top) {
        final List<Long> out = new ArrayList<>();
        for (long a = 0x10_0000L; a < top; a += 8) if (g.r64(a) != 0) out.add(a);
        if (g.irt != 0) for (long a = g.irt; a < g.irt + 16L * 128; a += 8) if (g.r64(a) != 0) out.add(a);
        return out;
    }

    private static long randomQword(final Random r, final long top) {
        return 0x10_0000L + r.nextLong((top - 0x10_0000L) / 8) * 8;
    }

    /** Rewrites the qword at {@code a}: a bit flip, flag bits, another page in or out of RAM, zero, or noise. */
    private static void mutate(final VtdTestGuest g, final Random r, final long a) {
        final long v = g.r64(a);
        g.w64(a, switch (r.nextInt(6)) {
            case 0, 1 -> v ^ 1L << r.nextInt(64);
            case 2 -> v ^ r.nextInt(0x1000);
            case 3 -> (r.nextInt(4) == 0 ? r.nextLong() << 12 : r.nextLong(RAM) & ~0xFFFL) | (v & 0xFFF);
            case 4 -> 0;
            default -> r.nextLong();
        });
    }

    private static final int[] GLOBAL_ISH = {0x1 | 1 << 4, 0x2 | 1 << 4, 0x7 | 3 << 4, 0x4};

    /** A well-formed invalidation (any type, random scope) followed by a wait, as the driver issues them. */
    private static void guestInvalidation(final VtdTestGuest g, final Random r, final boolean sm, final List<Known> known) {
        final Known k = known.get(r.nextInt(known.size()));
        final long q0, q1;
        switch (r.nextInt(8)) {
            case 0 -> { q0 = 0x1 | (1 + r.nextInt(3)) << 4 | (long) k.did << 16 | (long) k.sid << 32 | (long) r.nextInt(4) << 48; q1 = 0; }
            case 1 -> { q0 = 0x2 | (1 + r.nextInt(3)) << 4 | 3 << 6 | (long) k.did << 16; q1 = k.iova & ~0xFFFL | r.nextInt(10); }
            case 2 -> { q0 = 0x3 | (long) k.sid << 16; q1 = k.iova & ~0xFFFL | (r.nextBoolean() ? 1 << 11 : 0); }
            case 3 -> { q0 = 0x4 | (r.nextBoolean() ? 1 << 4 : 0) | (long) r.nextInt(200) << 32; q1 = 0; }
            case 4 -> { q0 = 0x6 | (2 + r.nextInt(2)) << 4 | (long) k.did << 16 | (long) (k.pasid & 0xFFFFF) << 32; q1 = k.iova & ~0xFFFL | r.nextInt(10); }
            case 5 -> { q0 = 0x7 | r.nextInt(4) << 4 | (long) k.did << 16 | (long) (k.pasid & 0xFFFFF) << 32; q1 = 0; }
            case 6 -> { q0 = 0x8 | (long) k.sid << 16 | (long) (k.pasid & 0xFFFFF) << 32; q1 = k.iova & ~0xFFFL; }
            default -> { q0 = GLOBAL_ISH[r.nextInt(GLOBAL_ISH.length)]; q1 = 0; }
        }
        try {
            g.qi(q0, q1);
        } catch (IllegalStateException notCompleted) {
            // the guest broke its own queue (registers, IQE from a raw descriptor, or a type this unit lacks): recover
            if ((g.m.read32(FSTS) & 0x10) != 0) g.recoverFromIqe();
        }
    }

    /** One descriptor of any type with random bits, or a wait whose status address is anywhere, without waiting. */
    private static void rawDescriptor(final VtdTestGuest g, final Random r, final boolean sm) {
        final long q0 = r.nextBoolean() ? r.nextLong() : (r.nextLong() & ~0xE0FL) | r.nextInt(16) | (long) r.nextInt(2) << 9;
        final long q1 = r.nextInt(3) == 0 ? r.nextLong() : r.nextLong(RAM + 0x1000) & ~3L;
        if (sm && r.nextBoolean()) g.qiRawWide(q0, q1, r.nextInt(4) == 0 ? r.nextLong() : 0, r.nextInt(4) == 0 ? r.nextLong() : 0);
        else g.qiRaw(q0, q1);
        if (r.nextBoolean() && (g.m.read32(FSTS) & 0x10) != 0) g.recoverFromIqe();
    }

    private static void registerWrite(final DirectMachine m, final Random r) {
        final long off = r.nextInt(8) == 0 ? r.nextInt(0x1000) : REGS[r.nextInt(REGS.length)];
        final long v = switch (r.nextInt(4)) {
            case 0 -> r.nextLong();
            case 1 -> r.nextLong(RAM) & ~0xFFFL | r.nextInt(16);
            case 2 -> 1L << r.nextInt(64);
            default -> r.nextInt();
        };
        if ((off & 7) == 0 && r.nextBoolean()) m.write64(off, v);
        else if (r.nextInt(8) == 0) m.mmioWrite(0, off, 1 << r.nextInt(4), v);   // 1, 2, 4 or 8 bytes, any alignment
        else m.write32(off, (int) v);
        if (r.nextBoolean()) m.read32(r.nextInt(8) == 0 ? r.nextInt(0x1000) : REGS[r.nextInt(REGS.length)]);
    }

    private static Translated translate(final DirectMachine m, final Random r, final List<Known> known) {
        final Known k = known.get(r.nextInt(known.size()));
        final int sid = r.nextInt(4) != 0 ? k.sid : r.nextInt(8) == 0 ? r.nextInt() : r.nextInt(0x300);
        final int pasid = r.nextInt(3) != 0 ? k.pasid : r.nextInt(8) == 0 ? r.nextInt() : r.nextInt(16) - 1;
        final long iova = r.nextInt(3) != 0 ? k.iova + r.nextInt(0x3000) : r.nextInt(4) == 0 ? r.nextLong() : r.nextLong(1L << 40);
        return m.translate(sid, pasid, iova, r.nextInt(16));
    }

    private static void pageRequest(final VtdTestGuest g, final Random r, final List<Known> known) {
        final Known k = known.get(r.nextInt(known.size()));
        g.m.pageRequest(r.nextInt(4) != 0 ? k.sid : r.nextInt(0x300), r.nextBoolean() ? k.pasid : r.nextInt(0x10_0000) - 1,
                r.nextBoolean() ? k.iova : r.nextLong(), 1 + r.nextInt(15), r.nextBoolean(), r.nextInt(512));
        if (r.nextBoolean()) g.m.write64(PQH, g.m.read64(PQT));         // the guest consumed the queue
        if (r.nextBoolean()) {                                          // and answers a group
            final long q0 = 0x9 | 1L << 4 | (long) r.nextInt(16) << 12 | (long) k.sid << 16 | (long) (k.pasid & 0xFFFFF) << 32;
            try {
                g.qi(q0, r.nextInt(512) | (r.nextBoolean() ? 1L << 2 : 0));
            } catch (IllegalStateException notCompleted) {
                if ((g.m.read32(FSTS) & 0x10) != 0) g.recoverFromIqe();
            }
        }
        g.m.takePageResponses();
    }

    /**
     * Brings the guest's own set-up back after its attacks, as a driver re-initialising the unit would: clears
     * the error bits, restarts the queue at 0, points RTADDR back at its root table and sets TE (and IR state).
     */
    private static void reprogram(final VtdTestGuest g, final boolean sm) {
        g.reprogram(sm);
    }

    // ------------------------------------------------------------------ oracles

    /** Answers of the unit as it is, then with every cache dropped; they must agree. */
    private void assertCoherent(final VtdTestGuest g, final List<int[]> reqs, final List<Long> iovas, final String what) {
        final List<Translated> cached = new ArrayList<>();
        for (int i = 0; i < reqs.size(); i++) cached.add(g.m.translate(reqs.get(i)[0], reqs.get(i)[1], iovas.get(i), reqs.get(i)[2]));
        ((VtdTranslator) g.device().translation()).flushAll();
        for (int i = 0; i < reqs.size(); i++) {
            final Translated fresh = g.m.translate(reqs.get(i)[0], reqs.get(i)[1], iovas.get(i), reqs.get(i)[2]);
            okCompared[1]++;
            if (fresh.ok()) okCompared[0]++;
            assertEquals(fresh, cached.get(i), what + ": sid 0x" + Integer.toHexString(reqs.get(i)[0]) + " pasid "
                    + reqs.get(i)[1] + " iova 0x" + Long.toHexString(iovas.get(i)) + " access " + reqs.get(i)[2]);
        }
    }

    /** Warm the caches, rewrite entries, invalidate globally: the unit must answer from memory as it now is. */
    private void globalOracle(final VtdTestGuest g, final Random r, final List<Known> known, final List<long[]> msis, final long top) {
        final List<int[]> reqs = new ArrayList<>();
        final List<Long> iovas = new ArrayList<>();
        for (final Known k : known) {
            final int acc = AccessType.READ | (r.nextBoolean() ? AccessType.WRITE : 0) | (r.nextInt(4) == 0 ? AccessType.PRIV : 0);
            reqs.add(new int[]{k.sid, k.pasid, acc});
            iovas.add(k.iova);
            g.m.translate(k.sid, k.pasid, k.iova, acc);
        }
        final List<Long> live = nonZeroQwords(g, top);
        for (int i = 0; i < 3; i++) {
            final long a = live.get(r.nextInt(live.size()));
            if (a >= g.iqBase() && a < g.iqBase() + 4096 || a >= g.statusPage() && a < g.statusPage() + 4096) continue;
            mutate(g, r, a);
        }
        for (long[] k : msis) g.m.remapMsi((int) k[0], k[1], (int) k[2]);
        g.flushContext();
        if (g.sm) g.flushPasidCache();
        g.flushIotlb();
        if (!msis.isEmpty()) g.qi(0x4, 0);                                       // global interrupt-entry-cache flush
        assertCoherent(g, reqs, iovas, "after global invalidation");
        assertRemapsCoherent(g, msis, "after a global interrupt-entry-cache flush");
    }

    /** Remapping answers of the unit as it is, then with the interrupt-entry cache dropped; they must agree. */
    private void assertRemapsCoherent(final VtdTestGuest g, final List<long[]> msis, final String what) {
        final List<dev.viommu.core.guest.GuestMachine.Remapped> cached = new ArrayList<>();
        for (long[] k : msis) cached.add(g.m.remapMsi((int) k[0], k[1], (int) k[2]));
        ((InterruptRemappingUnit) g.device().interruptRemapping()).iec.clear();
        for (int i = 0; i < msis.size(); i++) {
            final long[] k = msis.get(i);
            final var fresh = g.m.remapMsi((int) k[0], k[1], (int) k[2]);
            assertEquals(fresh, cached.get(i), what + ": sid 0x" + Integer.toHexString((int) k[0]) + " address 0x" + Long.toHexString(k[1]));
            remaps[1]++;
            if (fresh.delivered()) remaps[0]++;
        }
    }

    /** Clean tables, warm every IRTE, rewrite one, flush just its index: the unit must answer from the new IRTE. */
    private void irteOracle(final VtdTestGuest g, final Random r, final List<long[]> msis, final byte[] clean) throws GuestMemoryException {
        restore(g, clean);
        g.qi(0x4, 0);
        for (long[] k : msis) g.m.remapMsi((int) k[0], k[1], (int) k[2]);
        final int index = r.nextInt(16);
        mutate(g, r, g.irt + 16L * index + (r.nextBoolean() ? 8 : 0));
        final int im = r.nextInt(3);                                           // 1, 2 or 4 entries around it
        g.qi(0x4 | 1 << 4 | (long) im << 27 | (long) index << 32, 0);
        assertRemapsCoherent(g, msis, "after an index-selective interrupt-entry-cache flush");
    }

    /** Warm one mapping, rewrite its leaf, invalidate that page: the unit must answer from the new leaf. */
    private boolean pageOracle(final VtdTestGuest g, final Random r, final boolean sm, final List<Known> known, final byte[] clean)
            throws GuestMemoryException {
        final Known k = known.get(r.nextInt(known.size()));
        if (k.leaf < 0) return false;
        // back to the clean tables (an attack may have changed the DID the entries are tagged with) and caches that
        // agree with them, so that the leaf rewritten below is the only stale thing
        restore(g, clean);
        g.flushContext();
        if (sm) g.flushPasidCache();
        g.flushIotlb();
        final int acc = AccessType.READ | (r.nextBoolean() ? AccessType.WRITE : 0);
        g.m.translate(k.sid, k.pasid, k.iova, acc);
        mutate(g, r, k.leaf);
        final long page = k.iova & ~0xFFFL;
        final int am = r.nextInt(3) == 0 ? 9 : 0;                           // 4 KiB, or the 2 MiB around it
        final long addr = page & -(4096L << am);
        g.qi(0x2 | 3 << 4 | (long) k.did << 16, addr | am);
        if (sm && k.pasid != NO_PASID) g.qi(0x6 | 3 << 4 | (long) k.did << 16 | (long) k.pasid << 32, addr | am);
        if (sm && k.pasid == NO_PASID) g.qi(0x6 | 3 << 4 | (long) k.did << 16, addr | am);   // RID_PASID 0
        assertCoherent(g, List.<int[]>of(new int[]{k.sid, k.pasid, acc}), List.of(k.iova), "after page-selective invalidation");
        return true;
    }
}
