package dev.viommu.vtd;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.vtd.spec.FsPte;
import dev.viommu.vtd.spec.SsPte;

import java.util.function.LongSupplier;

/**
 * Builds VT-d page tables in guest memory the way a guest's IOMMU driver would: second-stage (VT-d 3.7) or
 * first-stage IA-32e (VT-d 3.6) tables of 3, 4 or 5 levels, with 4 KiB, 2 MiB and 1 GiB leaves. For benchmarks,
 * tests and tools that need realistic tables in anonymous guest memory; the device never uses it.
 * <p>
 * Entries: second-stage non-leaf R|W, leaf R (|W) (|PS); first-stage non-leaf P|RW|US|A, leaf P (|RW)|US|A (|D)
 * (|PS), so a walk needs no accessed/dirty update. Table pages come from {@code pages}, which must hand out
 * zeroed, 4 KiB-aligned GPAs ({@link #bumpAllocator}).
 */
public final class PageTableWriter {
    /** Which table format to write. */
    public enum Format { SECOND_STAGE, FIRST_STAGE }

    public static final long SIZE_4K = 1L << 12, SIZE_2M = 1L << 21, SIZE_1G = 1L << 30;
    private static final long ADDR = 0x000F_FFFF_FFFF_F000L;

    private final GuestMemory mem;
    private final LongSupplier pages;
    private final Format format;
    private final int levels;
    private final long root;

    public PageTableWriter(final GuestMemory mem, final LongSupplier pages, final Format format, final int levels) {
        if (levels < 3 || levels > 5) throw new IllegalArgumentException("levels must be 3, 4 or 5: " + levels);
        this.mem = mem;
        this.pages = pages;
        this.format = format;
        this.levels = levels;
        this.root = pages.getAsLong();
    }

    /**
     * A page allocator over {@code [base, limit)} of {@code mem}: each call returns the next 4 KiB page, zeroed.
     * Throws {@link IllegalStateException} when the range is used up or not RAM.
     */
    public static LongSupplier bumpAllocator(final GuestMemory mem, final long base, final long limit) {
        final long[] next = {(base + 0xFFF) & ~0xFFFL};
        return () -> {
            final long p = next[0];
            if (p + SIZE_4K > limit) throw new IllegalStateException("page-table allocator exhausted at 0x" + Long.toHexString(p));
            next[0] = p + SIZE_4K;
            try {
                mem.fill(p, SIZE_4K, (byte) 0);
            } catch (GuestMemoryException e) {
                throw new IllegalStateException("page-table allocator outside RAM at 0x" + Long.toHexString(p), e);
            }
            return p;
        };
    }

    /** The top-level table's GPA (SSPTPTR, SLPTPTR or FSPTPTR). */
    public long root() { return root; }

    public int levels() { return levels; }

    public Format format() { return format; }

    /**
     * Maps {@code [iova, iova + size)} to {@code gpa}; {@code size} is 4 KiB, 2 MiB or 1 GiB and both addresses
     * are aligned to it. Replaces an existing leaf; does not invalidate anything (the caller's job).
     */
    public void map(final long iova, final long gpa, final long size, final boolean write) throws GuestMemoryException {
        final int leafLevel = size == SIZE_4K ? 1 : size == SIZE_2M ? 2 : size == SIZE_1G ? 3 : -1;
        if (leafLevel < 0) throw new IllegalArgumentException("page size must be 4K, 2M or 1G: " + size);
        if (((iova | gpa) & (size - 1)) != 0) throw new IllegalArgumentException("misaligned mapping");
        final boolean large = leafLevel > 1;
        final long leaf = switch (format) {
            case SECOND_STAGE -> gpa | SsPte.R | (write ? SsPte.W : 0) | (large ? SsPte.PS : 0);
            case FIRST_STAGE -> gpa | FsPte.P | FsPte.US | FsPte.A | (write ? FsPte.RW | FsPte.D : 0) | (large ? FsPte.PS : 0);
        };
        mem.write64(entryAddress(iova, leafLevel, true), leaf);
    }

    /** Clears the leaf that maps {@code iova} (at whatever level), if any. */
    public void unmap(final long iova) throws GuestMemoryException {
        final long ea = leafAddress(iova);
        if (ea >= 0) mem.write64(ea, 0);
    }

    /** The GPA of the leaf entry that maps {@code iova}, or -1 if no leaf does. */
    public long leafAddress(final long iova) throws GuestMemoryException {
        long table = root;
        for (int level = levels; level >= 1; level--) {
            final long ea = table + index(iova, level) * 8;
            final long e = mem.read64(ea);
            if (!present(e)) return -1;
            if (level == 1 || (level <= 3 && (e & largeBit()) != 0)) return ea;
            table = e & ADDR;
        }
        return -1;
    }

    /** The GPA of the entry at {@code level} (1 = 4 KiB leaf) on the path of {@code iova}, creating tables if asked. */
    public long entryAddress(final long iova, final int level, final boolean create) throws GuestMemoryException {
        long table = root;
        for (int l = levels; l > level; l--) {
            final long ea = table + index(iova, l) * 8;
            long e = mem.read64(ea);
            if (!present(e) || (l <= 3 && (e & largeBit()) != 0)) {
                if (!create) return -1;
                e = pages.getAsLong() | nonLeafBits();
                mem.write64(ea, e);
            }
            table = e & ADDR;
        }
        return table + index(iova, level) * 8;
    }

    private static long index(final long iova, final int level) { return (iova >>> (12 + 9 * (level - 1))) & 0x1FF; }

    private boolean present(final long e) {
        return format == Format.FIRST_STAGE ? (e & FsPte.P) != 0 : (e & (SsPte.R | SsPte.W)) != 0;
    }

    private long largeBit() { return format == Format.FIRST_STAGE ? FsPte.PS : SsPte.PS; }

    private long nonLeafBits() {
        return format == Format.FIRST_STAGE ? FsPte.P | FsPte.RW | FsPte.US | FsPte.A : SsPte.R | SsPte.W;
    }
}
