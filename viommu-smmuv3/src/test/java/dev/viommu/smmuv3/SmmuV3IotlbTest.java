package dev.viommu.smmuv3;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.translate.AccessType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

import static dev.viommu.core.guest.GuestMachine.NO_PASID;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The IOTLB's set-associative layout, its precise invalidation by every TLBI/CFGI kind, and its allocation. */
class SmmuV3IotlbTest {
    private static final long OLD_PA = 0x60_0000, NEW_PA = 0x70_0000, VA = 0x1234_5000L;
    private DirectMachine m;

    @AfterEach
    void close() {
        if (m != null) m.close();
    }

    // ---------------------------------------------------------------- through the guest's command queue

    /** (name, command dword 0, dword 1, whether it covers the cached translation of SID 1 / ASID 1 / VMID 0 at VA). */
    static Stream<Arguments> commands() {
        final long sid1 = 1L << 32;
        return Stream.of(
                Arguments.of("TLBI_NH_VA", 0x12L | (1L << 48), VA | 1, true),
                Arguments.of("TLBI_NH_VA other ASID", 0x12L | (2L << 48), VA | 1, false),
                Arguments.of("TLBI_NH_VA other page", 0x12L | (1L << 48), (VA + 0x1000) | 1, false),
                Arguments.of("TLBI_NH_VA other VMID", 0x12L | (1L << 48) | (3L << 32), VA | 1, false),
                Arguments.of("TLBI_NH_VA range (RIL)", 0x12L | (1L << 48) | (1L << 12), (VA - 0x1000) | (1L << 10), true),
                Arguments.of("TLBI_NH_VAA", 0x13L, VA, true),
                Arguments.of("TLBI_NH_VAA other page", 0x13L, VA + 0x2000, false),
                Arguments.of("TLBI_NH_ASID", 0x11L | (1L << 48), 0L, true),
                Arguments.of("TLBI_NH_ASID other ASID", 0x11L | (2L << 48), 0L, false),
                Arguments.of("TLBI_NH_ALL", 0x10L, 0L, true),
                Arguments.of("TLBI_NH_ALL other VMID", 0x10L | (5L << 32), 0L, false),
                Arguments.of("TLBI_S12_VMALL", 0x28L, 0L, true),
                Arguments.of("TLBI_S12_VMALL other VMID", 0x28L | (5L << 32), 0L, false),
                Arguments.of("TLBI_S2_IPA (no stage 2)", 0x2AL, VA, false),
                Arguments.of("TLBI_NSNH_ALL", 0x30L, 0L, true),
                Arguments.of("CFGI_STE", 0x03L | sid1, 1L, true),
                Arguments.of("CFGI_STE other SID", 0x03L | (2L << 32), 1L, false),
                Arguments.of("CFGI_STE_RANGE", 0x04L, 1L, true),                     // 2^(Range+1) SIDs: 0–3
                Arguments.of("CFGI_STE_RANGE other SIDs", 0x04L | (4L << 32), 1L, false),   // 4–7
                Arguments.of("CFGI_ALL", 0x04L, 31L, true),
                Arguments.of("CFGI_CD", 0x05L | sid1, 1L, true),
                Arguments.of("CFGI_CD other SSID", 0x05L | sid1 | (4L << 12), 1L, false),
                Arguments.of("CFGI_CD_ALL", 0x06L | sid1, 0L, true),
                Arguments.of("CFGI_CD_ALL other SID", 0x06L | (2L << 32), 0L, false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("commands")
    void shouldServeNoStaleTranslationAfterAnInvalidationThatCoversIt(final String name, final long d0, final long d1,
                                                                       final boolean covers) {
        m = new DirectMachine("arm-smmuv3", Map.of("ril", true), 48L << 20);
        final SmmuV3TestGuest d = new SmmuV3TestGuest(m, 1L << 20);
        d.hwProbe();
        d.initStructures();
        d.deviceReset();
        m.attachEmulated("ep1", 1);
        final SmmuV3TestGuest.PageTable pt = d.s1Table(12);
        final long cd = d.alloc(64, 64);
        assertTrue(d.installCd(cd, 1, 0, SmmuV3TestGuest.s1Cd(1, pt.root, 12, 5, true, true)));
        assertTrue(d.installSte(1, SmmuV3TestGuest.s1Ste(cd, 0, 0, 0)));
        pt.map(VA, OLD_PA, true, false, true, false);
        pt.map(VA + 0x1000, OLD_PA + 0x1000, true, false, true, false);
        assertEquals(OLD_PA + 0x10, m.translate(1, NO_PASID, VA + 0x10, AccessType.READ).outputAddress());
        assertEquals(OLD_PA + 0x1010, m.translate(1, NO_PASID, VA + 0x1010, AccessType.READ).outputAddress());
        pt.map(VA, NEW_PA, true, false, true, false);                      // remapped without invalidation
        assertEquals(OLD_PA + 0x10, m.translate(1, NO_PASID, VA + 0x10, AccessType.READ).outputAddress(), "cached");
        assertTrue(d.issue(List.of(new long[] {d0, d1})), name);
        assertEquals(covers ? NEW_PA + 0x10 : OLD_PA + 0x10,
                m.translate(1, NO_PASID, VA + 0x10, AccessType.READ).outputAddress(), name + m.describe());
    }

    @Test
    void shouldSeeANewContextDescriptorAfterCfgiCdThroughTheContextFront() {
        m = new DirectMachine("arm-smmuv3", Map.of(), 48L << 20);
        final SmmuV3TestGuest d = new SmmuV3TestGuest(m, 1L << 20);
        d.hwProbe();
        d.initStructures();
        d.deviceReset();
        m.attachEmulated("ep1", 1);
        final SmmuV3TestGuest.PageTable a = d.s1Table(12), b = d.s1Table(12);
        a.map(VA, OLD_PA, true, false, true, false);
        a.map(VA + 0x1000, OLD_PA + 0x1000, true, false, true, false);
        b.map(VA + 0x1000, NEW_PA + 0x1000, true, false, true, false);
        final long cd = d.alloc(64, 64);
        assertTrue(d.installCd(cd, 1, 0, SmmuV3TestGuest.s1Cd(1, a.root, 12, 5, true, true)));
        assertTrue(d.installSte(1, SmmuV3TestGuest.s1Ste(cd, 0, 0, 0)));
        assertEquals(OLD_PA, m.translate(1, NO_PASID, VA, AccessType.READ).outputAddress());   // context now in the front
        assertTrue(d.installCd(cd, 1, 0, SmmuV3TestGuest.s1Cd(2, b.root, 12, 5, true, true)));
        assertEquals(NEW_PA + 0x1000, m.translate(1, NO_PASID, VA + 0x1000, AccessType.READ).outputAddress(), m::describe);
        assertTrue(!m.translate(1, NO_PASID, VA, AccessType.READ).ok(), "the new table does not map VA");
    }

    // ---------------------------------------------------------------- the structure itself

    private static long tag(final int vmid, final int asid) {
        return Iotlb.tag(vmid, asid, false, true, false, Iotlb.REGIME_NH, 4096, 0);
    }

    @Test
    void shouldEvictRoundRobinWithinOneSetOnly() {
        final Iotlb t = new Iotlb(64);
        assertEquals(64, t.capacity());
        final int sets = 64 / Iotlb.WAYS;
        final long k = Iotlb.key1(1, 0);
        for (long p = 0; p < sets; p++) t.fill(k, p, Iotlb.meta(p << 12, 1, 1, 4096), tag(0, 1), 0);
        assertEquals(sets, t.size(), "consecutive pages use distinct sets");
        // WAYS + 2 more pages of the set of page 0: the two oldest of that set go, round robin; others stay.
        for (int i = 1; i <= Iotlb.WAYS + 1; i++) t.fill(k, (long) i * sets, 0, tag(0, 1), 0);
        assertEquals(sets + Iotlb.WAYS - 1, t.size());
        assertEquals(2, t.evictions());
        assertEquals(-1, t.find(k, 0));
        assertEquals(-1, t.find(k, sets));
        for (int i = 2; i <= Iotlb.WAYS + 1; i++) assertTrue(t.find(k, (long) i * sets) >= 0);
        for (long p = 1; p < sets; p++) assertTrue(t.find(k, p) >= 0, "page " + p);
    }

    @Test
    void shouldRoundCapacityToAPowerOfTwoOfWholeSets() {
        assertEquals(16, new Iotlb(16).capacity());
        assertEquals(1024, new Iotlb(1000).capacity());
        assertEquals(4096, new Iotlb(4096).capacity());
    }

    @Test
    void shouldProbeVaInvalidationsExactlyAsAScanWould() {
        final Random r = new Random(42);
        final TlbiMatcher matcher = new TlbiMatcher();
        for (int round = 0; round < 200; round++) {
            final Iotlb probe = new Iotlb(256), scan = new Iotlb(256);
            final int n = r.nextInt(256);
            for (int i = 0; i < n; i++) {
                final long k = Iotlb.key1(r.nextInt(3), r.nextInt(2));
                final long page = 0x100 + r.nextInt(64);
                final long tg = tag(r.nextInt(2), r.nextInt(3)) | (r.nextInt(4) == 0 ? Iotlb.TAG_GLOBAL : 0);
                probe.fill(k, page, 0, tg, 0);
                scan.fill(k, page, 0, tg, 0);
            }
            final long start = (0x100L + r.nextInt(64)) << 12;
            final Command.Range range = new Command.Range(start, r.nextBoolean() ? 0x1000 : (1 + r.nextInt(3)) << 12, false, 0);
            final int asid = r.nextInt(3), vmid = r.nextInt(2);
            final boolean all = r.nextInt(4) == 0;
            final int a = probe.removeVa(matcher.va(Iotlb.REGIME_NH, vmid, asid, all, range), range.start(), range.length());
            final int b = scan.removeIf(matcher.va(Iotlb.REGIME_NH, vmid, asid, all, range));
            assertEquals(b, a, "round " + round);
            assertEquals(keys(scan), keys(probe), "round " + round);
        }
    }

    private static Set<String> keys(final Iotlb t) {
        final Set<String> s = new HashSet<>();
        for (int slot = 0; slot < t.capacity(); slot++) {
            if (t.key1At(slot) != Iotlb.NO_KEY) s.add(t.key1At(slot) + "/" + t.pageAt(slot));
        }
        assertEquals(t.size(), s.size(), "the live list counts exactly the occupied slots");
        return s;
    }

    @Test
    void shouldDropEveryPieceOfABlockOnAVaInvalidationAnywhereInIt() {
        final Iotlb t = new Iotlb(1024);
        final long k = Iotlb.key1(1, 0);
        final long blockTag = Iotlb.tag(0, 1, false, true, false, Iotlb.REGIME_NH, 2 << 20, 0);
        for (long p = 0x200; p < 0x210; p++) t.fill(k, p, 0, blockTag, 0);   // 16 pieces of the 2 MiB block at 2 MiB
        t.fill(k, 0x400, 0, tag(0, 1), 0);
        final TlbiMatcher matcher = new TlbiMatcher();
        final Command.Range r = new Command.Range(0x3FF000L, 0x1000, false, 0);   // the block's last page
        assertEquals(16, t.removeVa(matcher.va(Iotlb.REGIME_NH, 0, 1, false, r), r.start(), r.length()));
        assertEquals(1, t.size());
    }

    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    @Test
    void shouldNotAllocateOnFillHitOrFlush() {
        final Iotlb t = new Iotlb(4096);
        final TlbiMatcher matcher = new TlbiMatcher();
        final Command.Range r = new Command.Range(0x5000, 0x1000, false, 0);
        final long tid = Thread.currentThread().threadId();
        long best = Long.MAX_VALUE, sink = 0;
        for (int round = 0; round < 20; round++) {
            final long before = THREADS.getThreadAllocatedBytes(tid);
            for (int i = 0; i < 5000; i++) {
                final long k = Iotlb.key1(i & 7, 0);
                t.fill(k, i, Iotlb.meta((long) i << 12, 3, 3, 4096), tag(i & 1, i & 3), 0);
                sink += t.find(k, i);
            }
            sink += t.removeVa(matcher.va(Iotlb.REGIME_NH, 0, 1, false, r), r.start(), r.length());
            sink += t.removeIf(matcher.nhAsid(0, 2));
            sink += t.removeIf(matcher.s12Vmall(1));
            sink += t.clear();
            best = Math.min(best, THREADS.getThreadAllocatedBytes(tid) - before);
        }
        assertTrue(sink != 0);
        assertEquals(0, best, "fill/find/flush allocated " + best + " bytes");
    }

    @Test
    void shouldMissOnEveryTranslationOfTheBenchmarkRotationWithoutAnyClear() {
        final SmmuV3Harness h = new SmmuV3Harness(Map.of("iotlb-size", 256L), 512);
        final int rotation = h.missRotation();
        assertEquals(512, rotation);
        for (int i = 0; i < 3 * rotation; i++) {
            assertEquals(SmmuV3Harness.PA_BASE + ((long) (i % rotation) << 12),
                    h.translate(SmmuV3Harness.VA_BASE + ((long) (i % rotation) << 12)));
        }
        assertEquals(0, h.iotlbHits());
        assertEquals(3L * rotation, h.iotlbMisses());
        assertEquals(SmmuV3Harness.PA_BASE + 0x5008, h.walkOnly(SmmuV3Harness.VA_BASE + 0x5008), "the walk alone");
        final List<Long> noAlloc = new ArrayList<>();
        final long tid = Thread.currentThread().threadId();
        for (int round = 0; round < 20; round++) {
            final long before = THREADS.getThreadAllocatedBytes(tid);
            for (int i = 0; i < 5000; i++) h.translate(SmmuV3Harness.VA_BASE + ((long) (i % rotation) << 12));
            noAlloc.add(THREADS.getThreadAllocatedBytes(tid) - before);
        }
        assertEquals(0L, noAlloc.stream().mapToLong(Long::longValue).min().orElseThrow(), "a miss (walk + fill) allocated");
    }
}
