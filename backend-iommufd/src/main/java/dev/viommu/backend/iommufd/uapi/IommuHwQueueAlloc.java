package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_hw_queue_alloc} (linux/iommufd.h, 40 bytes): argument of IOMMU_HW_QUEUE_ALLOC. */
public final class IommuHwQueueAlloc {
    public static final StructLayout LAYOUT = struct("iommu_hw_queue_alloc",
            u32("size"),
            u32("flags"),
            u32("viommu_id"),
            u32("type"),
            u32("index"),
            u32("out_hw_queue_id"),
            u64("nesting_parent_iova"),
            u64("length"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = IommufdUapi.IOMMU_HW_QUEUE_ALLOC;
    public static final U32 SIZE = U32.of(LAYOUT, "size");
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");
    public static final U32 VIOMMU_ID = U32.of(LAYOUT, "viommu_id");
    public static final U32 TYPE = U32.of(LAYOUT, "type");
    public static final U32 INDEX = U32.of(LAYOUT, "index");
    public static final U32 OUT_HW_QUEUE_ID = U32.of(LAYOUT, "out_hw_queue_id");
    public static final U64 NESTING_PARENT_IOVA = U64.of(LAYOUT, "nesting_parent_iova");
    public static final U64 LENGTH = U64.of(LAYOUT, "length");

    private IommuHwQueueAlloc() {}
}
