package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_hwpt_set_dirty_tracking} (linux/iommufd.h, 16 bytes): argument of IOMMU_HWPT_SET_DIRTY_TRACKING. */
public final class IommuHwptSetDirtyTracking {
    public static final StructLayout LAYOUT = struct("iommu_hwpt_set_dirty_tracking",
            u32("size"),
            u32("flags"),
            u32("hwpt_id"),
            u32("__reserved"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = IommufdUapi.IOMMU_HWPT_SET_DIRTY_TRACKING;
    public static final U32 SIZE = U32.of(LAYOUT, "size");
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");
    public static final U32 HWPT_ID = U32.of(LAYOUT, "hwpt_id");

    private IommuHwptSetDirtyTracking() {}
}
