package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_viommu_arm_smmuv3_invalidate} (linux/iommufd.h, 16 bytes): one IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3 entry: a raw 128-bit CMDQ command. */
public final class IommuViommuArmSmmuv3Invalidate {
    public static final StructLayout LAYOUT = struct("iommu_viommu_arm_smmuv3_invalidate",
            le64s(2, "cmd"));
    public static final U64Array CMD = U64Array.of(LAYOUT, "cmd");

    private IommuViommuArmSmmuv3Invalidate() {}
}
