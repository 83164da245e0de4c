package dev.viommu.core.host;

/**
 * IOMMU_GET_HW_INFO for one device: which physical IOMMU it sits behind and that IOMMU's raw capability
 * registers. The device models clamp what they advertise to these.
 */
public sealed interface HwInfo {
    /** The physical IOMMU instance the device is behind (for per-pIOMMU dispatch). */
    String iommu();

    /** IOMMU_HW_CAP_* flags (dirty tracking, PCI PASID exec/priv). */
    long capabilities();

    /** PCI PASID capability width the device supports (0: none). */
    int maxPasidLog2();

    /** IOMMU_HW_INFO_TYPE_INTEL_VTD: struct iommu_hw_info_vtd. */
    record Vtd(String iommu, long capabilities, int maxPasidLog2, int flags, long capReg, long ecapReg) implements HwInfo {}

    /** IOMMU_HW_INFO_TYPE_ARM_SMMUV3: struct iommu_hw_info_arm_smmuv3 (IDR0-5, IIDR, AIDR). */
    record SmmuV3(String iommu, long capabilities, int maxPasidLog2, int flags, int[] idr, int iidr, int aidr)
            implements HwInfo {}

    /** IOMMU_HW_INFO_TYPE_NONE: the IOMMU reports no type-specific data. */
    record None(String iommu, long capabilities, int maxPasidLog2) implements HwInfo {}
}
