package dev.viommu.virtio.iommu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.*;

class MappingTableTest {
    private static final long PAGE = 4096;
    private static final int SLOTS = 20_000;
    /** Regions the random test draws pages from: low memory, across 2^63 (the sign bit), and up to 2^64 - 1. */
    private static final long[] REGIONS = {0, Long.MIN_VALUE - SLOTS / 2 * PAGE, -(SLOTS + 3) * PAGE};

    /** Reference model: start → {end, phys, flags}, in unsigned order. */
    private static TreeMap<Long, long[]> reference() { return new TreeMap<>(Long::compareUnsigned); }

    private static boolean ule(final long a, final long b) { return Long.compareUnsigned(a, b) <= 0; }

    private static boolean refOverlaps(final TreeMap<Long, long[]> ref, final long s, final long e) {
        final Map.Entry<Long, long[]> f = ref.floorEntry(e);
        return f != null && ule(s, f.getValue()[0]);
    }

    private static boolean refWouldSplit(final TreeMap<Long, long[]> ref, final long s, final long e) {
        final Map.Entry<Long, long[]> a = ref.floorEntry(s);
        if (a != null && Long.compareUnsigned(a.getKey(), s) < 0 && ule(s, a.getValue()[0])) return true;
        final Map.Entry<Long, long[]> b = ref.floorEntry(e);
        return b != null && Long.compareUnsigned(e, b.getValue()[0]) < 0;
    }

    /** find(iova) agrees with the reference, hit fields included. */
    private static void assertLookup(final TreeMap<Long, long[]> ref, final MappingTable t, final long iova) {
        final Map.Entry<Long, long[]> f = ref.floorEntry(iova);
        final boolean hit = f != null && ule(iova, f.getValue()[0]);
        assertEquals(hit, t.find(iova), "lookup 0x" + Long.toHexString(iova));
        if (hit) {
            assertEquals(f.getKey(), t.hitStart, "start at 0x" + Long.toHexString(iova));
            assertEquals(f.getValue()[0], t.hitEnd);
            assertEquals(f.getValue()[1], t.hitPhys);
            assertEquals(f.getValue()[2], t.hitFlags);
        }
    }

    /** Every mapping, listed and probed at its first and last byte and the bytes either side (block boundaries included). */
    private static void assertSame(final TreeMap<Long, long[]> ref, final MappingTable t) {
        assertEquals(ref.size(), t.size());
        final List<long[]> all = new ArrayList<>();
        t.forEach((s, e, p, f) -> all.add(new long[] {s, e, p, f}) || true);
        assertEquals(ref.size(), all.size());
        int k = 0;
        for (final Map.Entry<Long, long[]> en : ref.entrySet()) {
            assertArrayEquals(new long[] {en.getKey(), en.getValue()[0], en.getValue()[1], en.getValue()[2]}, all.get(k++));
        }
        for (final Map.Entry<Long, long[]> en : ref.entrySet()) {          // ascending: the finger walks
            assertLookup(ref, t, en.getKey() - 1);
            assertLookup(ref, t, en.getKey());
            assertLookup(ref, t, en.getValue()[0]);
            assertLookup(ref, t, en.getValue()[0] + 1);
        }
        for (final Map.Entry<Long, long[]> en : ref.descendingMap().entrySet()) {   // descending: every probe searches
            assertLookup(ref, t, en.getValue()[0]);
            assertLookup(ref, t, en.getKey());
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {42, 1, 7, 2024, 0xC0FFEE, 987_654_321})
    void shouldAgreeWithAnUnsignedTreeMapOverRandomMapsUnmapsAndLookups(final long seed) {
        final Random rnd = new Random(seed);
        final MappingTable t = new MappingTable();
        final TreeMap<Long, long[]> ref = reference();
        long gen = t.generation();
        int largest = 0;
        for (int op = 0; op < 150_000; op++) {
            final long s = REGIONS[rnd.nextInt(REGIONS.length)] + rnd.nextInt(SLOTS) * PAGE;
            final long e = s + (1 + rnd.nextInt(4)) * PAGE - 1;
            switch (rnd.nextInt(8)) {
                case 0, 1, 2, 3 -> {
                    final boolean o = refOverlaps(ref, s, e);
                    assertEquals(o, t.overlaps(s, e), "overlaps 0x" + Long.toHexString(s));
                    if (!o) {
                        final long phys = rnd.nextLong() & -PAGE;
                        final int flags = rnd.nextInt(16);
                        t.insert(s, e, phys, flags);
                        ref.put(s, new long[] {e, phys, flags});
                        gen++;
                    }
                }
                case 4, 5 -> {
                    long us = s, ue = s + rnd.nextInt(20) * PAGE + PAGE - 1;
                    if (rnd.nextInt(20) == 0) {                    // a long range, at mapping edges: whole blocks go
                        final Long first = ref.ceilingKey(s);
                        final Map.Entry<Long, long[]> last = ref.floorEntry(s + rnd.nextInt(3000) * PAGE);
                        if (first == null || last == null || Long.compareUnsigned(last.getKey(), first) < 0) break;
                        us = first;
                        ue = last.getValue()[0];
                        assertFalse(t.wouldSplit(us, ue));
                    }
                    if (Long.compareUnsigned(ue, us) < 0) ue = -1L;   // wrapped past 2^64 - 1
                    final boolean split = refWouldSplit(ref, us, ue);
                    assertEquals(split, t.wouldSplit(us, ue), "wouldSplit 0x" + Long.toHexString(us));
                    if (split) break;
                    final List<Long> expected = new ArrayList<>(ref.subMap(us, true, ue, true).keySet());
                    final int stopAt = rnd.nextInt(4) == 0 ? rnd.nextInt(expected.size() + 1) : Integer.MAX_VALUE;
                    final List<Long> visited = new ArrayList<>();
                    final int removed = t.removeRange(us, ue, (ms, me, mp, mf) -> {
                        assertArrayEquals(ref.get(ms), new long[] {me, mp, mf});
                        visited.add(ms);
                        return visited.size() <= stopAt;
                    });
                    final int n = Math.min(stopAt, expected.size());
                    assertEquals(n, removed);
                    assertEquals(expected.subList(0, Math.min(expected.size(), n + 1)), visited);
                    for (int k = 0; k < n; k++) ref.remove(expected.get(k));
                    gen += n;
                }
                case 6 -> assertLookup(ref, t, s + rnd.nextInt(8192));
                default -> {                                         // a DMA walk: a mapping's last page, then on
                    final Map.Entry<Long, long[]> m = ref.ceilingEntry(s);
                    if (m == null) break;
                    assertLookup(ref, t, m.getValue()[0] - rnd.nextInt(4096));
                    assertLookup(ref, t, m.getValue()[0] + 1 + rnd.nextInt(8192));
                }
            }
            assertEquals(ref.size(), t.size());
            assertEquals(gen, t.generation());
            largest = Math.max(largest, ref.size());
            if (op % 25_000 == 0) assertSame(ref, t);
        }
        assertSame(ref, t);
        assertTrue(largest > 6 * MappingTable.BLOCK, "the table grew to many blocks: " + largest);
    }

    @Test
    void shouldOrderAddressesAboveTwoToTheSixtyThreeUnsigned() {
        final MappingTable t = new MappingTable();
        t.insert(0x8000_0000_0000_0000L, 0x8000_0000_0000_0FFFL, 0x1000, 1);
        t.insert(0x1000, 0x1FFF, 0x2000, 1);
        t.insert(0xFFFF_FFFF_FFFF_F000L, -1L, 0x3000, 1);
        assertTrue(t.find(0x8000_0000_0000_0010L));
        assertEquals(0x1000, t.hitPhys);
        assertTrue(t.find(-1L));
        assertEquals(0x3000, t.hitPhys);
        assertFalse(t.find(0x2000));
        assertTrue(t.overlaps(0, -1L));
        assertEquals(3, t.removeRange(0, -1L, null));
        assertTrue(t.isEmpty());
    }

    @Test
    void shouldKeepUnsignedOrderAcrossBlocksThatStraddleTwoToTheSixtyThree() {
        final MappingTable t = new MappingTable();
        final TreeMap<Long, long[]> ref = reference();
        final int n = 4 * MappingTable.BLOCK + 5;
        final long base = Long.MIN_VALUE - n / 2 * 2 * PAGE;
        for (int i = n - 1; i >= 0; i--) {                        // odd ones descending, then even ones ascending
            if (i % 2 == 0) continue;
            t.insert(base + i * 2 * PAGE, base + i * 2 * PAGE + PAGE - 1, i, 1);
            ref.put(base + i * 2 * PAGE, new long[] {base + i * 2 * PAGE + PAGE - 1, i, 1});
        }
        for (int i = 0; i < n; i += 2) {
            t.insert(base + i * 2 * PAGE, base + i * 2 * PAGE + PAGE - 1, i, 1);
            ref.put(base + i * 2 * PAGE, new long[] {base + i * 2 * PAGE + PAGE - 1, i, 1});
        }
        assertSame(ref, t);
        assertTrue(t.overlaps(Long.MAX_VALUE - PAGE, Long.MIN_VALUE + PAGE));
        assertFalse(t.wouldSplit(Long.MIN_VALUE, Long.MIN_VALUE + 10 * PAGE - 1));
        final int removed = t.removeRange(Long.MIN_VALUE - 10 * PAGE, Long.MIN_VALUE + 10 * PAGE - 1, null);
        ref.subMap(Long.MIN_VALUE - 10 * PAGE, true, Long.MIN_VALUE + 10 * PAGE - 1, true).clear();
        assertEquals(10, removed);
        assertSame(ref, t);
    }

    @Test
    void shouldKeepOrderAcrossBlockSplitsWhenInsertingDescending() {
        final MappingTable t = new MappingTable();
        final int n = 10 * MappingTable.BLOCK + 7;
        for (int i = n - 1; i >= 0; i--) t.insert(i * 8192L, i * 8192L + 4095, i, 1);
        for (int i = 0; i < n; i++) {
            assertTrue(t.find(i * 8192L + 100));
            assertEquals(i, t.hitPhys);
            assertFalse(t.find(i * 8192L + 4096));
        }
        assertEquals(n, t.removeRange(0, -1L, null));
        assertEquals(0, t.size());
    }

    @Test
    void shouldFindEveryMappingAtItsEdgesWhateverTheInsertOrderLeftAsBlocks() {
        // ascending inserts leave half-full blocks, descending ones full blocks, shuffled ones a mix: probe every edge
        final int n = 6 * MappingTable.BLOCK + 3;
        final List<Integer> shuffled = new ArrayList<>();
        for (int i = 0; i < n; i++) shuffled.add(i);
        java.util.Collections.shuffle(shuffled, new Random(5));
        for (int order = 0; order < 3; order++) {
            final MappingTable t = new MappingTable();
            final TreeMap<Long, long[]> ref = reference();
            for (int k = 0; k < n; k++) {
                final int i = order == 0 ? k : order == 1 ? n - 1 - k : shuffled.get(k);
                final long s = i * 3 * PAGE, e = s + 2 * PAGE - 1;   // two pages mapped, one hole
                t.insert(s, e, 0x7000_0000L + i, i & 3);
                ref.put(s, new long[] {e, 0x7000_0000L + i, i & 3});
            }
            assertSame(ref, t);
        }
    }

    @Test
    void shouldRemoveWholeBlocksAndKeepTheRestSearchable() {
        final MappingTable t = new MappingTable();
        final TreeMap<Long, long[]> ref = reference();
        final int n = 8 * MappingTable.BLOCK;
        for (int i = 0; i < n; i++) {
            t.insert(i * 2 * PAGE, i * 2 * PAGE + PAGE - 1, i, 1);
            ref.put(i * 2 * PAGE, new long[] {i * 2 * PAGE + PAGE - 1, i, 1});
        }
        // the middle half, many whole blocks, then the first mapping alone, then the rest from the top down
        final long from = n / 4 * 2 * PAGE, to = 3 * n / 4 * 2 * PAGE - 1;
        assertTrue(t.find(from + 5));                                       // a hit that the removal must invalidate
        final long gen = t.generation();
        assertEquals(n / 2, t.removeRange(from, to, null));
        assertEquals(gen + n / 2, t.generation());
        ref.subMap(from, true, to, true).clear();
        assertFalse(t.find(from + 5));
        assertFalse(t.overlaps(from, to));
        assertSame(ref, t);
        assertEquals(1, t.removeRange(0, 0, null));
        ref.remove(0L);
        assertSame(ref, t);
        for (long top = (n - 1) * 2 * PAGE; !ref.isEmpty(); top -= 40 * PAGE) {
            final long lo = Math.max(0, top - 40 * PAGE + 1);
            final int expected = ref.subMap(lo, true, top + PAGE - 1, true).size();
            assertEquals(expected, t.removeRange(lo, top + PAGE - 1, null));
            ref.subMap(lo, true, top + PAGE - 1, true).clear();
            assertEquals(ref.size(), t.size());
        }
        assertSame(ref, t);
        // refilled after emptying: the directory starts again
        t.insert(5 * PAGE, 6 * PAGE - 1, 9, 2);
        assertTrue(t.find(5 * PAGE + 1));
        assertEquals(9, t.hitPhys);
        assertEquals(2, t.hitFlags);
    }

    @Test
    void shouldLeaveTheMappingTheVisitorDeclinesAndStopThereAcrossBlocks() {
        final MappingTable t = new MappingTable();
        final int n = 3 * MappingTable.BLOCK;
        for (int i = 0; i < n; i++) t.insert(i * 2 * PAGE, i * 2 * PAGE + PAGE - 1, i, 1);
        final long gen = t.generation();
        final int keep = MappingTable.BLOCK + 10;                           // in the second block at least
        final List<Long> seen = new ArrayList<>();
        final int removed = t.removeRange(0, -1L, (s, e, p, f) -> { seen.add(s); return seen.size() <= keep; });
        assertEquals(keep, removed);
        assertEquals(keep + 1, seen.size());
        assertEquals(gen + keep, t.generation(), "one bump per mapping removed, none for the one kept");
        assertEquals(n - keep, t.size());
        assertFalse(t.find(seen.get(keep - 1)));
        assertTrue(t.find(seen.get(keep)));
        assertEquals(keep, t.hitPhys);
        assertEquals(0, t.removeRange(1, PAGE - 1, null), "a range holding no start removes nothing");
        assertEquals(gen + keep, t.generation(), "and changes nothing");
    }

    @Test
    void shouldForgetEverythingOnClearAndStartAgain() {
        final MappingTable t = new MappingTable();
        for (int i = 0; i < 2 * MappingTable.BLOCK + 1; i++) t.insert(i * 2 * PAGE, i * 2 * PAGE + PAGE - 1, i, 1);
        assertTrue(t.find(PAGE / 2));
        final long gen = t.generation();
        t.clear();
        assertEquals(gen + 1, t.generation());
        assertEquals(0, t.size());
        assertFalse(t.find(PAGE / 2), "the last hit went with the mappings");
        assertFalse(t.overlaps(0, -1L));
        final List<Long> none = new ArrayList<>();
        t.forEach((s, e, p, f) -> none.add(s) || true);
        assertTrue(none.isEmpty());
        t.insert(PAGE, 2 * PAGE - 1, 77, 3);
        assertTrue(t.find(PAGE));
        assertEquals(77, t.hitPhys);
    }

    @Test
    void findsTheNextMappingAfterAHitAcrossBlocksAndNotAfterAChange() {
        // the finger: after a hit, a lookup beyond it tries the following entry (or the next block's first) first
        final MappingTable t = new MappingTable();
        final int n = 3 * MappingTable.BLOCK + 7;                  // several blocks
        for (int i = 0; i < n; i++) t.insert(0x10_0000L * i, 0x10_0000L * i + 0x7_FFFF, 0x1_0000_0000L + i, 1);   // holes between
        for (int i = 0; i < n; i++) {
            assertTrue(t.find(0x10_0000L * i + 0x100), "mapping " + i);
            assertEquals(0x1_0000_0000L + i, t.hitPhys);
            assertFalse(t.find(0x10_0000L * i + 0x8_0000), "the hole after mapping " + i);
            assertTrue(t.find(0x10_0000L * i + 0x7_F000));
        }
        assertTrue(t.find(0x10_0000L * 5));
        assertFalse(t.find(0x10_0000L * 6 + 0x9_0000), "beyond the next mapping: not it");
        assertTrue(t.find(0x10_0000L * 200));
        t.removeRange(0x10_0000L * 201, 0x10_0000L * 201 + 0x7_FFFF, (s, e, p, f) -> true);
        assertFalse(t.find(0x10_0000L * 201), "removed after the hit: the finger is stale");
        assertTrue(t.find(0x10_0000L * 202));
        assertEquals(0x1_0000_0000L + 202, t.hitPhys);
        assertTrue(t.find(0x10_0000L * (n - 1)));
        assertFalse(t.find(0x10_0000L * n), "past the last mapping");
    }
}
