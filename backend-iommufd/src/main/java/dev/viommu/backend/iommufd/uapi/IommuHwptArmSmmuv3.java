package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_hwpt_arm_smmuv3} (linux/iommufd.h, 16 bytes): IOMMU_HWPT_DATA_ARM_SMMUV3 payload: vSTE words 0 and 1, little-endian. */
public final class IommuHwptArmSmmuv3 {
    public static final StructLayout LAYOUT = struct("iommu_hwpt_arm_smmuv3",
            le64s(2, "ste"));
    public static final U64Array STE = U64Array.of(LAYOUT, "ste");

    private IommuHwptArmSmmuv3() {}
}
