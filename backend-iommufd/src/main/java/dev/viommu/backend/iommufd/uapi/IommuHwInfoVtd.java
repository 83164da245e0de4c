package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_hw_info_vtd} (linux/iommufd.h, 24 bytes): IOMMU_HW_INFO_TYPE_INTEL_VTD data: raw CAP/ECAP. */
public final class IommuHwInfoVtd {
    public static final StructLayout LAYOUT = struct("iommu_hw_info_vtd",
            u32("flags"),
            u32("__reserved"),
            u64("cap_reg"),
            u64("ecap_reg"));
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");
    public static final U64 CAP_REG = U64.of(LAYOUT, "cap_reg");
    public static final U64 ECAP_REG = U64.of(LAYOUT, "ecap_reg");

    private IommuHwInfoVtd() {}
}
