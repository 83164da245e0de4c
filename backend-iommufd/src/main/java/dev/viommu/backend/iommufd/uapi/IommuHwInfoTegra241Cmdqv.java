package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_hw_info_tegra241_cmdqv} (linux/iommufd.h, 8 bytes): IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV data. */
public final class IommuHwInfoTegra241Cmdqv {
    public static final StructLayout LAYOUT = struct("iommu_hw_info_tegra241_cmdqv",
            u32("flags"),
            u8("version"),
            u8("log2vcmdqs"),
            u8("log2vsids"),
            u8("__reserved"));
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");
    public static final U8 VERSION = U8.of(LAYOUT, "version");
    public static final U8 LOG2VCMDQS = U8.of(LAYOUT, "log2vcmdqs");
    public static final U8 LOG2VSIDS = U8.of(LAYOUT, "log2vsids");

    private IommuHwInfoTegra241Cmdqv() {}
}
