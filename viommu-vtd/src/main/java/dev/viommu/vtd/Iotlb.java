package dev.viommu.vtd;

import java.util.Arrays;

/**
 * The IOTLB: translations tagged by domain ID and PASID (VT-d 6.5.1). An entry maps one 4 KiB, 2 MiB or 1 GiB
 * page; a lookup probes the 4 KiB key, then the large-page keys only while large entries are live. Requests
 * without PASID in legacy mode are tagged {@link #NO_PASID_TAG}. Every invalidation granularity walks only the
 * affected group's entries (see {@link CacheIndex}); a page-selective flush of a small range probes its pages.
 */
final class Iotlb {
    /** The PASID tag of legacy-mode entries (one above the 20-bit PASID space). */
    static final int NO_PASID_TAG = 1 << 20;

    /** Permission bits an entry keeps: read/write for user and for supervisor requests, and dirty already set. */
    static final int UR = 1, UW = 2, SR = 4, SW = 8, DIRTY_DONE = 16;

    private final CacheIndex index;
    private long[] out = new long[0];
    private int[] perms = new int[0];
    private final int[] liveByLevel = new int[3];

    /** Advanced by every invalidation (even one that removes nothing: a {@link MicroTlb} entry may outlive its entry here). */
    private final CacheEpoch epoch;

    Iotlb(final int capacity, final CacheEpoch epoch) {
        this.epoch = epoch;
        index = new CacheIndex(capacity, 1 << 16);
        sync();
    }

    private void sync() {
        final int n = index.poolLength();
        if (out.length != n) {
            out = Arrays.copyOf(out, n);
            perms = Arrays.copyOf(perms, n);
        }
    }

    static long tag(final int did, final int pasidTag) { return (long) did << 21 | pasidTag; }

    static long pageKey(final long iova, final int level) { return (iova >>> (12 + 9 * level)) << 2 | level; }

    int size() { return index.size(); }

    int capacity() { return index.capacity(); }

    int liveLargePages() { return liveByLevel[1] + liveByLevel[2]; }

    /** The entry covering {@code iova}, or -1. */
    int lookup(final int did, final int pasidTag, final long iova) {
        final long t = tag(did, pasidTag);
        int e = index.find(pageKey(iova, 0), t);
        if (e >= 0 || (liveByLevel[1] | liveByLevel[2]) == 0) return e;
        if (liveByLevel[1] != 0 && (e = index.find(pageKey(iova, 1), t)) >= 0) return e;
        if (liveByLevel[2] != 0) e = index.find(pageKey(iova, 2), t);
        return e;
    }

    /** The output address of {@code iova} through entry {@code e}. */
    long output(final int e, final long iova) {
        final int level = (int) (index.keyA(e) & 3);
        final long mask = (1L << (12 + 9 * level)) - 1;
        return out[e] | (iova & mask);
    }

    int level(final int e) { return (int) (index.keyA(e) & 3); }

    int perms(final int e) { return perms[e]; }

    void insert(final int did, final int pasidTag, final long iova, final int level, final long outPage, final int p) {
        insert(did, pasidTag, iova, level, outPage, p, false);
    }

    /** {@code absent}: the caller's lookup just missed, so the entry cannot exist (saves a probe on a miss). */
    void insert(final int did, final int pasidTag, final long iova, final int level, final long outPage, final int p,
                final boolean absent) {
        final long key = pageKey(iova, level);
        final long t = tag(did, pasidTag);
        int e = absent ? -1 : index.find(key, t);
        if (e < 0) {
            if (index.size() == index.capacity()) {
                removeEntry(index.oldest());
            }
            e = index.insert(key, t, did, t);
            sync();
            liveByLevel[level]++;
        }
        out[e] = outPage;
        perms[e] = p;
    }

    private void removeEntry(final int e) {
        liveByLevel[(int) (index.keyA(e) & 3)]--;
        index.remove(e);
    }

    /** Global invalidation. Returns the entries removed. */
    int invalidateAll() {
        epoch.advance();
        final int n = index.size();
        index.clear();
        Arrays.fill(liveByLevel, 0);
        return n;
    }

    /** Domain-selective: every entry of {@code did}, whatever its PASID. */
    int invalidateDomain(final int did) {
        epoch.advance();
        int n = 0;
        for (int e = index.first1(did); e >= 0; ) {
            final int next = index.next1(e);
            removeEntry(e);
            n++;
            e = next;
        }
        return n;
    }

    /** Every entry of (DID, PASID). */
    int invalidatePasid(final int did, final int pasidTag) {
        epoch.advance();
        int n = 0;
        for (int e = index.first2(tag(did, pasidTag)); e >= 0; ) {
            final int next = index.next2(e);
            removeEntry(e);
            n++;
            e = next;
        }
        return n;
    }

    /**
     * Page-selective: entries of {@code did} (and of {@code pasidTag}, or any PASID when it is -1) that overlap
     * {@code [addr, addr + 2^(am+12))}. Small ranges probe each page key; large ones walk the group.
     */
    int invalidateRange(final int did, final int pasidTag, final long addr, final int am) {
        epoch.advance();
        final long size = 1L << (12 + am);
        final long last = addr + size - 1;
        int n = 0;
        if (pasidTag >= 0 && am <= 6) {
            final long t = tag(did, pasidTag);
            for (int level = 0; level < 3; level++) {
                if (level > 0 && liveByLevel[level] == 0) continue;
                final int shift = 12 + 9 * level;
                for (long p = addr >>> shift; p <= last >>> shift; p++) {
                    final int e = index.find(p << 2 | level, t);
                    if (e >= 0) { removeEntry(e); n++; }
                }
            }
            return n;
        }
        if (pasidTag >= 0) {
            for (int e = index.first2(tag(did, pasidTag)); e >= 0; ) {
                final int next = index.next2(e);
                if (overlaps(e, addr, last)) { removeEntry(e); n++; }
                e = next;
            }
        } else {
            for (int e = index.first1(did); e >= 0; ) {
                final int next = index.next1(e);
                if (overlaps(e, addr, last)) { removeEntry(e); n++; }
                e = next;
            }
        }
        return n;
    }

    private boolean overlaps(final int e, final long first, final long last) {
        final long k = index.keyA(e);
        final int level = (int) (k & 3);
        final int shift = 12 + 9 * level;
        final long base = (k >>> 2) << shift;
        final long end = base + (1L << shift) - 1;
        return Long.compareUnsigned(base, last) <= 0 && Long.compareUnsigned(first, end) <= 0;
    }
}
