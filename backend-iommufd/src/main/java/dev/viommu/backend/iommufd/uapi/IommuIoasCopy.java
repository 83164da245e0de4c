package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_ioas_copy} (linux/iommufd.h, 40 bytes): argument of IOMMU_IOAS_COPY. */
public final class IommuIoasCopy {
    public static final StructLayout LAYOUT = struct("iommu_ioas_copy",
            u32("size"),
            u32("flags"),
            u32("dst_ioas_id"),
            u32("src_ioas_id"),
            u64("length"),
            u64("dst_iova"),
            u64("src_iova"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = IommufdUapi.IOMMU_IOAS_COPY;
    public static final U32 SIZE = U32.of(LAYOUT, "size");
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");
    public static final U32 DST_IOAS_ID = U32.of(LAYOUT, "dst_ioas_id");
    public static final U32 SRC_IOAS_ID = U32.of(LAYOUT, "src_ioas_id");
    public static final U64 LENGTH = U64.of(LAYOUT, "length");
    public static final U64 DST_IOVA = U64.of(LAYOUT, "dst_iova");
    public static final U64 SRC_IOVA = U64.of(LAYOUT, "src_iova");

    private IommuIoasCopy() {}
}
