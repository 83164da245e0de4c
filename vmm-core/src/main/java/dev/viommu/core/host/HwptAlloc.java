package dev.viommu.core.host;

/**
 * A typed IOMMU_HWPT_ALLOC request. The backend never parses guest structures: the nested data is already the
 * uAPI's type-specific payload (a VT-d stage-1 descriptor, or the vSTE's two words).
 */
public sealed interface HwptAlloc {
    ObjectId.Device device();

    /** An ordinary paging domain over an IOAS ({@code dirtyTracking} asks for IOMMU_HWPT_ALLOC_DIRTY_TRACKING). */
    record Paging(ObjectId.Device device, ObjectId.Ioas ioas, boolean dirtyTracking, ObjectId.FaultQueue fault)
            implements HwptAlloc {}

    /** A stage-2 that nested domains may sit on (IOMMU_HWPT_ALLOC_NEST_PARENT). */
    record NestParent(ObjectId.Device device, ObjectId.Ioas ioas, boolean dirtyTracking) implements HwptAlloc {}

    /** A nested (stage-1) domain over a nest parent HWPT or a vIOMMU. */
    record Nested(ObjectId.Device device, ObjectId parent, NestedData data, ObjectId.FaultQueue fault)
            implements HwptAlloc {
        public Nested {
            if (!(parent instanceof ObjectId.Hwpt) && !(parent instanceof ObjectId.Viommu)) {
                throw new IllegalArgumentException("a nested HWPT's parent is a HWPT or a vIOMMU");
            }
        }
    }

    /** The type-specific data of a nested HWPT. */
    sealed interface NestedData {
        /** IOMMU_HWPT_DATA_VTD_S1: struct iommu_hwpt_vtd_s1. */
        record VtdS1(long flags, long pgtblAddr, int addrWidth) implements NestedData {}

        /** IOMMU_HWPT_DATA_ARM_SMMUV3: struct iommu_hwpt_arm_smmuv3, the guest STE's words 0 and 1. */
        record SmmuV3Ste(long ste0, long ste1) implements NestedData {}
    }
}
