package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_hwpt_alloc} (linux/iommufd.h, 48 bytes): argument of IOMMU_HWPT_ALLOC. */
public final class IommuHwptAlloc {
    public static final StructLayout LAYOUT = struct("iommu_hwpt_alloc",
            u32("size"),
            u32("flags"),
            u32("dev_id"),
            u32("pt_id"),
            u32("out_hwpt_id"),
            u32("__reserved"),
            u32("data_type"),
            u32("data_len"),
            u64("data_uptr"),
            u32("fault_id"),
            u32("__reserved2"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = IommufdUapi.IOMMU_HWPT_ALLOC;
    public static final U32 SIZE = U32.of(LAYOUT, "size");
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");
    public static final U32 DEV_ID = U32.of(LAYOUT, "dev_id");
    public static final U32 PT_ID = U32.of(LAYOUT, "pt_id");
    public static final U32 OUT_HWPT_ID = U32.of(LAYOUT, "out_hwpt_id");
    public static final U32 DATA_TYPE = U32.of(LAYOUT, "data_type");
    public static final U32 DATA_LEN = U32.of(LAYOUT, "data_len");
    public static final U64 DATA_UPTR = U64.of(LAYOUT, "data_uptr");
    public static final U32 FAULT_ID = U32.of(LAYOUT, "fault_id");

    private IommuHwptAlloc() {}
}
