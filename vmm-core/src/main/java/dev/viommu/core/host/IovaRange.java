package dev.viommu.core.host;

/** An inclusive IOVA range {@code [start, last]}, as struct iommu_iova_range. */
public record IovaRange(long start, long last) {
    public boolean contains(final long iova, final long len) {
        final long end = iova + len - 1;
        return Long.compareUnsigned(iova, start) >= 0 && Long.compareUnsigned(end, last) <= 0
                && Long.compareUnsigned(end, iova) >= 0;
    }
}
