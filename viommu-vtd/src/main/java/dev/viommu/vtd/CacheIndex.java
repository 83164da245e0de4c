package dev.viommu.vtd;

import java.util.Arrays;

/**
 * The index behind the PASID cache: a pool of entries keyed by two {@code long}s, found through an
 * open-addressing table, and threaded on three intrusive lists: all entries (insertion order, for FIFO eviction
 * and global flushes), entries of one group-1 value (a DID), and entries of one group-2 value (DID+PASID). Every
 * flush therefore walks only the entries it removes (or, for a page-selective flush, the entries of the group),
 * never the ID space. Arrays grow by doubling up to the capacity; lookups allocate nothing.
 */
final class CacheIndex {
    private final int capacity;
    private long[] keyA, keyB, group2;
    private int[] group1, next1, prev1, next2, prev2, nextAll, prevAll;
    private int[] table;            // pool index + 1; 0 = empty
    private int tableMask;
    private final int[] head1;      // per group-1 value
    private final LongIntMap head2 = new LongIntMap(64);
    private int allHead = -1, allTail = -1, freeHead = -1, used, size;

    CacheIndex(final int capacity, final int group1Space) {
        this.capacity = capacity;
        this.head1 = new int[group1Space];
        Arrays.fill(head1, -1);
        allocate(Math.min(capacity, 256));
    }

    private void allocate(final int n) {
        keyA = keyA == null ? new long[n] : Arrays.copyOf(keyA, n);
        keyB = keyB == null ? new long[n] : Arrays.copyOf(keyB, n);
        group2 = group2 == null ? new long[n] : Arrays.copyOf(group2, n);
        group1 = group1 == null ? new int[n] : Arrays.copyOf(group1, n);
        next1 = next1 == null ? new int[n] : Arrays.copyOf(next1, n);
        prev1 = prev1 == null ? new int[n] : Arrays.copyOf(prev1, n);
        next2 = next2 == null ? new int[n] : Arrays.copyOf(next2, n);
        prev2 = prev2 == null ? new int[n] : Arrays.copyOf(prev2, n);
        nextAll = nextAll == null ? new int[n] : Arrays.copyOf(nextAll, n);
        prevAll = prevAll == null ? new int[n] : Arrays.copyOf(prevAll, n);
        final int t = Integer.highestOneBit(n * 2 - 1) << 1;
        table = new int[Math.max(t, 16)];
        tableMask = table.length - 1;
        for (int i = allHead; i >= 0; i = nextAll[i]) tableInsert(i);
    }

    /** Current pool length: payload arrays of the owning cache must be at least this long. */
    int poolLength() { return keyA.length; }

    int size() { return size; }

    int capacity() { return capacity; }

    static int hash(final long a, final long b) {
        long h = a * 0x9E37_79B9_7F4A_7C15L ^ b * 0xC2B2_AE3D_27D4_EB4FL;
        h ^= h >>> 29;
        return (int) (h ^ (h >>> 32));
    }

    /** The entry for ({@code a}, {@code b}), or -1. */
    int find(final long a, final long b) {
        final int[] t = table;
        final int m = tableMask;
        for (int i = hash(a, b) & m; ; i = (i + 1) & m) {
            final int v = t[i];
            if (v == 0) return -1;
            final int e = v - 1;
            if (keyA[e] == a && keyB[e] == b) return e;
        }
    }

    long keyA(final int e) { return keyA[e]; }

    long keyB(final int e) { return keyB[e]; }

    int group1(final int e) { return group1[e]; }

    long group2(final int e) { return group2[e]; }

    /**
     * Inserts a new entry (the caller has checked it is absent) and returns its index, evicting the oldest entry
     * when full. After this call {@link #poolLength()} may have grown.
     */
    int insert(final long a, final long b, final int g1, final long g2) {
        if (size == capacity) remove(allTail);
        final int e;
        if (freeHead >= 0) {
            e = freeHead;
            freeHead = nextAll[e];
        } else {
            if (used == keyA.length) allocate(Math.min(capacity, keyA.length * 2));
            e = used++;
        }
        keyA[e] = a;
        keyB[e] = b;
        group1[e] = g1;
        group2[e] = g2;
        // all-list, at the head
        prevAll[e] = -1;
        nextAll[e] = allHead;
        if (allHead >= 0) prevAll[allHead] = e; else allTail = e;
        allHead = e;
        // group 1
        prev1[e] = -1;
        next1[e] = head1[g1];
        if (head1[g1] >= 0) prev1[head1[g1]] = e;
        head1[g1] = e;
        // group 2
        final int h2 = head2.get(g2);
        prev2[e] = -1;
        next2[e] = h2;
        if (h2 >= 0) prev2[h2] = e;
        head2.put(g2, e);
        tableInsert(e);
        size++;
        return e;
    }

    private void tableInsert(final int e) {
        int i = hash(keyA[e], keyB[e]) & tableMask;
        while (table[i] != 0) i = (i + 1) & tableMask;
        table[i] = e + 1;
    }

    private void tableRemove(final int e) {
        int i = hash(keyA[e], keyB[e]) & tableMask;
        while (table[i] != e + 1) i = (i + 1) & tableMask;
        int hole = i;
        for (int j = (hole + 1) & tableMask; table[j] != 0; j = (j + 1) & tableMask) {
            final int o = table[j] - 1;
            final int home = hash(keyA[o], keyB[o]) & tableMask;
            if (((j - home) & tableMask) >= ((j - hole) & tableMask)) {
                table[hole] = table[j];
                hole = j;
            }
        }
        table[hole] = 0;
    }

    void remove(final int e) {
        tableRemove(e);
        // all-list
        if (prevAll[e] >= 0) nextAll[prevAll[e]] = nextAll[e]; else allHead = nextAll[e];
        if (nextAll[e] >= 0) prevAll[nextAll[e]] = prevAll[e]; else allTail = prevAll[e];
        // group 1
        if (prev1[e] >= 0) next1[prev1[e]] = next1[e]; else head1[group1[e]] = next1[e];
        if (next1[e] >= 0) prev1[next1[e]] = prev1[e];
        // group 2
        if (prev2[e] >= 0) {
            next2[prev2[e]] = next2[e];
        } else if (next2[e] >= 0) {
            head2.put(group2[e], next2[e]);
        } else {
            head2.remove(group2[e]);
        }
        if (next2[e] >= 0) prev2[next2[e]] = prev2[e];
        nextAll[e] = freeHead;
        freeHead = e;
        size--;
    }

    int firstAll() { return allHead; }

    /** The oldest entry (the eviction victim), or -1. */
    int oldest() { return allTail; }

    int nextAll(final int e) { return nextAll[e]; }

    int first1(final int g1) { return head1[g1]; }

    int next1(final int e) { return next1[e]; }

    int first2(final long g2) { return head2.get(g2); }

    int next2(final int e) { return next2[e]; }

    /** Removes every entry: cost proportional to the live entries. */
    void clear() {
        for (int e = allHead; e >= 0; ) {
            final int n = nextAll[e];
            remove(e);
            e = n;
        }
    }
}
