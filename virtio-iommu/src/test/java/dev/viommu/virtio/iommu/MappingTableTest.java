package dev.viommu.virtio.iommu;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.*;

class MappingTableTest {

    /** Reference model: start → {end, phys}, unsigned order (all test keys are below 2^62). */
    private static boolean refOverlaps(final TreeMap<Long, long[]> ref, final long s, final long e) {
        final Map.Entry<Long, long[]> f = ref.floorEntry(e);
        return f != null && f.getValue()[0] >= s;
    }

    @Test
    void shouldAgreeWithATreeMapOverRandomMapsUnmapsAndLookups() {
        final Random rnd = new Random(42);
        final MappingTable t = new MappingTable();
        final TreeMap<Long, long[]> ref = new TreeMap<>();
        for (int op = 0; op < 60_000; op++) {
            final long s = (rnd.nextInt(20_000)) * 4096L;
            final long e = s + (1 + rnd.nextInt(4)) * 4096L - 1;
            switch (rnd.nextInt(4)) {
                case 0, 1 -> {
                    final boolean o = refOverlaps(ref, s, e);
                    assertEquals(o, t.overlaps(s, e));
                    if (!o) { t.insert(s, e, s ^ 0x1000_0000L, 3); ref.put(s, new long[] {e, s ^ 0x1000_0000L}); }
                }
                case 2 -> {
                    final long ue = s + rnd.nextInt(40) * 4096L - 1 + 4096;
                    boolean split = false;
                    final Map.Entry<Long, long[]> a = ref.floorEntry(s);
                    if (a != null && a.getKey() < s && a.getValue()[0] >= s) split = true;
                    final Map.Entry<Long, long[]> b = ref.floorEntry(ue);
                    if (b != null && b.getValue()[0] > ue) split = true;
                    assertEquals(split, t.wouldSplit(s, ue));
                    if (!split) {
                        final List<Long> removed = new ArrayList<>();
                        t.removeRange(s, ue, (ms, me, mp, mf) -> removed.add(ms) || true);
                        final List<Long> expected = new ArrayList<>(ref.subMap(s, true, ue, true).keySet());
                        assertEquals(expected, removed);
                        ref.subMap(s, true, ue, true).clear();
                    }
                }
                default -> {
                    final long iova = s + rnd.nextInt(8192);
                    final Map.Entry<Long, long[]> f = ref.floorEntry(iova);
                    final boolean hit = f != null && f.getValue()[0] >= iova;
                    assertEquals(hit, t.find(iova), "lookup 0x" + Long.toHexString(iova));
                    if (hit) {
                        assertEquals(f.getKey(), t.hitStart);
                        assertEquals(f.getValue()[1], t.hitPhys);
                    }
                }
            }
            assertEquals(ref.size(), t.size());
        }
        final List<Long> all = new ArrayList<>();
        t.forEach((s, e, p, f) -> all.add(s) || true);
        assertEquals(new ArrayList<>(ref.keySet()), all);
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
