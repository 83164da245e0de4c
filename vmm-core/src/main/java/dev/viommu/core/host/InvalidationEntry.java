package dev.viommu.core.host;

/** One entry of an IOMMU_HWPT_INVALIDATE batch, typed by the uAPI's invalidation data type. */
public sealed interface InvalidationEntry {
    /** IOMMU_HWPT_INVALIDATE_DATA_VTD_S1: struct iommu_hwpt_vtd_s1_invalidate. */
    record VtdS1(long addr, long npages, int flags) implements InvalidationEntry {
        /** IOMMU_VTD_INV_FLAGS_LEAF. */
        public static final int FLAG_LEAF = 1;
    }

    /** IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3: one guest command (already vSID-translated by the kernel). */
    record SmmuV3Cmd(long cmd0, long cmd1) implements InvalidationEntry {}
}
