package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_viommu_alloc} (linux/iommufd.h, 40 bytes): argument of IOMMU_VIOMMU_ALLOC. */
public final class IommuViommuAlloc {
    public static final StructLayout LAYOUT = struct("iommu_viommu_alloc",
            u32("size"),
            u32("flags"),
            u32("type"),
            u32("dev_id"),
            u32("hwpt_id"),
            u32("out_viommu_id"),
            u32("data_len"),
            u32("__reserved"),
            u64("data_uptr"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = IommufdUapi.IOMMU_VIOMMU_ALLOC;
    public static final U32 SIZE = U32.of(LAYOUT, "size");
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");
    public static final U32 TYPE = U32.of(LAYOUT, "type");
    public static final U32 DEV_ID = U32.of(LAYOUT, "dev_id");
    public static final U32 HWPT_ID = U32.of(LAYOUT, "hwpt_id");
    public static final U32 OUT_VIOMMU_ID = U32.of(LAYOUT, "out_viommu_id");
    public static final U32 DATA_LEN = U32.of(LAYOUT, "data_len");
    public static final U64 DATA_UPTR = U64.of(LAYOUT, "data_uptr");

    private IommuViommuAlloc() {}
}
