package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_viommu_tegra241_cmdqv} (linux/iommufd.h, 16 bytes): IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV data (out: VINTF mmap offset/length). */
public final class IommuViommuTegra241Cmdqv {
    public static final StructLayout LAYOUT = struct("iommu_viommu_tegra241_cmdqv",
            u64("out_vintf_mmap_offset"),
            u64("out_vintf_mmap_length"));
    public static final U64 OUT_VINTF_MMAP_OFFSET = U64.of(LAYOUT, "out_vintf_mmap_offset");
    public static final U64 OUT_VINTF_MMAP_LENGTH = U64.of(LAYOUT, "out_vintf_mmap_length");

    private IommuViommuTegra241Cmdqv() {}
}
