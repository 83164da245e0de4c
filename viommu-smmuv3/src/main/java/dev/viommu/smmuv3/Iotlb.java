package dev.viommu.smmuv3;

/**
 * The IOTLB: combined translations keyed by (StreamID, SubstreamID, 4 KiB input page) and tagged with the
 * VMID, ASID and translation regime they were walked under, so every TLBI command removes exactly the entries
 * the architecture says it covers (plus, for block mappings, the other 4 KiB keys of the same block).
 * <p>
 * Entries are pooled and the map is dense, so a hit allocates nothing and an invalidation scans only the live
 * entries. Keying by stream means the hot path needs no configuration lookup; because of that, changing a
 * stream's or substream's configuration (CFGI_*) also drops that stream's entries, a permitted
 * over-invalidation.
 */
final class Iotlb {
    /** ASID value of entries with no stage 1 (stage-2-only and bypassed stage 1). */
    static final int NO_ASID = -1;
    /** Regimes: translations are invalidated by the TLBI family of their regime. */
    static final int REGIME_NH = 0, REGIME_EL2 = 1;

    /** One cached translation of one 4 KiB input page. */
    static final class Entry {
        int sid, ssidTag;
        long page;            // input address >>> 12
        int vmid, asid;       // asid == NO_ASID without stage 1
        boolean global;       // stage-1 nG == 0
        boolean stage1, stage2;
        int regime;
        long s1Base, s1Size;  // stage-1 leaf in VA space (TLBI by VA)
        long s2Base, s2Size;  // stage-2 leaf in IPA space (TLBI_S2_IPA)
        long reportSize;      // the combined mapping size reported to consumers
        long out;             // output address of this 4 KiB page
        int permsUnpriv, permsPriv;
    }

    /**
     * A direct-mapped front of {@link #FRONT_SLOTS} slots over the map, four longs per slot in one cache line:
     * key1, page, output page address, and meta (unprivileged permissions [7:0], privileged [15:8], log2 of the
     * reported size [23:16]). A hit costs one hash and one line instead of a probe through three arrays. Every
     * entry that leaves the map leaves the front too (precisely: its own slot), so the front never holds more
     * than the map.
     */
    static final int FRONT_SLOTS = 256;
    private static final long NO_KEY = -1;
    final long[] front = new long[FRONT_SLOTS * 4];

    private final DenseMap<Entry> map;
    private final Entry[] free;
    private int freeCount;
    private int rng = 0x2545F491;
    private long hits, misses, evictions;

    Iotlb(final int capacity) {
        map = new DenseMap<>(capacity);
        free = new Entry[capacity];
        for (int i = 0; i < capacity; i++) free[i] = new Entry();
        freeCount = capacity;
        for (int i = 0; i < FRONT_SLOTS; i++) front[i * 4] = NO_KEY;
    }

    /** The front slot's first index for a key. */
    static int frontBase(final long key1, final long page) {
        return (int) (((page * 0x9E3779B97F4A7C15L) ^ (key1 * 0xC2B2AE3D27D4EB4FL)) >>> 56) << 2;
    }

    static long meta(final int permsUnpriv, final int permsPriv, final long reportSize) {
        return (permsUnpriv & 0xFF) | (permsPriv & 0xFF) << 8 | (long) Long.numberOfTrailingZeros(reportSize) << 16;
    }

    /** Publishes a filled entry to the front (after a walk, or a map hit). */
    void publish(final Entry e) {
        final long k1 = key1(e.sid, e.ssidTag);
        final int b = frontBase(k1, e.page);
        front[b] = k1;
        front[b + 1] = e.page;
        front[b + 2] = e.out;
        front[b + 3] = meta(e.permsUnpriv, e.permsPriv, e.reportSize);
    }

    /** Counts a front hit (the translator looked the front up itself). */
    void frontHit() { hits++; }

    private void unpublish(final Entry e) {
        final long k1 = key1(e.sid, e.ssidTag);
        final int b = frontBase(k1, e.page);
        if (front[b] == k1 && front[b + 1] == e.page) front[b] = NO_KEY;
    }

    static long key1(final int sid, final int ssidTag) { return (Integer.toUnsignedLong(sid) << 21) | ssidTag; }

    /** SubstreamID tag: 0 for no SSID, SSID + 1 otherwise (SSIDs have at most 20 bits). */
    static int ssidTag(final int pasid) { return pasid < 0 ? 0 : pasid + 1; }

    Entry lookup(final int sid, final int ssidTag, final long iova) {
        final Entry e = map.get(key1(sid, ssidTag), iova >>> 12);
        if (e == null) misses++;
        else { hits++; publish(e); }
        return e;
    }

    /** A pooled entry to fill, keyed and inserted; evicts a pseudo-random victim when full. */
    Entry insert(final int sid, final int ssidTag, final long iova) {
        final long a = key1(sid, ssidTag), b = iova >>> 12;
        final int p = map.find(a, b);
        if (p >= 0) {
            unpublish(map.valueAt(p));   // about to be refilled; published again by the caller
            return map.valueAt(p);
        }
        if (freeCount == 0) {
            rng ^= rng << 13;
            rng ^= rng >>> 17;
            rng ^= rng << 5;
            final int victim = Math.floorMod(rng, map.size());
            unpublish(map.valueAt(victim));
            free[freeCount++] = map.valueAt(victim);
            map.removeAt(victim);
            evictions++;
        }
        final Entry e = free[--freeCount];
        e.sid = sid;
        e.ssidTag = ssidTag;
        e.page = b;
        map.put(a, b, e, 0);
        return e;
    }

    int size() { return map.size(); }

    int capacity() { return map.capacity(); }

    long hits() { return hits; }

    long misses() { return misses; }

    long evictions() { return evictions; }

    /** What an invalidation matches; one implementation per command family, allocated once. */
    interface Matcher {
        boolean matches(Entry e);
    }

    /** Removes every entry {@code m} matches; returns how many. Cost: the number of live entries. */
    int removeIf(final Matcher m) {
        int n = 0;
        for (int i = map.size() - 1; i >= 0; i--) {
            final Entry e = map.valueAt(i);
            if (m.matches(e)) {
                unpublish(e);
                map.removeAt(i);
                free[freeCount++] = e;
                n++;
            }
        }
        return n;
    }

    int clear() {
        final int n = map.size();
        for (int i = 0; i < n; i++) {
            unpublish(map.valueAt(i));
            free[freeCount++] = map.valueAt(i);
        }
        map.clear();
        return n;
    }

    static boolean overlaps(final long base, final long size, final long start, final long len) {
        // [base, base+size) ∩ [start, start+len) ≠ ∅, with len == 0 meaning "everything".
        if (len == 0) return true;
        final long end1 = base + size - 1, end2 = start + len - 1;
        return Long.compareUnsigned(base, end2) <= 0 && Long.compareUnsigned(start, end1) <= 0;
    }
}
