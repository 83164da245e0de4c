package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_hw_info_arm_smmuv3} (linux/iommufd.h, 40 bytes): IOMMU_HW_INFO_TYPE_ARM_SMMUV3 data: IDR0..5, IIDR, AIDR (align 4). */
public final class IommuHwInfoArmSmmuv3 {
    public static final StructLayout LAYOUT = struct("iommu_hw_info_arm_smmuv3",
            u32("flags"),
            u32("__reserved"),
            u32s(6, "idr"),
            u32("iidr"),
            u32("aidr"));
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");
    public static final U32Array IDR = U32Array.of(LAYOUT, "idr");
    public static final U32 IIDR = U32.of(LAYOUT, "iidr");
    public static final U32 AIDR = U32.of(LAYOUT, "aidr");

    private IommuHwInfoArmSmmuv3() {}
}
