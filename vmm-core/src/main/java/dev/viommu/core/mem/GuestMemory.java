package dev.viommu.core.mem;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Guest RAM as the device models see it: GPA-addressed, bounds-checked, little-endian.
 * <p>
 * Every access names its exact range and fails with a {@link GuestMemoryException} when any byte lies outside
 * RAM; an access never spans two regions. Atomic 64-bit load and compare-and-set (for the accessed/dirty
 * updates of page walkers) require natural alignment, as the architectures do for table entries.
 * <p>
 * Instances are immutable: adding a region builds a new {@code GuestMemory} (see {@link #withRegion}).
 */
public final class GuestMemory {
    private static final ValueLayout.OfByte U8 = ValueLayout.JAVA_BYTE;
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle ATOMIC64 =
            ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    private static final GuestMemory EMPTY = new GuestMemory(new GuestRegion[0]);

    private final GuestRegion[] regions;   // sorted by base, non-overlapping
    private final long[] bases;
    private final long[] lasts;

    private GuestMemory(final GuestRegion[] sorted) {
        this.regions = sorted;
        this.bases = new long[sorted.length];
        this.lasts = new long[sorted.length];
        for (int i = 0; i < sorted.length; i++) {
            bases[i] = sorted[i].base();
            lasts[i] = sorted[i].last();
        }
    }

    public static GuestMemory empty() { return EMPTY; }

    /** A guest memory of the given regions; they must not overlap. */
    public static GuestMemory of(final List<GuestRegion> regions) {
        final List<GuestRegion> sorted = new ArrayList<>(regions);
        sorted.sort(Comparator.comparingLong(GuestRegion::base));   // bases are < 2^63 in practice; checked below
        for (int i = 1; i < sorted.size(); i++) {
            if (Long.compareUnsigned(sorted.get(i).base(), sorted.get(i - 1).last()) <= 0) {
                throw new IllegalArgumentException("region " + sorted.get(i).name() + " overlaps " + sorted.get(i - 1).name());
            }
        }
        return new GuestMemory(sorted.toArray(new GuestRegion[0]));
    }

    /** A guest memory of one anonymous region in native memory: for tests and benchmarks. */
    public static GuestMemory anonymous(final long base, final long size) {
        final MemorySegment seg = Arena.ofAuto().allocate(size, 4096);
        return of(List.of(new GuestRegion("anon", base, size, seg, false)));
    }

    public GuestMemory withRegion(final GuestRegion region) {
        final List<GuestRegion> all = new ArrayList<>(List.of(regions));
        all.add(region);
        return of(all);
    }

    public GuestMemory withoutRegion(final String name) {
        final List<GuestRegion> all = new ArrayList<>();
        for (GuestRegion r : regions) if (!r.name().equals(name)) all.add(r);
        return of(all);
    }

    public List<GuestRegion> regions() { return List.of(regions); }

    /** Total bytes of RAM. */
    public long size() {
        long s = 0;
        for (GuestRegion r : regions) s += r.size();
        return s;
    }

    /** Whether {@code [gpa, gpa + len)} lies inside one RAM region. */
    public boolean contains(final long gpa, final long len) {
        return find(gpa, len) >= 0;
    }

    private int find(final long gpa, final long len) {
        if (len <= 0) return -1;
        final long end = gpa + len - 1;
        if (Long.compareUnsigned(end, gpa) < 0) return -1;
        // Few regions in practice: a linear scan beats a binary search up to about eight.
        final long[] b = bases, l = lasts;
        for (int i = 0; i < b.length; i++) {
            if (Long.compareUnsigned(gpa, b[i]) >= 0 && Long.compareUnsigned(end, l[i]) <= 0) return i;
        }
        return -1;
    }

    private int regionFor(final long gpa, final long len) throws GuestMemoryException {
        final int i = find(gpa, len);
        if (i < 0) throw new GuestMemoryException(gpa, len, GuestMemoryException.Reason.OUT_OF_RANGE);
        return i;
    }

    private int writableRegionFor(final long gpa, final long len) throws GuestMemoryException {
        final int i = regionFor(gpa, len);
        if (regions[i].readOnly()) throw new GuestMemoryException(gpa, len, GuestMemoryException.Reason.READ_ONLY);
        return i;
    }

    public int read8(final long gpa) throws GuestMemoryException {
        final int i = regionFor(gpa, 1);
        return regions[i].segment().get(U8, gpa - bases[i]) & 0xFF;
    }

    public int read16(final long gpa) throws GuestMemoryException {
        final int i = regionFor(gpa, 2);
        return regions[i].segment().get(U16, gpa - bases[i]) & 0xFFFF;
    }

    /** A 32-bit read; widen with {@link Integer#toUnsignedLong} where the value is unsigned. */
    public int read32(final long gpa) throws GuestMemoryException {
        final int i = regionFor(gpa, 4);
        return regions[i].segment().get(U32, gpa - bases[i]);
    }

    public long read64(final long gpa) throws GuestMemoryException {
        final int i = regionFor(gpa, 8);
        return regions[i].segment().get(U64, gpa - bases[i]);
    }

    /** Reads 1, 2, 4 or 8 bytes, zero-extended. */
    public long read(final long gpa, final int size) throws GuestMemoryException {
        return switch (size) {
            case 1 -> read8(gpa);
            case 2 -> read16(gpa);
            case 4 -> Integer.toUnsignedLong(read32(gpa));
            case 8 -> read64(gpa);
            default -> throw new IllegalArgumentException("access size " + size);
        };
    }

    public void write8(final long gpa, final int v) throws GuestMemoryException {
        final int i = writableRegionFor(gpa, 1);
        regions[i].segment().set(U8, gpa - bases[i], (byte) v);
    }

    public void write16(final long gpa, final int v) throws GuestMemoryException {
        final int i = writableRegionFor(gpa, 2);
        regions[i].segment().set(U16, gpa - bases[i], (short) v);
    }

    public void write32(final long gpa, final int v) throws GuestMemoryException {
        final int i = writableRegionFor(gpa, 4);
        regions[i].segment().set(U32, gpa - bases[i], v);
    }

    public void write64(final long gpa, final long v) throws GuestMemoryException {
        final int i = writableRegionFor(gpa, 8);
        regions[i].segment().set(U64, gpa - bases[i], v);
    }

    /** Writes the low 1, 2, 4 or 8 bytes of {@code v}. */
    public void write(final long gpa, final int size, final long v) throws GuestMemoryException {
        switch (size) {
            case 1 -> write8(gpa, (int) v);
            case 2 -> write16(gpa, (int) v);
            case 4 -> write32(gpa, (int) v);
            case 8 -> write64(gpa, v);
            default -> throw new IllegalArgumentException("access size " + size);
        }
    }

    private int atomicRegionFor(final long gpa, final boolean write) throws GuestMemoryException {
        if ((gpa & 7) != 0) throw new GuestMemoryException(gpa, 8, GuestMemoryException.Reason.MISALIGNED);
        final int i = write ? writableRegionFor(gpa, 8) : regionFor(gpa, 8);
        // The mapping itself is page aligned, so an aligned GPA is an aligned host address.
        return i;
    }

    /** A single-copy-atomic 64-bit load with acquire ordering: read each guest quadword once. */
    public long load64Acquire(final long gpa) throws GuestMemoryException {
        final int i = atomicRegionFor(gpa, false);
        return (long) ATOMIC64.getAcquire(regions[i].segment(), gpa - bases[i]);
    }

    /** Atomic 64-bit compare-and-set, as hardware page walkers set accessed and dirty bits. */
    public boolean compareAndSet64(final long gpa, final long expected, final long value) throws GuestMemoryException {
        final int i = atomicRegionFor(gpa, true);
        return ATOMIC64.compareAndSet(regions[i].segment(), gpa - bases[i], expected, value);
    }

    /** Copies guest memory into {@code dst[off, off+len)}. */
    public void read(final long gpa, final byte[] dst, final int off, final int len) throws GuestMemoryException {
        if (len == 0) return;
        final int i = regionFor(gpa, len);
        MemorySegment.copy(regions[i].segment(), U8, gpa - bases[i], dst, off, len);
    }

    public void write(final long gpa, final byte[] src, final int off, final int len) throws GuestMemoryException {
        if (len == 0) return;
        final int i = writableRegionFor(gpa, len);
        MemorySegment.copy(src, off, regions[i].segment(), U8, gpa - bases[i], len);
    }

    /** Copies {@code len} bytes between guest ranges (either may overlap the other). */
    public void copy(final long srcGpa, final long dstGpa, final long len) throws GuestMemoryException {
        if (len == 0) return;
        final int s = regionFor(srcGpa, len);
        final int d = writableRegionFor(dstGpa, len);
        MemorySegment.copy(regions[s].segment(), srcGpa - bases[s], regions[d].segment(), dstGpa - bases[d], len);
    }

    /** Fills {@code [gpa, gpa+len)} with {@code value}. */
    public void fill(final long gpa, final long len, final byte value) throws GuestMemoryException {
        if (len == 0) return;
        final int i = writableRegionFor(gpa, len);
        regions[i].segment().asSlice(gpa - bases[i], len).fill(value);
    }

    /**
     * The host view of {@code [gpa, gpa+len)}: for zero-copy consumers (a virtqueue buffer, a host-backend map).
     * The slice stays valid while the region is mapped.
     */
    public MemorySegment slice(final long gpa, final long len) throws GuestMemoryException {
        final int i = regionFor(gpa, len);
        return regions[i].segment().asSlice(gpa - bases[i], len);
    }

    /** The region that holds {@code gpa}, or null. */
    public GuestRegion regionAt(final long gpa) {
        final int i = find(gpa, 1);
        return i < 0 ? null : regions[i];
    }
}
