package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_fault_alloc} (linux/iommufd.h, 16 bytes): argument of IOMMU_FAULT_QUEUE_ALLOC. */
public final class IommuFaultAlloc {
    public static final StructLayout LAYOUT = struct("iommu_fault_alloc",
            u32("size"),
            u32("flags"),
            u32("out_fault_id"),
            u32("out_fault_fd"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = IommufdUapi.IOMMU_FAULT_QUEUE_ALLOC;
    public static final U32 SIZE = U32.of(LAYOUT, "size");
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");
    public static final U32 OUT_FAULT_ID = U32.of(LAYOUT, "out_fault_id");
    public static final U32 OUT_FAULT_FD = U32.of(LAYOUT, "out_fault_fd");

    private IommuFaultAlloc() {}
}
