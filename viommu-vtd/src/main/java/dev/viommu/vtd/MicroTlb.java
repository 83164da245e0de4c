package dev.viommu.vtd;

/**
 * A small direct-mapped cache in front of the IOTLB, keyed by (source ID, PASID, 4 KiB page), so that the common
 * hit skips the context-cache, PASID-cache and IOTLB hash lookups. Entries are 4 longs in one array (page,
 * source, output page, perms | level | epoch), so a lookup touches one cache line.
 * <p>
 * It never needs flushing: every entry carries the {@link CacheEpoch} value it was filled under, and any
 * invalidation of the context cache, PASID cache or IOTLB advances the epoch, so older entries no longer match.
 * An invalidation therefore costs O(1) here, whatever the entry count.
 */
final class MicroTlb {
    static final int SIZE = 256;
    private static final int MASK = SIZE - 1;
    private final long[] e = new long[4 * SIZE];
    private final CacheEpoch epoch;

    MicroTlb(final CacheEpoch epoch) {
        this.epoch = epoch;
        java.util.Arrays.fill(e, -1L);
    }

    static long source(final int sid, final int pasid) { return (long) (pasid & 0x1F_FFFF) << 16 | sid; }

    /** The slot of {@code iova}'s 4 KiB page for (sid, pasid): where {@link #holds} looks and {@link #put} writes. */
    static int slot(final int sid, final int pasid, final long iova) {
        final long page = iova >>> 12;
        return (((int) page ^ (int) (page >>> 16) ^ sid * 0x2F ^ pasid * 0x61) & MASK) << 2;
    }

    /** True if slot {@code s} (see {@link #slot}) holds a live entry for this request. */
    boolean holds(final int s, final int sid, final int pasid, final long iova) {
        final long[] t = e;
        return t[s] == iova >>> 12 && t[s + 1] == source(sid, pasid) && (int) (t[s + 3] >>> 32) == epoch.value;
    }

    long output(final int s, final long iova) { return e[s + 2] | (iova & 0xFFF); }

    /** {@link Iotlb} permission bits. */
    int perms(final int s) { return (int) e[s + 3] & 0xFF; }

    int level(final int s) { return (int) (e[s + 3] >>> 8) & 3; }

    /**
     * Remembers in slot {@code s} (the request's {@link #slot}) that {@code iova}'s 4 KiB page maps to
     * {@code outPage} (4 KiB aligned) with {@code perms}.
     */
    void put(final int s, final int sid, final int pasid, final long iova, final long outPage, final int perms,
             final int level) {
        final long[] t = e;
        t[s] = iova >>> 12;
        t[s + 1] = source(sid, pasid);
        t[s + 2] = outPage;
        t[s + 3] = (long) epoch.value << 32 | (long) level << 8 | (perms & 0xFF);
    }
}
