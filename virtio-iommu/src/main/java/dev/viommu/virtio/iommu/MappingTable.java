package dev.viommu.virtio.iommu;

/**
 * The mappings of one domain: non-overlapping inclusive intervals [start, end] → phys, ordered by start
 * (unsigned). Stored as a two-level sorted array (a directory of blocks of up to {@value #BLOCK} entries each,
 * primitive arrays only) so that a lookup is two binary searches with no allocation and good locality, and an
 * insert or removal moves at most one block's worth of entries plus, on a block split or free, the directory.
 * <p>
 * Each entry is one MAP request: the unit UNMAP removes whole (§5.13.6.6). Not thread-safe; the device
 * serialises access. After a successful {@link #find}, the hit fields describe the mapping found.
 */
public final class MappingTable {
    static final int BLOCK = 256;
    private static final int GROUP = 16;
    private static final long BIAS = Long.MIN_VALUE;   // keys are stored biased: signed order = unsigned order

    /**
     * One block: {@code key[i]} = start ^ BIAS, dense for the binary search; {@code data[3i..3i+2]} = end, phys,
     * flags of the same entry, together so that a hit touches one more cache line, not three.
     */
    private static final class Block {
        final long[] key = new long[BLOCK];
        final long[] data = new long[3 * BLOCK];
        /** key[16j]: a two-line summary searched first, so a lookup touches ~4 key lines instead of ~8. */
        final long[] sum = new long[BLOCK / GROUP];
        int n;

        /** Refreshes the summary from entry {@code from} on. */
        void resum(final int from) {
            for (int j = from / GROUP; j * GROUP < n; j++) sum[j] = key[j * GROUP];
        }

        long start(final int i) { return key[i] ^ BIAS; }

        long end(final int i) { return data[3 * i]; }

        long phys(final int i) { return data[3 * i + 1]; }

        int flags(final int i) { return (int) data[3 * i + 2]; }
    }

    /** Visits removed or listed mappings; returning false stops the walk. */
    public interface Visitor {
        boolean visit(long start, long end, long phys, int flags);
    }

    private Block[] blocks = new Block[4];
    private long[] firsts = new long[4];     // biased first key of each block
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
    private static int floor(final long[] a, final int n, final long bkey) { return floor(a, 0, n, bkey); }

    /** As {@link #floor(long[], int, long)} over {@code a[from, from + n)}; returns an index into {@code a}. */
    private static int floor(final long[] a, final int from, final int n, final long bkey) {
        if (n == 0 || a[from] > bkey) return -1;
        int base = from, len = n;
        while (len > 1) {
            final int half = len >>> 1;
            base = a[base + half] <= bkey ? base + half : base;
            len -= half;
        }
        return base;
    }

    /** The block whose first start is the greatest one ≤ key, or -1. */
    private int blockFor(final long key) { return floor(firsts, nb, key ^ BIAS); }

    /** In {@code b}, the last entry whose start is ≤ key, or -1. */
    private static int floorIn(final Block b, final long key) {
        final long bk = key ^ BIAS;
        final int g = floor(b.sum, (b.n + GROUP - 1) / GROUP, bk);
        if (g < 0) return -1;
        final int base = g * GROUP;
        return floor(b.key, base, Math.min(GROUP, b.n - base), bk);
    }

    /** Looks up the mapping that contains {@code iova}; on a hit fills the hit fields. Allocation-free. */
    public boolean find(final long iova) {
        if (cachedGen == generation) {
            if (le(hitStart, iova) && le(iova, hitEnd)) return true;
            if (!le(iova, hitEnd) && nextHolds(iova)) return true;
        }
        final int b = blockFor(iova);
        if (b < 0) return false;
        final Block blk = blocks[b];
        final int i = floorIn(blk, iova);
        return i >= 0 && hit(b, blk, i, iova);
    }

    /**
     * Whether the mapping after the last hit (the next entry, or the first of the next block) holds {@code iova},
     * which lies beyond the last hit; fills the hit fields if so. Only valid while the generation is unchanged.
     */
    private boolean nextHolds(final long iova) {
        int b = hitBlock, i = hitEntry + 1;
        if (i == blocks[b].n) {
            if (++b == nb) return false;
            i = 0;
        }
        final Block blk = blocks[b];
        return le(blk.start(i), iova) && hit(b, blk, i, iova);
    }

    /** Entry {@code i} of block {@code b}, whose start is ≤ iova: fills the hit fields if it also reaches iova. */
    private boolean hit(final int b, final Block blk, final int i, final long iova) {
        final long[] d = blk.data;
        final long end = d[3 * i];
        if (!le(iova, end)) return false;
        hitStart = blk.key[i] ^ BIAS;
        hitEnd = end;
        hitPhys = d[3 * i + 1];
        hitFlags = (int) d[3 * i + 2];
        hitBlock = b;
        hitEntry = i;
        cachedGen = generation;
        return true;
    }

    /** Whether any mapping intersects [start, end]. */
    public boolean overlaps(final long start, final long end) {
        final int b = blockFor(end);
        if (b < 0) return false;
        final Block blk = blocks[b];
        final int i = floorIn(blk, end);
        return i >= 0 && le(start, blk.end(i));
    }

    /** Adds [start, end] → phys. The caller has checked that it overlaps nothing. */
    public void insert(final long start, final long end, final long phys, final int flags) {
        generation++;
        if (nb == 0) {
            blocks[0] = new Block();
            firsts[0] = start ^ BIAS;
            nb = 1;
        }
        int b = blockFor(start);
        if (b < 0) b = 0;
        Block blk = blocks[b];
        if (blk.n == BLOCK) {
            final Block hi = new Block();
            final int half = BLOCK / 2;
            System.arraycopy(blk.key, half, hi.key, 0, BLOCK - half);
            System.arraycopy(blk.data, 3 * half, hi.data, 0, 3 * (BLOCK - half));
            hi.n = BLOCK - half;
            blk.n = half;
            hi.resum(0);
            insertBlock(b + 1, hi);
            if (le(hi.start(0), start)) { b++; blk = hi; }
        }
        final int pos = floorIn(blk, start) + 1;
        final int move = blk.n - pos;
        if (move > 0) {
            System.arraycopy(blk.key, pos, blk.key, pos + 1, move);
            System.arraycopy(blk.data, 3 * pos, blk.data, 3 * (pos + 1), 3 * move);
        }
        blk.key[pos] = start ^ BIAS;
        blk.data[3 * pos] = end;
        blk.data[3 * pos + 1] = phys;
        blk.data[3 * pos + 2] = flags;
        blk.n++;
        blk.resum(pos);
        if (pos == 0) firsts[b] = start ^ BIAS;
        size++;
    }

    private void insertBlock(final int at, final Block blk) {
        if (nb == blocks.length) {
            blocks = java.util.Arrays.copyOf(blocks, nb * 2);
            firsts = java.util.Arrays.copyOf(firsts, nb * 2);
        }
        System.arraycopy(blocks, at, blocks, at + 1, nb - at);
        System.arraycopy(firsts, at, firsts, at + 1, nb - at);
        blocks[at] = blk;
        firsts[at] = blk.key[0];
        nb++;
    }

    private void removeAt(final int b, final int i) {
        final Block blk = blocks[b];
        final int move = blk.n - i - 1;
        if (move > 0) {
            System.arraycopy(blk.key, i + 1, blk.key, i, move);
            System.arraycopy(blk.data, 3 * (i + 1), blk.data, 3 * i, 3 * move);
        }
        blk.n--;
        size--;
        blk.resum(i);
        if (blk.n == 0) {
            System.arraycopy(blocks, b + 1, blocks, b, nb - b - 1);
            System.arraycopy(firsts, b + 1, firsts, b, nb - b - 1);
            nb--;
            blocks[nb] = null;
        } else if (i == 0) {
            firsts[b] = blk.key[0];
        }
    }

    /**
     * Whether removing [start, end] would split a mapping: one that begins before {@code start} and reaches it,
     * or one that begins inside the range and ends after {@code end} (§5.13.6.6).
     */
    public boolean wouldSplit(final long start, final long end) {
        int b = blockFor(start);
        if (b >= 0) {
            final Block blk = blocks[b];
            final int i = floorIn(blk, start);
            if (i >= 0 && Long.compareUnsigned(blk.start(i), start) < 0 && le(start, blk.end(i))) return true;
        }
        b = blockFor(end);
        if (b >= 0) {
            final Block blk = blocks[b];
            final int i = floorIn(blk, end);
            if (i >= 0 && Long.compareUnsigned(end, blk.end(i)) < 0) return true;
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
            i = floorIn(blocks[b], start);
            if (i < 0 || Long.compareUnsigned(blocks[b].start(i), start) < 0) i++;
        }
        int removed = 0;
        while (b < nb) {
            final Block blk = blocks[b];
            if (i >= blk.n) { b++; i = 0; continue; }
            final long s = blk.start(i);
            if (!le(s, end)) break;
            if (v != null && !v.visit(s, blk.end(i), blk.phys(i), blk.flags(i))) break;
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
            final Block blk = blocks[b];
            for (int i = 0; i < blk.n; i++) {
                if (!v.visit(blk.start(i), blk.end(i), blk.phys(i), blk.flags(i))) return;
            }
        }
    }

    public void clear() {
        generation++;
        blocks = new Block[4];
        firsts = new long[4];
        nb = 0;
        size = 0;
    }
}
