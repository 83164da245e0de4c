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
 * (RAM added or removed); an address outside RAM or misaligned goes to {@code load64Acquire}, which throws the
 * architected {@link GuestMemoryException}.
 */
final class TableReader {
    private static final VarHandle QW = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    private GuestMemory mem;
    private MemorySegment[] segments = new MemorySegment[0];
    private long[] bases = new long[0], lasts = new long[0];
    /** The first region, tried before the others (guests keep their tables in low RAM). */
    private MemorySegment seg0 = MemorySegment.NULL;
    private long base0, span0 = -1;           // span0: size - 8, so gpa - base0 <= span0 holds the whole entry

    /** Binds to {@code m} (cheap when it is the memory already bound); returns it. */
    GuestMemory bind(final GuestMemory m) {
        if (m != mem) {
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
                span0 = lasts[0] - bases[0] - 7;
            } else {
                seg0 = MemorySegment.NULL;
                span0 = -1;
            }
            mem = m;
        }
        return m;
    }

    /** The 8-byte entry at {@code gpa} (the bound memory). */
    long read(final long gpa) throws GuestMemoryException {
        final long off = gpa - base0;
        if ((gpa & 7) == 0 && span0 >= 0 && Long.compareUnsigned(off, span0) <= 0) return (long) QW.getOpaque(seg0, off);
        if ((gpa & 7) == 0) {
            final long[] b = bases, l = lasts;
            for (int i = 0; i < b.length; i++) {
                if (Long.compareUnsigned(gpa, b[i]) >= 0 && Long.compareUnsigned(gpa + 7, l[i]) <= 0) {
                    return (long) QW.getOpaque(segments[i], gpa - b[i]);
                }
            }
        }
        return mem.load64Acquire(gpa);
    }
}
