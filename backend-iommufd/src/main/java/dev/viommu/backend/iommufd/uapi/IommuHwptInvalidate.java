package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_hwpt_invalidate} (linux/iommufd.h, 32 bytes): argument of IOMMU_HWPT_INVALIDATE. */
public final class IommuHwptInvalidate {
    public static final StructLayout LAYOUT = struct("iommu_hwpt_invalidate",
            u32("size"),
            u32("hwpt_id"),
            u64("data_uptr"),
            u32("data_type"),
            u32("entry_len"),
            u32("entry_num"),
            u32("__reserved"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = IommufdUapi.IOMMU_HWPT_INVALIDATE;
    public static final U32 SIZE = U32.of(LAYOUT, "size");
    public static final U32 HWPT_ID = U32.of(LAYOUT, "hwpt_id");
    public static final U64 DATA_UPTR = U64.of(LAYOUT, "data_uptr");
    public static final U32 DATA_TYPE = U32.of(LAYOUT, "data_type");
    public static final U32 ENTRY_LEN = U32.of(LAYOUT, "entry_len");
    public static final U32 ENTRY_NUM = U32.of(LAYOUT, "entry_num");

    private IommuHwptInvalidate() {}
}
