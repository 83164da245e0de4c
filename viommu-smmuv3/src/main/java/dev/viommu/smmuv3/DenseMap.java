package dev.viommu.smmuv3;

import java.util.Arrays;

/**
 * A fixed-capacity map from a pair of {@code long} keys to values, with its entries kept dense in
 * {@code [0, size)} so that scans (precise invalidation by tag) cost time proportional to the live entries,
 * never to the key space or the capacity. The index is open addressing with linear probing and backward-shift
 * deletion (no tombstones). Lookups and updates allocate nothing. Removing entry {@code i} moves the last entry
 * into {@code i}; scans that remove therefore walk from the top down.
 *
 * @param <V> value type
 */
final class DenseMap<V> {
    private static final int EMPTY = -1;

    private final long[] k1, k2;
    private final Object[] vals;
    private final int[] index;   // dense position, or EMPTY
    private final int mask;
    private final int capacity;
    private int size;

    DenseMap(final int capacity) {
        this.capacity = capacity;
        this.k1 = new long[capacity];
        this.k2 = new long[capacity];
        this.vals = new Object[capacity];
        final int slots = Integer.highestOneBit(Math.max(4, capacity) * 2 - 1) << 1;
        this.index = new int[slots];
        this.mask = slots - 1;
        Arrays.fill(index, EMPTY);
    }

    int size() { return size; }

    int capacity() { return capacity; }

    boolean isFull() { return size == capacity; }

    long key1At(final int i) { return k1[i]; }

    long key2At(final int i) { return k2[i]; }

    @SuppressWarnings("unchecked")
    V valueAt(final int i) { return (V) vals[i]; }

    private static int hash(final long a, final long b) {
        long h = a * 0x9E3779B97F4A7C15L ^ b * 0xC2B2AE3D27D4EB4FL;
        h ^= h >>> 29;
        h *= 0xBF58476D1CE4E5B9L;
        return (int) (h ^ h >>> 32);
    }

    /** The dense position of the key, or -1. */
    int find(final long a, final long b) {
        int s = hash(a, b) & mask;
        while (true) {
            final int p = index[s];
            if (p == EMPTY) return -1;
            if (k1[p] == a && k2[p] == b) return p;
            s = (s + 1) & mask;
        }
    }

    V get(final long a, final long b) {
        final int p = find(a, b);
        return p < 0 ? null : valueAt(p);
    }

    /**
     * Puts or replaces; when full and the key is new, first evicts the entry at {@code victim} (the caller's
     * replacement policy). Returns the dense position.
     */
    int put(final long a, final long b, final V v, final int victim) {
        final int p = find(a, b);
        if (p >= 0) { vals[p] = v; return p; }
        if (size == capacity) removeAt(Math.floorMod(victim, size));
        final int n = size++;
        k1[n] = a;
        k2[n] = b;
        vals[n] = v;
        int s = hash(a, b) & mask;
        while (index[s] != EMPTY) s = (s + 1) & mask;
        index[s] = n;
        return n;
    }

    boolean remove(final long a, final long b) {
        final int p = find(a, b);
        if (p < 0) return false;
        removeAt(p);
        return true;
    }

    /** Removes the entry at dense position {@code p}; the last entry moves into {@code p}. */
    void removeAt(final int p) {
        deleteSlot(slotOf(p));
        final int last = --size;
        if (p != last) {
            final int s = slotOf(last);
            index[s] = p;
            k1[p] = k1[last];
            k2[p] = k2[last];
            vals[p] = vals[last];
        }
        vals[last] = null;
    }

    void clear() {
        if (size == 0) return;
        for (int i = 0; i < size; i++) {
            vals[i] = null;
            index[slotOfKey(k1[i], k2[i], i)] = EMPTY;
        }
        size = 0;
    }

    private int slotOf(final int p) { return slotOfKey(k1[p], k2[p], p); }

    private int slotOfKey(final long a, final long b, final int p) {
        int s = hash(a, b) & mask;
        while (index[s] != p) s = (s + 1) & mask;
        return s;
    }

    /** Backward-shift deletion keeps every probe chain unbroken. */
    private void deleteSlot(int hole) {
        int s = (hole + 1) & mask;
        while (index[s] != EMPTY) {
            final int p = index[s];
            final int home = hash(k1[p], k2[p]) & mask;
            // Move p into the hole if its home does not lie cyclically in (hole, s].
            final boolean between = hole <= s ? (home > hole && home <= s) : (home > hole || home <= s);
            if (!between) {
                index[hole] = p;
                hole = s;
            }
            s = (s + 1) & mask;
        }
        index[hole] = EMPTY;
    }
}
