package dev.viommu.vtd;

import java.util.Arrays;

/**
 * An open-addressing map from {@code long} to non-negative {@code int}, linear probing with backward-shift
 * deletion, so lookups never box and removal leaves no tombstones. Grows at half load; never shrinks.
 */
final class LongIntMap {
    private static final long EMPTY = Long.MIN_VALUE;   // keys here are never negative
    private long[] keys;
    private int[] values;
    private int mask;
    private int size;

    LongIntMap(final int initialCapacity) {
        final int cap = Integer.highestOneBit(Math.max(16, initialCapacity * 2 - 1)) << 1;
        keys = new long[cap];
        values = new int[cap];
        Arrays.fill(keys, EMPTY);
        mask = cap - 1;
    }

    static int hash(final long k) {
        final long h = k * 0x9E37_79B9_7F4A_7C15L;
        return (int) (h ^ (h >>> 32));
    }

    int size() { return size; }

    /** The value for {@code key}, or -1. */
    int get(final long key) {
        final long[] ks = keys;
        final int m = mask;
        for (int i = hash(key) & m; ; i = (i + 1) & m) {
            final long k = ks[i];
            if (k == key) return values[i];
            if (k == EMPTY) return -1;
        }
    }

    void put(final long key, final int value) {
        if (key < 0) throw new IllegalArgumentException("negative key");
        if ((size + 1) * 2 > keys.length) grow();
        for (int i = hash(key) & mask; ; i = (i + 1) & mask) {
            if (keys[i] == key) { values[i] = value; return; }
            if (keys[i] == EMPTY) { keys[i] = key; values[i] = value; size++; return; }
        }
    }

    void remove(final long key) {
        int i = hash(key) & mask;
        while (true) {
            if (keys[i] == EMPTY) return;
            if (keys[i] == key) break;
            i = (i + 1) & mask;
        }
        size--;
        // backward-shift: pull later entries of the cluster into the hole when their home allows it
        int hole = i;
        for (int j = (hole + 1) & mask; keys[j] != EMPTY; j = (j + 1) & mask) {
            final int home = hash(keys[j]) & mask;
            if (((j - home) & mask) >= ((j - hole) & mask)) {
                keys[hole] = keys[j];
                values[hole] = values[j];
                hole = j;
            }
        }
        keys[hole] = EMPTY;
    }

    void clear() {
        Arrays.fill(keys, EMPTY);
        size = 0;
    }

    private void grow() {
        final long[] ok = keys;
        final int[] ov = values;
        keys = new long[ok.length * 2];
        values = new int[ok.length * 2];
        Arrays.fill(keys, EMPTY);
        mask = keys.length - 1;
        size = 0;
        for (int i = 0; i < ok.length; i++) if (ok[i] != EMPTY) put(ok[i], ov[i]);
    }
}
