package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_hwpt_vtd_s1_invalidate} (linux/iommufd.h, 24 bytes): one IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 entry. */
public final class IommuHwptVtdS1Invalidate {
    public static final StructLayout LAYOUT = struct("iommu_hwpt_vtd_s1_invalidate",
            u64("addr"),
            u64("npages"),
            u32("flags"),
            u32("__reserved"));
    public static final U64 ADDR = U64.of(LAYOUT, "addr");
    public static final U64 NPAGES = U64.of(LAYOUT, "npages");
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");

    private IommuHwptVtdS1Invalidate() {}
}
