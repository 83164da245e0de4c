package dev.viommu.core.host;

/**
 * One host page request (struct iommu_hwpt_pgfault): the device it came from, PASID, PRG index, permissions,
 * address and the cookie to echo in the response.
 */
public record PageRequest(int flags, int deviceId, int pasid, int groupId, int perm, long address, int length,
                          int cookie) {
    /** IOMMU_PGFAULT_FLAGS_PASID_VALID. */
    public static final int FLAG_PASID_VALID = 1;
    /** IOMMU_PGFAULT_FLAGS_LAST_PAGE. */
    public static final int FLAG_LAST_PAGE = 2;

    public boolean pasidValid() { return (flags & FLAG_PASID_VALID) != 0; }

    public boolean lastPage() { return (flags & FLAG_LAST_PAGE) != 0; }
}
