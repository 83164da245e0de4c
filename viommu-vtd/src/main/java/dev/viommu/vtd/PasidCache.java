package dev.viommu.vtd;

import java.util.Arrays;

/**
 * The PASID cache: validated scalable-mode PASID-table entries keyed by (source ID, PASID), tagged by the
 * entry's DID (VT-d 6.2.3). Flushes walk only the affected entries: by DID, by (DID, PASID), or everything.
 */
final class PasidCache {
    private final CacheIndex index;
    private long[] qw0 = new long[0], qw1 = new long[0], qw2 = new long[0];
    private boolean[] dirFpd = new boolean[0];
    private int memoSid = -1, memoPasid, memoEntry;

    private final CacheEpoch epoch;

    PasidCache(final int capacity, final CacheEpoch epoch) {
        this.epoch = epoch;
        index = new CacheIndex(capacity, 1 << 16);
        sync();
    }

    private void sync() {
        final int n = index.poolLength();
        if (qw0.length != n) {
            qw0 = Arrays.copyOf(qw0, n);
            qw1 = Arrays.copyOf(qw1, n);
            qw2 = Arrays.copyOf(qw2, n);
            dirFpd = Arrays.copyOf(dirFpd, n);
        }
    }

    int size() { return index.size(); }

    /**
     * The entry of (sid, pasid), or -1. The last answer is remembered (a device streams DMA with one PASID), and
     * forgotten on every change to the cache.
     */
    int lookup(final int sid, final int pasid) {
        if (sid == memoSid && pasid == memoPasid) return memoEntry;
        final int e = index.find(sid, pasid);
        memoSid = sid;
        memoPasid = pasid;
        memoEntry = e;
        return e;
    }

    private void forget() { memoSid = -1; }

    long qw0(final int e) { return qw0[e]; }

    long qw1(final int e) { return qw1[e]; }

    long qw2(final int e) { return qw2[e]; }

    boolean dirFpd(final int e) { return dirFpd[e]; }

    int sid(final int e) { return (int) index.keyA(e); }

    int pasid(final int e) { return (int) index.keyB(e); }

    void insert(final int sid, final int pasid, final int did, final long q0, final long q1, final long q2, final boolean fpd) {
        forget();
        int e = index.find(sid, pasid);
        if (e >= 0) index.remove(e);
        e = index.insert(sid, pasid, did, Iotlb.tag(did, pasid));
        sync();
        qw0[e] = q0;
        qw1[e] = q1;
        qw2[e] = q2;
        dirFpd[e] = fpd;
    }

    int invalidateAll() {
        forget();
        epoch.advance();
        final int n = index.size();
        index.clear();
        return n;
    }

    int invalidateDomain(final int did) {
        forget();
        epoch.advance();
        int n = 0;
        for (int e = index.first1(did); e >= 0; ) {
            final int next = index.next1(e);
            index.remove(e);
            n++;
            e = next;
        }
        return n;
    }

    int invalidatePasid(final int did, final int pasid) {
        forget();
        epoch.advance();
        int n = 0;
        for (int e = index.first2(Iotlb.tag(did, pasid)); e >= 0; ) {
            final int next = index.next2(e);
            index.remove(e);
            n++;
            e = next;
        }
        return n;
    }

    /** Entries reached through one source's context entry (a context-cache invalidation in scalable mode). */
    int invalidateSource(final java.util.function.IntPredicate sidMatch) {
        forget();
        epoch.advance();
        int n = 0;
        for (int e = index.firstAll(); e >= 0; ) {
            final int next = index.nextAll(e);
            if (sidMatch.test((int) index.keyA(e))) { index.remove(e); n++; }
            e = next;
        }
        return n;
    }
}
