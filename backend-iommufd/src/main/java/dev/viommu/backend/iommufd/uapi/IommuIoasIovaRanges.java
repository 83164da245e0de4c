package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_ioas_iova_ranges} (linux/iommufd.h, 32 bytes): argument of IOMMU_IOAS_IOVA_RANGES. */
public final class IommuIoasIovaRanges {
    public static final StructLayout LAYOUT = struct("iommu_ioas_iova_ranges",
            u32("size"),
            u32("ioas_id"),
            u32("num_iovas"),
            u32("__reserved"),
            u64("allowed_iovas"),
            u64("out_iova_alignment"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = IommufdUapi.IOMMU_IOAS_IOVA_RANGES;
    public static final U32 SIZE = U32.of(LAYOUT, "size");
    public static final U32 IOAS_ID = U32.of(LAYOUT, "ioas_id");
    public static final U32 NUM_IOVAS = U32.of(LAYOUT, "num_iovas");
    public static final U64 ALLOWED_IOVAS = U64.of(LAYOUT, "allowed_iovas");
    public static final U64 OUT_IOVA_ALIGNMENT = U64.of(LAYOUT, "out_iova_alignment");

    private IommuIoasIovaRanges() {}
}
