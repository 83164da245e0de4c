package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_vevent_arm_smmuv3} (linux/iommufd.h, 32 bytes): IOMMU_VEVENTQ_TYPE_ARM_SMMUV3 payload: a 256-bit event record, StreamID rewritten to the vSID. */
public final class IommuVeventArmSmmuv3 {
    public static final StructLayout LAYOUT = struct("iommu_vevent_arm_smmuv3",
            le64s(4, "evt"));
    public static final U64Array EVT = U64Array.of(LAYOUT, "evt");

    private IommuVeventArmSmmuv3() {}
}
