package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_hwpt_get_dirty_bitmap} (linux/iommufd.h, 48 bytes): argument of IOMMU_HWPT_GET_DIRTY_BITMAP. */
public final class IommuHwptGetDirtyBitmap {
    public static final StructLayout LAYOUT = struct("iommu_hwpt_get_dirty_bitmap",
            u32("size"),
            u32("hwpt_id"),
            u32("flags"),
            u32("__reserved"),
            u64("iova"),
            u64("length"),
            u64("page_size"),
            u64("data"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = IommufdUapi.IOMMU_HWPT_GET_DIRTY_BITMAP;
    public static final U32 SIZE = U32.of(LAYOUT, "size");
    public static final U32 HWPT_ID = U32.of(LAYOUT, "hwpt_id");
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");
    public static final U64 IOVA = U64.of(LAYOUT, "iova");
    public static final U64 LENGTH = U64.of(LAYOUT, "length");
    public static final U64 PAGE_SIZE = U64.of(LAYOUT, "page_size");
    public static final U64 DATA = U64.of(LAYOUT, "data");

    private IommuHwptGetDirtyBitmap() {}
}
