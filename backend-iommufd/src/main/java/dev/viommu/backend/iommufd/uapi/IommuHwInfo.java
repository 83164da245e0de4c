package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_hw_info} (linux/iommufd.h, 40 bytes): argument of IOMMU_GET_HW_INFO. */
public final class IommuHwInfo {
    public static final StructLayout LAYOUT = struct("iommu_hw_info",
            u32("size"),
            u32("flags"),
            u32("dev_id"),
            u32("data_len"),
            u64("data_uptr"),
            union(u32("in_data_type"), u32("out_data_type")),
            u8("out_max_pasid_log2"),
            u8s(3, "__reserved"),
            u64("out_capabilities"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = IommufdUapi.IOMMU_GET_HW_INFO;
    public static final U32 SIZE = U32.of(LAYOUT, "size");
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");
    public static final U32 DEV_ID = U32.of(LAYOUT, "dev_id");
    public static final U32 DATA_LEN = U32.of(LAYOUT, "data_len");
    public static final U64 DATA_UPTR = U64.of(LAYOUT, "data_uptr");
    public static final U32 IN_DATA_TYPE = U32.of(LAYOUT, "in_data_type");
    public static final U32 OUT_DATA_TYPE = U32.of(LAYOUT, "out_data_type");
    public static final U8 OUT_MAX_PASID_LOG2 = U8.of(LAYOUT, "out_max_pasid_log2");
    public static final U64 OUT_CAPABILITIES = U64.of(LAYOUT, "out_capabilities");

    private IommuHwInfo() {}
}
