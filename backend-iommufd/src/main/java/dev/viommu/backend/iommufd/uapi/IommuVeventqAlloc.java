package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_veventq_alloc} (linux/iommufd.h, 32 bytes): argument of IOMMU_VEVENTQ_ALLOC. */
public final class IommuVeventqAlloc {
    public static final StructLayout LAYOUT = struct("iommu_veventq_alloc",
            u32("size"),
            u32("flags"),
            u32("viommu_id"),
            u32("type"),
            u32("veventq_depth"),
            u32("out_veventq_id"),
            u32("out_veventq_fd"),
            u32("__reserved"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = IommufdUapi.IOMMU_VEVENTQ_ALLOC;
    public static final U32 SIZE = U32.of(LAYOUT, "size");
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");
    public static final U32 VIOMMU_ID = U32.of(LAYOUT, "viommu_id");
    public static final U32 TYPE = U32.of(LAYOUT, "type");
    public static final U32 VEVENTQ_DEPTH = U32.of(LAYOUT, "veventq_depth");
    public static final U32 OUT_VEVENTQ_ID = U32.of(LAYOUT, "out_veventq_id");
    public static final U32 OUT_VEVENTQ_FD = U32.of(LAYOUT, "out_veventq_fd");

    private IommuVeventqAlloc() {}
}
