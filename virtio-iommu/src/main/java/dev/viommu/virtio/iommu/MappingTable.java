package dev.viommu.virtio.iommu;

import java.util.Arrays;

/**
 * The mappings of one domain: non-overlapping inclusive intervals [start, end] → phys, ordered by start
 * (unsigned). Stored as a two-level sorted array (a directory of blocks of up to {@value #BLOCK} entries, each
 * block one {@code long[]}) so that a lookup is a directory search and then one array, with no allocation, and an
 * insert or removal moves at most one block's worth of entries plus, on a block split or free, the directory.
 * <p>
 * Each entry is one MAP request: the unit UNMAP removes whole (§5.13.6.6). Not thread-safe; the device
 * serialises access. After a successful {@link #find}, the hit fields describe the mapping found.
 */
public final class MappingTable {
    static final int BLOCK = 256;
    private static final long BIAS = Long.MIN_VALUE;   // starts are stored biased: signed order = unsigned order

    /*
     * A block: [summary: the first start of each group of GROUP entries | entry i: start, end, phys, flags].
     * A random lookup is bound by cache misses, not compares: after the directory (small, cached) it waits for
     * two rounds of misses in one object, the summary's lines and then the group's lines, which hold both the
     * starts it compares and the data of the entry it finds. Both rounds are scans (see countLe), so each round's
     * lines load together.
     */
    private static final int GROUP = 8;
    private static final int SUM = 0;
    private static final int ENTRIES = SUM + BLOCK / GROUP;
    private static final int ENTRY = 4;
    private static final int BLOCK_LONGS = ENTRIES + BLOCK * ENTRY;

    /** Index in a block array of entry {@code i}: its biased start; end, phys and flags follow. */
    private static int at(final int i) { return ENTRIES + ENTRY * i; }

    /** Visits removed or listed mappings; returning false stops the walk. */
    public interface Visitor {
        boolean visit(long start, long end, long phys, int flags);
    }

    private long[][] blocks = new long[4][];
    private long[] firsts = new long[4];     // biased first start of each block
    private int[] counts = new int[4];       // entries in each block
    private int nb;
    private int size;
    private long generation;

    // The last hit (a one-entry cache: DMA walks a mapping page by page) and where it is (block, entry): a DMA that
    // walks on into the next mapping finds it there without a search (a finger).
    private long cachedGen = -1;
    private int hitBlock, hitEntry;
    public long hitStart, hitEnd, hitPhys;
    public int hitFlags;

    public int size() { return size; }

    public boolean isEmpty() { return size == 0; }

    /** Bumped by every change; consumers that cache hits compare it. */
    public long generation() { return generation; }

    private static boolean le(final long a, final long b) { return Long.compareUnsigned(a, b) <= 0; }

    /** Index of the last element of {@code a[0, n)} that is ≤ {@code bkey} (biased, signed order), or -1. Branch-free steps. */
    private static int floor(final long[] a, final int n, final long bkey) {
        if (n == 0 || a[0] > bkey) return -1;
        int base = 0, len = n;
        while (len > 1) {
            final int half = len >>> 1;
            base = a[base + half] <= bkey ? base + half : base;
            len -= half;
        }
        return base;
    }

    /** The block whose first start is the greatest one ≤ key, or -1. */
    private int blockFor(final long key) { return floor(firsts, nb, key ^ BIAS); }

    /**
     * How many of the sorted values {@code a[from]}, {@code a[from + stride]}, … ({@code n} of them) are ≤
     * {@code bkey}. A scan, not a binary search: its loads do not depend on one another, so the misses on the
     * lines they span overlap instead of following one another.
     */
    private static int countLe(final long[] a, final int from, final int stride, final int n, final long bkey) {
        int c = 0;
        for (int k = 0, j = from; k < n; k++, j += stride) c += a[j] <= bkey ? 1 : 0;
        return c;
    }

    /** In block {@code blk} of {@code n} entries, the last entry whose start is ≤ key, or -1. */
    private static int floorIn(final long[] blk, final int n, final long key) {
        final long bk = key ^ BIAS;
        final int g = countLe(blk, SUM, 1, (n + GROUP - 1) / GROUP, bk) - 1;
        if (g < 0) return -1;
        final int base = g * GROUP;
        return base + countLe(blk, at(base), ENTRY, Math.min(GROUP, n - base), bk) - 1;   // ≥ base: sum[g] ≤ bk
    }

    private static long start(final long[] blk, final int i) { return blk[at(i)] ^ BIAS; }

    private static long end(final long[] blk, final int i) { return blk[at(i) + 1]; }

    /** Looks up the mapping that contains {@code iova}; on a hit fills the hit fields. Allocation-free. */
    public boolean find(final long iova) {
        if (cachedGen == generation) {
            if (le(hitStart, iova) && le(iova, hitEnd)) return true;
            if (!le(iova, hitEnd) && nextHolds(iova)) return true;
        }
        final int b = blockFor(iova);
        if (b < 0) return false;
        final long[] blk = blocks[b];
        final int i = floorIn(blk, counts[b], iova);
        return i >= 0 && hit(b, blk, i, iova);
    }

    /**
     * Whether the mapping after the last hit (the next entry, or the first of the next block) holds {@code iova},
     * which lies beyond the last hit; fills the hit fields if so. Only valid while the generation is unchanged.
     */
    private boolean nextHolds(final long iova) {
        int b = hitBlock, i = hitEntry + 1;
        if (i == counts[b]) {
            if (++b == nb) return false;
            i = 0;
        }
        final long[] blk = blocks[b];
        return le(start(blk, i), iova) && hit(b, blk, i, iova);
    }

    /** Entry {@code i} of block {@code b}, whose start is ≤ iova: fills the hit fields if it also reaches iova. */
    private boolean hit(final int b, final long[] blk, final int i, final long iova) {
        final int e = at(i);
        final long end = blk[e + 1];
        if (!le(iova, end)) return false;
        hitStart = blk[e] ^ BIAS;
        hitEnd = end;
        hitPhys = blk[e + 2];
        hitFlags = (int) blk[e + 3];
        hitBlock = b;
        hitEntry = i;
        cachedGen = generation;
        return true;
    }

    /** Whether any mapping intersects [start, end]. */
    public boolean overlaps(final long start, final long end) {
        final int b = blockFor(end);
        if (b < 0) return false;
        final long[] blk = blocks[b];
        final int i = floorIn(blk, counts[b], end);
        return i >= 0 && le(start, end(blk, i));
    }

    /** Refreshes the summary of {@code blk} ({@code n} entries) from entry {@code from} on. */
    private static void resum(final long[] blk, final int n, final int from) {
        for (int g = from / GROUP; g * GROUP < n; g++) blk[SUM + g] = blk[at(g * GROUP)];
    }

    /** Adds [start, end] → phys. The caller has checked that it overlaps nothing. */
    public void insert(final long start, final long end, final long phys, final int flags) {
        generation++;
        if (nb == 0) {
            blocks[0] = new long[BLOCK_LONGS];
            firsts[0] = start ^ BIAS;
            counts[0] = 0;
            nb = 1;
        }
        int b = blockFor(start);
        if (b < 0) b = 0;
        long[] blk = blocks[b];
        if (counts[b] == BLOCK) {
            final long[] hi = new long[BLOCK_LONGS];
            final int half = BLOCK / 2;
            System.arraycopy(blk, at(half), hi, at(0), ENTRY * (BLOCK - half));
            counts[b] = half;
            resum(hi, BLOCK - half, 0);
            insertBlock(b + 1, hi, BLOCK - half);
            if (le(start(hi, 0), start)) { b++; blk = hi; }
        }
        final int n = counts[b];
        final int pos = floorIn(blk, n, start) + 1;
        if (pos < n) System.arraycopy(blk, at(pos), blk, at(pos + 1), ENTRY * (n - pos));
        final int e = at(pos);
        blk[e] = start ^ BIAS;
        blk[e + 1] = end;
        blk[e + 2] = phys;
        blk[e + 3] = flags;
        counts[b] = n + 1;
        resum(blk, n + 1, pos);
        if (pos == 0) firsts[b] = start ^ BIAS;
        size++;
    }

    private void insertBlock(final int to, final long[] blk, final int n) {
        if (nb == blocks.length) {
            blocks = Arrays.copyOf(blocks, nb * 2);
            firsts = Arrays.copyOf(firsts, nb * 2);
            counts = Arrays.copyOf(counts, nb * 2);
        }
        System.arraycopy(blocks, to, blocks, to + 1, nb - to);
        System.arraycopy(firsts, to, firsts, to + 1, nb - to);
        System.arraycopy(counts, to, counts, to + 1, nb - to);
        blocks[to] = blk;
        firsts[to] = blk[at(0)];
        counts[to] = n;
        nb++;
    }

    private void removeAt(final int b, final int i) {
        final long[] blk = blocks[b];
        final int n = counts[b] - 1;
        if (i < n) System.arraycopy(blk, at(i + 1), blk, at(i), ENTRY * (n - i));
        counts[b] = n;
        size--;
        resum(blk, n, i);
        if (n == 0) {
            System.arraycopy(blocks, b + 1, blocks, b, nb - b - 1);
            System.arraycopy(firsts, b + 1, firsts, b, nb - b - 1);
            System.arraycopy(counts, b + 1, counts, b, nb - b - 1);
            nb--;
            blocks[nb] = null;
        } else if (i == 0) {
            firsts[b] = blk[at(0)];
        }
    }

    /**
     * Whether removing [start, end] would split a mapping: one that begins before {@code start} and reaches it,
     * or one that begins inside the range and ends after {@code end} (§5.13.6.6).
     */
    public boolean wouldSplit(final long start, final long end) {
        int b = blockFor(start);
        if (b >= 0) {
            final long[] blk = blocks[b];
            final int i = floorIn(blk, counts[b], start);
            if (i >= 0 && Long.compareUnsigned(start(blk, i), start) < 0 && le(start, end(blk, i))) return true;
        }
        b = blockFor(end);
        if (b >= 0) {
            final long[] blk = blocks[b];
            final int i = floorIn(blk, counts[b], end);
            if (i >= 0 && Long.compareUnsigned(end, end(blk, i)) < 0) return true;
        }
        return false;
    }

    /**
     * Removes every mapping whose start lies in [start, end], in ascending order. The visitor sees each mapping
     * before it goes; if it returns false that mapping stays and the walk stops. Returns how many were removed.
     */
    public int removeRange(final long start, final long end, final Visitor v) {
        int b = blockFor(start);
        int i;
        if (b < 0) {
            b = 0;
            i = 0;
        } else {
            i = floorIn(blocks[b], counts[b], start);
            if (i < 0 || Long.compareUnsigned(start(blocks[b], i), start) < 0) i++;
        }
        int removed = 0;
        while (b < nb) {
            final long[] blk = blocks[b];
            if (i >= counts[b]) { b++; i = 0; continue; }
            final int e = at(i);
            final long s = blk[e] ^ BIAS;
            if (!le(s, end)) break;
            if (v != null && !v.visit(s, blk[e + 1], blk[e + 2], (int) blk[e + 3])) break;
            generation++;
            final int before = nb;
            removeAt(b, i);
            removed++;
            if (nb < before) i = 0;      // the block went away: b now names the next block
        }
        return removed;
    }

    /** Visits every mapping in ascending order until the visitor returns false. */
    public void forEach(final Visitor v) {
        for (int b = 0; b < nb; b++) {
            final long[] blk = blocks[b];
            for (int i = 0, n = counts[b]; i < n; i++) {
                final int e = at(i);
                if (!v.visit(blk[e] ^ BIAS, blk[e + 1], blk[e + 2], (int) blk[e + 3])) return;
            }
        }
    }

    public void clear() {
        generation++;
        blocks = new long[4][];
        firsts = new long[4];
        counts = new int[4];
        nb = 0;
        size = 0;
    }
}
