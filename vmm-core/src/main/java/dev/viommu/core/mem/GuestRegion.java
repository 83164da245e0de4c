package dev.viommu.core.mem;

import java.lang.foreign.MemorySegment;

/**
 * One RAM region: guest-physical {@code [base, base + size)} backed by {@code segment}, a shared mapping of a
 * file the hypervisor also maps (a memfd, a /dev/shm file or a hugetlbfs file).
 */
public record GuestRegion(String name, long base, long size, MemorySegment segment, boolean readOnly) {
    public GuestRegion {
        if (size <= 0 || segment.byteSize() < size) {
            throw new IllegalArgumentException("region " + name + ": size " + size + " vs mapping " + segment.byteSize());
        }
        if (Long.compareUnsigned(base + size - 1, base) < 0) {
            throw new IllegalArgumentException("region " + name + " wraps the address space");
        }
    }

    /** The last guest-physical address in the region (inclusive). */
    public long last() { return base + size - 1; }

    public boolean contains(final long gpa, final long len) {
        if (len <= 0) return false;
        final long end = gpa + len - 1;
        return Long.compareUnsigned(gpa, base) >= 0 && Long.compareUnsigned(end, gpa) >= 0
                && Long.compareUnsigned(end, last()) <= 0;
    }
}
