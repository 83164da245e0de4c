package dev.viommu.vtd;

import java.util.Arrays;

/**
 * The IOTLB: translations tagged by domain ID and PASID (VT-d 6.5.1). An entry maps one 4 KiB, 2 MiB or 1 GiB
 * page; a lookup probes the 4 KiB key, then the large-page keys only while large entries occupy slots. Requests
 * without PASID in legacy mode are tagged {@link #NO_PASID_TAG}.
 * <p>
 * <b>Layout.</b> One flat {@code long[]}, 4-way set-associative, 4 longs per entry: page key (page number at the
 * entry's level, shifted left 2, | level), tag (DID, PASID), output page | permission bits, and the generation the
 * entry was filled under. The set is chosen by (page key, DID), not by PASID, so a page-selective flush of a
 * domain finds every PASID's entry of a page in one set (many PASIDs of one DID at one IOVA share its 4 ways).
 * A miss fills an empty way, else a way of the same group whose generation is stale, else a pseudo-random way:
 * the top bits of one Weyl sequence shared by all sets (a per-set FIFO pointer measured ~2 ns slower per fill, and
 * a plain shared counter ties each set to one way under sequential IOVAs). No lists, no per-entry objects; lookups
 * and fills are unrolled over the 4 ways (a 4-trip loop measured 3x slower than the compares).
 * <p>
 * <b>Generations.</b> The whole cache, each DID and each (DID, PASID) group carry a counter; an entry stores their
 * sum at fill time and is live only while the sum for its DID and PASID is unchanged. All counters only grow, so
 * a flush that bumps one makes every older entry of its scope stale at once: global, domain-selective and
 * PASID-selective flushes cost O(1), whatever the number of live entries or the ID space. Stale entries are never
 * returned and are overwritten by later fills. Group counters live in a map holding only groups flushed by PASID;
 * when it grows past {@link #compactAt}, one pass over the entries empties the stale ones and forgets the groups
 * left without entries (amortised over at least 1024 PASID flushes). A global flush resets that map, advancing the
 * global counter past every group counter so no sum can repeat.
 * <p>
 * <b>Page-selective flushes</b> empty exactly the entries overlapping the range: they probe the covered page keys
 * of every level that has entries when that is at most {@link #PROBE_LIMIT} probes, or scan all entries when the
 * range covers at least a quarter of the capacity. Between the two (only with more than 4 Ki entries), the flush
 * bumps the generation of the DID or (DID, PASID) group instead: more is invalidated than asked, which VT-d allows
 * (hardware may invalidate at a coarser granularity than requested; register-based flushes report the granularity
 * done in IAIG: Intel Core datasheet vol. 2 IOTLB_REG.IIRG/IAIG, Linux 7.3 iommu.c __iommu_flush_iotlb), and it
 * costs O(1).
 */
final class Iotlb {
    /** The PASID tag of legacy-mode entries (one above the 20-bit PASID space). */
    static final int NO_PASID_TAG = 1 << 20;

    /** Permission bits an entry keeps: read/write for user and for supervisor requests, and dirty already set. */
    static final int UR = 1, UW = 2, SR = 4, SW = 8, DIRTY_DONE = 16;

    static final int WAYS = 4;
    private static final int STRIDE = 4, SET_LONGS = WAYS * STRIDE;
    private static final long EMPTY = -1L;                  // page keys are never negative
    private static final long PERM_MASK = 0xFFF;
    static final int PROBE_LIMIT = 1024;

    private final long[] e;
    private final int setMask;
    private long clock;                                     // picks the victim way (top 2 bits of a Weyl sequence)
    private final int[] slotsByLevel = new int[3];          // occupied ways per level, stale included (a probe hint)

    private long global;
    private final long[] domainGen = new long[1 << 16];
    private final GroupGenerations groupGen = new GroupGenerations();
    private long maxGroupGen;
    private int compactAt = 1024;
    private long memoTag = -1, memoGen;
    /**
     * The tag, generation, 4 KiB page key and that key's set of the last lookup, reused by the fill that follows a
     * miss (nothing flushes between; a flush resets the tag), so a miss hashes and sums the generations once.
     */
    private long lookedUpTag = -1, lookedUpGen, lookedUpKey = EMPTY;
    private int lookedUpSet;

    /** Advanced by every invalidation (even one that removes nothing: a {@link MicroTlb} entry may outlive its entry here). */
    private final CacheEpoch epoch;

    Iotlb(final int capacity, final CacheEpoch epoch) {
        this.epoch = epoch;
        final int sets = Integer.highestOneBit(Math.max(1, (capacity + WAYS - 1) / WAYS) * 2 - 1);
        e = new long[sets * SET_LONGS];
        Arrays.fill(e, EMPTY);
        setMask = sets - 1;
    }

    static long tag(final int did, final int pasidTag) { return (long) did << 21 | pasidTag; }

    static long pageKey(final long iova, final int level) { return (iova >>> (12 + 9 * level)) << 2 | level; }

    private int setBase(final long key, final int did) {
        final int h = (int) (key >>> 2) ^ (int) (key >>> 20) ^ did * 0x9E3779B1;
        return (h & setMask) * SET_LONGS;
    }

    /** The generation sum an entry of (did, pasidTag) must carry to be live. */
    private long current(final int did, final int pasidTag) {
        final long g = global + domainGen[did];
        if (pasidTag == NO_PASID_TAG) return g;
        final long t = tag(did, pasidTag);
        if (t != memoTag) {
            memoGen = groupGen.get(t);
            memoTag = t;
        }
        return g + memoGen;
    }

    /** As {@link #current} without the memo (safe from another thread, for the occupancy figures). */
    private long currentNoMemo(final long t) {
        final int did = (int) (t >>> 21) & 0xFFFF, pasidTag = (int) t & 0x1F_FFFF;   // masked: racy reads from the gauge
        final long g = global + domainGen[did];
        return pasidTag == NO_PASID_TAG ? g : g + groupGen.get(t);
    }

    int capacity() { return e.length / STRIDE; }

    /** Live entries (generation current): a pass over all entries, for describe() and the gauge only. */
    int size() {
        final long[] a = e;
        int n = 0;
        for (int i = 0; i < a.length; i += STRIDE) {
            if (a[i] != EMPTY && a[i + 3] == currentNoMemo(a[i + 1])) n++;
        }
        return n;
    }

    int liveLargePages() { return slotsByLevel[1] + slotsByLevel[2]; }

    /** The entry covering {@code iova}, or -1. */
    int lookup(final int did, final int pasidTag, final long iova) {
        final long t = tag(did, pasidTag), gen = current(did, pasidTag), key = pageKey(iova, 0);
        final int b = setBase(key, did);
        lookedUpTag = t;
        lookedUpGen = gen;
        lookedUpKey = key;
        lookedUpSet = b;
        final int i = probe(b, key, t, gen);
        if (i >= 0 || (slotsByLevel[1] | slotsByLevel[2]) == 0) return i;
        return lookupLarge(did, iova, t, gen);
    }

    /** The 2 MiB, then the 1 GiB entry covering {@code iova}, or -1 (only while large entries occupy slots). */
    private int lookupLarge(final int did, final long iova, final long t, final long gen) {
        int i = -1;
        if (slotsByLevel[1] != 0) {
            final long key = pageKey(iova, 1);
            if ((i = probe(setBase(key, did), key, t, gen)) >= 0) return i;
        }
        if (slotsByLevel[2] != 0) {
            final long key = pageKey(iova, 2);
            i = probe(setBase(key, did), key, t, gen);
        }
        return i;
    }

    private int probe(final int b, final long key, final long t, final long gen) {
        final long[] a = e;
        // unrolled: a 4-iteration loop costs more in loop set-up than in compares
        if (a[b] == key && a[b + 1] == t && a[b + 3] == gen) return b;
        if (a[b + 4] == key && a[b + 5] == t && a[b + 7] == gen) return b + 4;
        if (a[b + 8] == key && a[b + 9] == t && a[b + 11] == gen) return b + 8;
        if (a[b + 12] == key && a[b + 13] == t && a[b + 15] == gen) return b + 12;
        return -1;
    }

    /** The output address of {@code iova} through entry {@code i}. */
    long output(final int i, final long iova) {
        final int level = (int) (e[i] & 3);
        final long mask = (1L << (12 + 9 * level)) - 1;
        return (e[i + 2] & ~PERM_MASK) | (iova & mask);
    }

    int level(final int i) { return (int) (e[i] & 3); }

    int perms(final int i) { return (int) (e[i + 2] & PERM_MASK); }

    /** Fills the entry of {@code iova}'s page at {@code level} without a prior lookup (refreshing any copy of it). */
    void insert(final int did, final int pasidTag, final long iova, final int level, final long outPage, final int p) {
        insert(did, pasidTag, iova, level, outPage, p, probeAny(pageKey(iova, level), did, tag(did, pasidTag)));
    }

    /** The way holding this page key and tag, live or stale, or -1. */
    private int probeAny(final long key, final int did, final long t) {
        final long[] a = e;
        final int b = setBase(key, did);
        for (int i = b; i < b + SET_LONGS; i += STRIDE) if (a[i] == key && a[i + 1] == t) return i;
        return -1;
    }

    /**
     * Fills the entry of {@code iova}'s page at {@code level}; {@code outPage} is page aligned. {@code found} is
     * what {@link #lookup} returned for this request: when it is the same page and level (a cached entry that did
     * not grant the access), it is refreshed in place. Otherwise no live entry of this page and level exists (the
     * lookup probed that level, or no entry of that level exists), so a way is chosen without an identity search:
     * an empty way, else one of this group whose generation is stale, else a pseudo-random way. A 4 KiB fill
     * after its lookup reuses the lookup's set and generation.
     */
    void insert(final int did, final int pasidTag, final long iova, final int level, final long outPage, final int p,
                final int found) {
        final long key = pageKey(iova, level), t = tag(did, pasidTag);
        final long[] a = e;
        final boolean same = t == lookedUpTag;
        final long gen = same ? lookedUpGen : current(did, pasidTag);
        final int v = found >= 0 && a[found] == key && a[found + 1] == t ? found
                : victim(same && key == lookedUpKey ? lookedUpSet : setBase(key, did), t, gen);
        final long was = a[v];
        if (was == EMPTY || (int) (was & 3) != level) countLevel(was, level);
        a[v] = key;
        a[v + 1] = t;
        a[v + 2] = outPage | p;
        a[v + 3] = gen;
    }

    /** The way of set {@code b} to fill: an empty one, else a stale one of group {@code t}, else a pseudo-random one. */
    private int victim(final int b, final long t, final long gen) {
        final long[] a = e;
        // generation first: a live entry of this group (the common full-set case) fails on one compare
        if (a[b] == EMPTY || (a[b + 3] != gen && a[b + 1] == t)) return b;
        if (a[b + 4] == EMPTY || (a[b + 7] != gen && a[b + 5] == t)) return b + 4;
        if (a[b + 8] == EMPTY || (a[b + 11] != gen && a[b + 9] == t)) return b + 8;
        if (a[b + 12] == EMPTY || (a[b + 15] != gen && a[b + 13] == t)) return b + 12;
        return b + (int) ((clock += 0x9E37_79B9_7F4A_7C15L) >>> 62) * STRIDE;   // a Weyl sequence: no set sees a fixed way
    }

    /** Moves one occupied way from the level of page key {@code was} (none if empty) to {@code level}. */
    private void countLevel(final long was, final int level) {
        if (was != EMPTY) slotsByLevel[(int) (was & 3)]--;
        slotsByLevel[level]++;
    }

    private void kill(final int i) {
        slotsByLevel[(int) (e[i] & 3)]--;
        e[i] = EMPTY;
    }

    /** Global invalidation: O(1). The group counters restart at 0, so the global one jumps past all of them. */
    void invalidateAll() {
        epoch.advance();
        lookedUpTag = -1;
        global += 1 + maxGroupGen;
        maxGroupGen = 0;
        groupGen.clear();
        memoTag = -1;
    }

    /** Domain-selective: every entry of {@code did}, whatever its PASID. O(1). */
    void invalidateDomain(final int did) {
        epoch.advance();
        lookedUpTag = -1;
        domainGen[did]++;
    }

    /** Every entry of (DID, PASID). O(1), plus an amortised compaction of the group counters. */
    void invalidatePasid(final int did, final int pasidTag) {
        epoch.advance();
        bumpGroup(tag(did, pasidTag));
    }

    private void bumpGroup(final long t) {
        lookedUpTag = -1;
        maxGroupGen = Math.max(maxGroupGen, groupGen.bump(t));
        memoTag = -1;
        if (groupGen.size() > compactAt) compact();
    }

    /** Empties stale entries, then forgets the group counters no live entry depends on. O(capacity), rare. */
    private void compact() {
        final long[] a = e;
        for (int i = 0; i < a.length; i += STRIDE) {
            if (a[i] == EMPTY) continue;
            final long t = a[i + 1];
            if (a[i + 3] != currentNoMemo(t)) kill(i);
            else if (((int) t & 0x1F_FFFF) != NO_PASID_TAG) groupGen.mark(t);
        }
        compactAt = Math.max(1024, 2 * groupGen.retainMarked());
        memoTag = -1;
    }

    /**
     * Page-selective: entries of {@code did} (and of {@code pasidTag}, or any PASID when it is -1) that overlap
     * {@code [addr, addr + 2^(am+12))}. Exact, except a mid-sized range on a large cache (see the class comment).
     * Returns false when it was done at the coarser (DID or DID+PASID) granularity.
     */
    boolean invalidateRange(final int did, final int pasidTag, final long addr, final int am) {
        epoch.advance();
        final long last = addr + (1L << (12 + am)) - 1;
        long probes = 0;
        for (int level = 0; level < 3; level++) {
            if (slotsByLevel[level] == 0) continue;
            final int shift = 12 + 9 * level;
            probes += (last >>> shift) - (addr >>> shift) + 1;
        }
        if (probes <= PROBE_LIMIT) {
            final long t = pasidTag >= 0 ? tag(did, pasidTag) : -1;
            for (int level = 0; level < 3; level++) {
                if (slotsByLevel[level] == 0) continue;
                final int shift = 12 + 9 * level;
                for (long p = addr >>> shift; p <= last >>> shift; p++) killKey(p << 2 | level, did, t);
            }
            return true;
        }
        if (probes * WAYS >= capacity()) {
            scan(did, pasidTag >= 0 ? tag(did, pasidTag) : -1, addr, last);
            return true;
        }
        if (pasidTag >= 0) {
            bumpGroup(tag(did, pasidTag));
        } else {
            domainGen[did]++;
            lookedUpTag = -1;
        }
        return false;
    }

    /** Empties the entries of {@code key} in {@code did} with tag {@code t}, or with any PASID when {@code t} is -1. */
    private void killKey(final long key, final int did, final long t) {
        final long[] a = e;
        final int b = setBase(key, did);
        for (int i = b; i < b + SET_LONGS; i += STRIDE) {
            if (a[i] == key && (t >= 0 ? a[i + 1] == t : (int) (a[i + 1] >>> 21) == did)) kill(i);
        }
    }

    private void scan(final int did, final long t, final long first, final long last) {
        final long[] a = e;
        for (int i = 0; i < a.length; i += STRIDE) {
            final long k = a[i];
            if (k == EMPTY || (t >= 0 ? a[i + 1] != t : (int) (a[i + 1] >>> 21) != did)) continue;
            final int shift = 12 + 9 * (int) (k & 3);
            final long base = (k >>> 2) << shift, end = base + (1L << shift) - 1;
            if (Long.compareUnsigned(base, last) <= 0 && Long.compareUnsigned(first, end) <= 0) kill(i);
        }
    }
}
