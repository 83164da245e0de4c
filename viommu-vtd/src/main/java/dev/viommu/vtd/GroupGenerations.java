package dev.viommu.vtd;

import java.util.Arrays;

/**
 * The generation counters of (DID, PASID) groups for {@link Iotlb}: an open-addressing map from a group tag to a
 * {@code long} counter, where an absent group reads 0. Keys and values are interleaved in one array, so a reader
 * on another thread (the occupancy gauge) can never see a key array and a value array of different sizes.
 * Only groups the guest has flushed by PASID are present; {@link Iotlb} drops the ones without live entries when
 * the map grows (see {@link #retainMarked}). Nothing allocates except growth, which is amortised.
 */
final class GroupGenerations {
    private static final long EMPTY = -1L;                 // tags are never negative
    /** Set in a value by {@link #mark} and cleared by {@link #retainMarked}; counters never reach it. */
    private static final long MARK = 1L << 62;
    private long[] slots;                                  // key at 2i, value at 2i + 1
    private long[] scratch;
    private int size;

    GroupGenerations() {
        slots = new long[2 * 64];
        scratch = new long[slots.length];
        Arrays.fill(slots, EMPTY);
    }

    private static int hash(final long key) {
        final long h = key * 0x9E37_79B9_7F4A_7C15L;
        return (int) (h ^ (h >>> 32));
    }

    int size() { return size; }

    /** The counter of {@code key}, 0 when absent. */
    long get(final long key) {
        final long[] s = slots;
        final int m = (s.length >>> 1) - 1;
        for (int i = hash(key) & m; ; i = (i + 1) & m) {
            final long k = s[2 * i];
            if (k == key) return s[2 * i + 1] & ~MARK;
            if (k == EMPTY) return 0;
        }
    }

    /** Adds one to the counter of {@code key}; returns the new value. */
    long bump(final long key) {
        if ((size + 1) * 2 > slots.length >>> 1) grow();
        final long[] s = slots;
        final int m = (s.length >>> 1) - 1;
        for (int i = hash(key) & m; ; i = (i + 1) & m) {
            final long k = s[2 * i];
            if (k == key) return ++s[2 * i + 1];
            if (k == EMPTY) {
                s[2 * i] = key;
                s[2 * i + 1] = 1;
                size++;
                return 1;
            }
        }
    }

    /** Marks {@code key} (if present) as one to keep at the next {@link #retainMarked}. */
    void mark(final long key) {
        final long[] s = slots;
        final int m = (s.length >>> 1) - 1;
        for (int i = hash(key) & m; ; i = (i + 1) & m) {
            final long k = s[2 * i];
            if (k == key) { s[2 * i + 1] |= MARK; return; }
            if (k == EMPTY) return;
        }
    }

    /** Drops every unmarked group (their counters read 0 again) and clears the marks. Returns the groups kept. */
    int retainMarked() {
        final long[] old = slots, s = scratch;
        Arrays.fill(s, EMPTY);
        final int m = (s.length >>> 1) - 1;
        int n = 0;
        for (int j = 0; j < old.length; j += 2) {
            if (old[j] == EMPTY || (old[j + 1] & MARK) == 0) continue;
            int i = hash(old[j]) & m;
            while (s[2 * i] != EMPTY) i = (i + 1) & m;
            s[2 * i] = old[j];
            s[2 * i + 1] = old[j + 1] & ~MARK;
            n++;
        }
        scratch = old;
        slots = s;
        size = n;
        return n;
    }

    void clear() {
        Arrays.fill(slots, EMPTY);
        size = 0;
    }

    private void grow() {
        final long[] old = slots;
        final long[] s = new long[old.length * 2];
        Arrays.fill(s, EMPTY);
        final int m = (s.length >>> 1) - 1;
        for (int j = 0; j < old.length; j += 2) {
            if (old[j] == EMPTY) continue;
            int i = hash(old[j]) & m;
            while (s[2 * i] != EMPTY) i = (i + 1) & m;
            s[2 * i] = old[j];
            s[2 * i + 1] = old[j + 1];
        }
        scratch = new long[s.length];
        slots = s;
    }
}
