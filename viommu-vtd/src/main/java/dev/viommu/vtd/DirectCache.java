package dev.viommu.vtd;

import java.util.function.IntPredicate;

/**
 * A cache of two-qword entries indexed directly by a 16-bit key (a source ID for the context cache, an
 * interrupt index for the interrupt-entry cache). A dense list of live keys makes flushes proportional to the
 * live entries, not to the 64 Ki key space.
 */
final class DirectCache {
    private final long[] qw0 = new long[1 << 16];
    private final long[] qw1 = new long[1 << 16];
    private final int[] pos = new int[1 << 16];     // position in live + 1; 0 = absent
    private final int[] live = new int[1 << 16];
    private int size;
    /** Advanced on every removal (null for caches no {@link MicroTlb} depends on). */
    private final CacheEpoch epoch;

    DirectCache() { this(null); }

    DirectCache(final CacheEpoch epoch) { this.epoch = epoch; }

    private void removed() { if (epoch != null) epoch.advance(); }

    boolean contains(final int key) { return pos[key] != 0; }

    long qw0(final int key) { return qw0[key]; }

    long qw1(final int key) { return qw1[key]; }

    int size() { return size; }

    void put(final int key, final long q0, final long q1) {
        qw0[key] = q0;
        qw1[key] = q1;
        if (pos[key] == 0) {
            live[size++] = key;
            pos[key] = size;
        }
    }

    void remove(final int key) {
        removed();
        final int p = pos[key];
        if (p == 0) return;
        final int last = live[--size];
        live[p - 1] = last;
        pos[last] = p;
        pos[key] = 0;
    }

    /** Removes the live entries whose key matches; returns how many. */
    int removeIf(final IntPredicate match) {
        removed();
        int n = 0;
        for (int i = size - 1; i >= 0; i--) {
            final int k = live[i];
            if (match.test(k)) { remove(k); n++; }
        }
        return n;
    }

    void clear() {
        removed();
        for (int i = 0; i < size; i++) pos[live[i]] = 0;
        size = 0;
    }
}
