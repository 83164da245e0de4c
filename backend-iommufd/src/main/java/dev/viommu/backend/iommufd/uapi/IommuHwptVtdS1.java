package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_hwpt_vtd_s1} (linux/iommufd.h, 24 bytes): IOMMU_HWPT_DATA_VTD_S1 payload: the guest first-stage table (FSPTPTR, addr width, SRE/EAFE/WPE). */
public final class IommuHwptVtdS1 {
    public static final StructLayout LAYOUT = struct("iommu_hwpt_vtd_s1",
            u64("flags"),
            u64("pgtbl_addr"),
            u32("addr_width"),
            u32("__reserved"));
    public static final U64 FLAGS = U64.of(LAYOUT, "flags");
    public static final U64 PGTBL_ADDR = U64.of(LAYOUT, "pgtbl_addr");
    public static final U32 ADDR_WIDTH = U32.of(LAYOUT, "addr_width");

    private IommuHwptVtdS1() {}
}
