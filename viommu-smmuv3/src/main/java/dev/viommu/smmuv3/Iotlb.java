package dev.viommu.smmuv3;

/**
 * The IOTLB: combined translations keyed by (StreamID, SubstreamID, 4 KiB input page) and tagged with the
 * VMID, ASID and translation regime they were walked under, so every TLBI command removes exactly the entries
 * the architecture says it covers (plus, for block mappings, the other 4 KiB keys of the same block).
 * <p>
 * Layout: {@link #WAYS}-way set-associative over flat primitive arrays, nothing per entry on the heap. The set of a
 * key is its page number XOR a hash of (StreamID, SSID), so consecutive pages of one stream land in consecutive
 * sets and never evict each other. Per entry, {@link #STRIDE} longs in {@link #hot}: key1, page, out|meta, tag
 * (one cache line holds two entries; a hit reads the first three); the stage-2 leaf base (IPA) is in
 * {@link #ipaBase}, read only by TLBI_S2_IPA. Replacement is round-robin per set (a cheap FIFO).
 * <p>
 * A dense list of the occupied slots ({@link #live}, with the back-pointer {@link #livePos}) makes every
 * scanning invalidation cost the number of live entries, never the capacity or the ID space; insert and remove
 * keep it up to date in O(1). TLBIs by VA/range probe the exact keys instead when that is cheaper (see
 * {@link #removeVa}). Nothing here allocates after construction.
 * <p>
 * Keying by stream means the hot path needs no configuration lookup; because of that, changing a stream's or
 * substream's configuration (CFGI_*) also drops that stream's entries, a permitted over-invalidation.
 */
final class Iotlb {
    /** ASID value of entries with no stage 1 (stage-2-only and bypassed stage 1). */
    static final int NO_ASID = -1;
    /** Regimes: translations are invalidated by the TLBI family of their regime. */
    static final int REGIME_NH = 0, REGIME_EL2 = 1;

    static final int WAYS = 4;
    /** Longs per entry in {@link #hot}: [0] key1, [1] page, [2] out | meta, [3] tag. */
    static final int STRIDE = 4;
    static final long NO_KEY = -1;
    /** log2(WAYS * STRIDE): a set's first index in {@link #hot} is set << SET_SHIFT. */
    private static final int SET_SHIFT = 4, SLOT_SHIFT = 2;

    // out|meta (word 2): output page address [63:12]; [2:0] unprivileged RWX, [5:3] privileged RWX, [11:6] log2 of
    // the reported (combined) size.
    static final long META_PERMS_MASK = 7;
    static final int META_PRIV_SHIFT = 3, META_SIZE_SHIFT = 6;

    // tag (word 3): what invalidations match on.
    static final int TAG_ASID_SHIFT = 16, TAG_S1SIZE_SHIFT = 40, TAG_S2SIZE_SHIFT = 48;
    static final long TAG_VMID = 0xFFFF, TAG_ASID = 0xFFFFL << TAG_ASID_SHIFT;
    static final long TAG_HAS_ASID = 1L << 32, TAG_GLOBAL = 1L << 33, TAG_STAGE1 = 1L << 34, TAG_STAGE2 = 1L << 35,
            TAG_EL2 = 1L << 36;

    /** Entry data, {@link #STRIDE} longs per slot; slot = set * WAYS + way. */
    final long[] hot;
    /** Stage-2 leaf base (IPA) per slot; 0 without stage 2. */
    private final long[] ipaBase;
    private final int[] live, livePos;
    private final byte[] nextWay;
    private final int setMask, slots;
    private int size;
    private long evictions;
    /**
     * The distinct streams (key1) filled since the IOTLB was last empty, for {@link #removeVa}'s probes: at most
     * {@link #MAX_STREAMS}, then "too many" (scan instead). May name streams whose entries are gone (harmless).
     */
    static final int MAX_STREAMS = 16;
    private final long[] streams = new long[MAX_STREAMS];
    private int nStreams;
    private long lastStream = NO_KEY;
    /** log2 of the largest stage-1 leaf cached since the IOTLB was last empty. */
    private int maxS1LeafLog2 = 12;

    /** {@code capacity} is rounded up to a power of two of at least {@link #WAYS} entries. */
    Iotlb(final int capacity) {
        final int wanted = Math.max(1, (capacity + WAYS - 1) / WAYS);
        final int sets = wanted == 1 ? 1 : Integer.highestOneBit(wanted - 1) << 1;
        slots = sets * WAYS;
        setMask = sets - 1;
        hot = new long[slots * STRIDE];
        ipaBase = new long[slots];
        live = new int[slots];
        livePos = new int[slots];
        nextWay = new byte[sets];
        for (int s = 0; s < slots; s++) {
            hot[s * STRIDE] = NO_KEY;
            livePos[s] = -1;
        }
    }

    static long key1(final int sid, final int ssidTag) { return (Integer.toUnsignedLong(sid) << 21) | ssidTag; }

    /** SubstreamID tag: 0 for no SSID, SSID + 1 otherwise (SSIDs have at most 20 bits). */
    static int ssidTag(final int pasid) { return pasid < 0 ? 0 : pasid + 1; }

    /**
     * The index in {@link #hot} of way 0 of the key's set: the page number XOR the StreamID (shifted by 4) and
     * the SSID tag (by 8), no multiply, so consecutive pages of one stream use consecutive sets.
     */
    int setBase(final long key1, final long page) { return setBase(key1, page, setMask); }

    /** {@link #setBase} for a caller that keeps {@link #setMask()} (the hot path saves a dependent load). */
    static int setBase(final long key1, final long page, final int setMask) {
        return ((int) (page ^ (key1 >>> 17) ^ (key1 << 8)) & setMask) << SET_SHIFT;
    }

    int setMask() { return setMask; }

    /** The index in {@link #hot} of the entry for the key, or -1. */
    int find(final long key1, final long page) {
        final long[] h = hot;
        int b = setBase(key1, page);
        for (int w = 0; w < WAYS; w++, b += STRIDE) {
            if (h[b + 1] == page && h[b] == key1) return b;
        }
        return -1;
    }

    static long meta(final long outPage, final int permsUnpriv, final int permsPriv, final long reportSize) {
        return outPage | (permsUnpriv & META_PERMS_MASK) | (permsPriv & META_PERMS_MASK) << META_PRIV_SHIFT
                | (long) Long.numberOfTrailingZeros(reportSize) << META_SIZE_SHIFT;
    }

    static long tag(final int vmid, final int asid, final boolean global, final boolean stage1, final boolean stage2,
                    final int regime, final long s1Size, final long s2Size) {
        return leafTag(contextTag(vmid, asid, stage1, stage2, regime), global, s1Size, s2Size);
    }

    /** The part of a tag fixed by the stream context (VMID, ASID, stages, regime): computed once per context. */
    static long contextTag(final int vmid, final int asid, final boolean stage1, final boolean stage2,
                           final int regime) {
        long t = vmid & TAG_VMID;
        if (asid != NO_ASID) t |= (long) (asid & 0xFFFF) << TAG_ASID_SHIFT | TAG_HAS_ASID;
        if (stage1) t |= TAG_STAGE1;
        if (stage2) t |= TAG_STAGE2;
        if (regime == REGIME_EL2) t |= TAG_EL2;
        return t;
    }

    /** A context tag completed with what the walk found: nG and the leaf sizes of the stages present. */
    static long leafTag(final long contextTag, final boolean global, final long s1Size, final long s2Size) {
        long t = contextTag;
        if (global) t |= TAG_GLOBAL;
        if ((t & TAG_STAGE1) != 0) t |= (long) Long.numberOfTrailingZeros(s1Size) << TAG_S1SIZE_SHIFT;
        if ((t & TAG_STAGE2) != 0) t |= (long) Long.numberOfTrailingZeros(s2Size) << TAG_S2SIZE_SHIFT;
        return t;
    }

    /**
     * Fills (or refills) the entry for the key: the existing slot if the key is cached, else a free way of its
     * set, else the set's round-robin victim. Allocation-free.
     */
    void fill(final long key1, final long page, final long outMeta, final long tag, final long s2Base) {
        fillAt(setBase(key1, page), find(key1, page), key1, page, outMeta, tag, s2Base);
    }

    /**
     * {@link #fill} when the caller has just probed the set: {@code base} is {@link #setBase} of the key and
     * {@code at} the key's index in {@link #hot} if it is cached, else -1 (nothing may have changed the set since).
     */
    void fillAt(final int base, final int at, final long key1, final long page, final long outMeta, final long tag,
                final long s2Base) {
        final long[] h = hot;
        int slot = at;
        if (slot < 0) {
            // A full IOTLB (the steady state) has no free way in any set: go straight to the victim.
            if (size < slots) {
                for (int w = 0, b = base; w < WAYS; w++, b += STRIDE) {
                    if (h[b] == NO_KEY) { slot = b; break; }
                }
            }
            if (slot < 0) {
                final int set = base >>> SET_SHIFT;
                final int w = nextWay[set];
                nextWay[set] = (byte) ((w + 1) & (WAYS - 1));
                slot = base + w * STRIDE;
                evictions++;
            } else {
                final int s = slot >>> SLOT_SHIFT;
                livePos[s] = size;
                live[size++] = s;
            }
        }
        if (key1 != lastStream) noteStream(key1);
        final int s1Log2 = (int) (tag >>> TAG_S1SIZE_SHIFT) & 63;
        if (s1Log2 > maxS1LeafLog2) maxS1LeafLog2 = s1Log2;
        h[slot] = key1;
        h[slot + 1] = page;
        h[slot + 2] = outMeta;
        h[slot + 3] = tag;
        ipaBase[slot >>> SLOT_SHIFT] = s2Base;
    }

    private void noteStream(final long key1) {
        lastStream = key1;
        for (int i = 0; i < Math.min(nStreams, MAX_STREAMS); i++) if (streams[i] == key1) return;
        if (nStreams < MAX_STREAMS) streams[nStreams] = key1;
        if (nStreams <= MAX_STREAMS) nStreams++;
    }

    private void emptied() {
        nStreams = 0;
        lastStream = NO_KEY;
        maxS1LeafLog2 = 12;
    }

    /** Removes the entry at slot {@code slot} (occupied). */
    private void removeSlot(final int slot) {
        hot[slot * STRIDE] = NO_KEY;
        final int p = livePos[slot];
        final int last = live[--size];
        live[p] = last;
        livePos[last] = p;
        livePos[slot] = -1;
        if (size == 0) emptied();
    }

    int size() { return size; }

    int capacity() { return slots; }

    long evictions() { return evictions; }

    long key1At(final int slot) { return hot[slot * STRIDE]; }

    long pageAt(final int slot) { return hot[slot * STRIDE + 1]; }

    long tagAt(final int slot) { return hot[slot * STRIDE + 3]; }

    long ipaBaseAt(final int slot) { return ipaBase[slot]; }

    /** What a scanning invalidation matches; one implementation per command family, allocated once. */
    interface Matcher {
        /** {@code key1}, {@code page} and {@code tag} of one live entry; {@code s2Base} its stage-2 leaf IPA. */
        boolean matches(long key1, long page, long tag, long s2Base);
    }

    /** Removes every entry {@code m} matches; returns how many. Cost: the number of live entries. */
    int removeIf(final Matcher m) {
        int n = 0;
        final long[] h = hot;
        for (int i = size - 1; i >= 0; i--) {
            final int s = live[i];
            final int b = s * STRIDE;
            if (m.matches(h[b], h[b + 1], h[b + 3], ipaBase[s])) {
                removeSlot(s);
                n++;
            }
        }
        return n;
    }

    /**
     * TLBI by VA (NH_VA, NH_VAA, EL2_VA, EL2_VAA) over {@code [start, start + length)} ({@code length} 0: every
     * address): removes the entries {@code m} matches. When the range spans few pages it probes those pages'
     * keys for every stream filled since the IOTLB was last empty instead of scanning. Block mappings are cached
     * per 4 KiB page and a TLBI anywhere in a block must drop every piece, so probing is used only while no
     * stage-1 leaf larger than 4 KiB is cached. Cost: min(live entries, pages × streams × ways).
     */
    int removeVa(final Matcher m, final long start, final long length) {
        final long pages = length == 0 ? Long.MAX_VALUE : ((start + length - 1) >>> 12) - (start >>> 12) + 1;
        if (maxS1LeafLog2 > 12 || nStreams > MAX_STREAMS || pages <= 0 || pages > size
                || pages * nStreams * WAYS >= size) {
            return removeIf(m);
        }
        int n = 0;
        final long[] h = hot;
        final long first = start >>> 12;
        for (int k = 0; k < nStreams; k++) {
            final long k1 = streams[k];
            for (long p = first; p < first + pages; p++) {
                final int b = find(k1, p);
                if (b >= 0 && m.matches(k1, p, h[b + 3], ipaBase[b >>> SLOT_SHIFT])) {
                    removeSlot(b >>> SLOT_SHIFT);
                    n++;
                }
            }
        }
        return n;
    }

    int clear() {
        final int n = size;
        for (int i = 0; i < n; i++) {
            final int s = live[i];
            hot[s * STRIDE] = NO_KEY;
            livePos[s] = -1;
        }
        size = 0;
        emptied();
        return n;
    }

    static boolean overlaps(final long base, final long size, final long start, final long len) {
        // [base, base+size) ∩ [start, start+len) ≠ ∅, with len == 0 meaning "everything".
        if (len == 0) return true;
        final long end1 = base + size - 1, end2 = start + len - 1;
        return Long.compareUnsigned(base, end2) <= 0 && Long.compareUnsigned(start, end1) <= 0;
    }
}
