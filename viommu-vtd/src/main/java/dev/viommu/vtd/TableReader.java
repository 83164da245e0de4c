package dev.viommu.vtd;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.core.mem.GuestRegion;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.List;

/**
 * How the page walker reads paging entries: each quadword once, single-copy atomic (an opaque load), so a
 * concurrent guest update is seen whole or not at all. The walker needs no ordering beyond that: the guest makes
 * table updates visible to the unit through the invalidation it must issue, which is ordered by the device's
 * serialised MMIO/queue processing. {@link GuestMemory#load64Acquire} would add an acquire fence per level, which
 * measured about twice the cost of the whole 4-level walk's reads (see docs/spec-coverage.md, figures).
 * <p>
 * Regions are taken from the current {@link GuestMemory} and re-taken when the sidecar hands out a new one
 * (RAM added or removed); an address outside RAM or misaligned goes to {@code load64Acquire}, whose
 * {@link GuestMemoryException} becomes a fetch error the walker turns into the architected fault reason.
 */
final class TableReader {
    private static final VarHandle QW = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    private GuestMemory mem;
    private MemorySegment[] segments = new MemorySegment[0];
    private long[] bases = new long[0], lasts = new long[0];
    /** The first region, tried before the others (guests keep their tables in low RAM). */
    private MemorySegment seg0 = MemorySegment.NULL;
    /** limit0: size - 7 (0 without a region), so an 8-aligned gpa with gpa - base0 < limit0 holds the whole entry. */
    private long base0, limit0;
    /** Set by a {@link #read} that could not read guest memory (it returned 0); cleared by {@link #takeFetchError}. */
    private boolean fetchError;

    /** Binds to {@code m} (cheap when it is the memory already bound); returns it. */
    GuestMemory bind(final GuestMemory m) {
        if (m != mem) rebind(m);
        return m;
    }

    private void rebind(final GuestMemory m) {
        // only regions where an 8-aligned GPA is an 8-aligned host address (all, in practice: page-aligned
        // mappings); others go to load64Acquire, so the aligned VarHandle can never throw
        final List<GuestRegion> rs = m.regions().stream()
                .filter(r -> (r.base() & 7) == 0 && (r.segment().address() & 7) == 0).toList();
        final int n = rs.size();
        segments = new MemorySegment[n];
        bases = new long[n];
        lasts = new long[n];
        for (int i = 0; i < n; i++) {
            segments[i] = rs.get(i).segment();
            bases[i] = rs.get(i).base();
            lasts[i] = rs.get(i).last();
        }
        if (n > 0) {
            seg0 = segments[0];
            base0 = bases[0];
            limit0 = Math.max(0, lasts[0] - bases[0] - 6);
        } else {
            seg0 = MemorySegment.NULL;
            limit0 = 0;
        }
        mem = m;
    }

    /** The memory last bound (for the A/D compare-and-set). */
    GuestMemory memory() { return mem; }

    /**
     * The 8-byte entry at {@code gpa} (the bound memory), or 0 if it cannot be read (outside RAM, misaligned), in
     * which case {@link #takeFetchError} is then true. 0 is a not-present entry in every table format, so a walker
     * takes its not-present path and asks there which of the two it was; the walk loop needs no exception handler
     * (which keeps its compiled code small enough for C2 to inline it). Kept small so C2 inlines it into each
     * level; any address outside the first region goes to {@link #readOther}.
     */
    long read(final long gpa) {
        final long off = gpa - base0;
        if ((gpa & 7) == 0 && Long.compareUnsigned(off, limit0) < 0) return (long) QW.getOpaque(seg0, off);
        return readOther(gpa);
    }

    /**
     * Entry {@code index} (0-511) of the 4 KiB-aligned table at {@code table}: {@link #read} of
     * {@code table + 8 * index}, with the index folded in off the walk's dependent-load chain (one add after the
     * previous entry is known, not three) and no alignment test (an aligned table and an index give an aligned
     * address).
     */
    long readEntry(final long table, final long index) {
        final long off = table + (index * 8 - base0);
        if (Long.compareUnsigned(off, limit0) < 0) return (long) QW.getOpaque(seg0, off);
        return readOther(table + index * 8);
    }

    /** True (once) if the last {@link #read} that returned 0 failed to read guest memory. */
    boolean takeFetchError() {
        final boolean f = fetchError;
        fetchError = false;
        return f;
    }

    /** Other regions, then {@code load64Acquire} (which reports the architected error outside RAM or misaligned). */
    private long readOther(final long gpa) {
        if ((gpa & 7) == 0) {
            final long[] b = bases, l = lasts;
            for (int i = 0; i < b.length; i++) {
                if (Long.compareUnsigned(gpa, b[i]) >= 0 && Long.compareUnsigned(gpa + 7, l[i]) <= 0) {
                    return (long) QW.getOpaque(segments[i], gpa - b[i]);
                }
            }
        }
        try {
            return mem.load64Acquire(gpa);
        } catch (GuestMemoryException e) {
            fetchError = true;
            return 0;
        }
    }
}
