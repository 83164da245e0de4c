package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_ioas_map} (linux/iommufd.h, 40 bytes): argument of IOMMU_IOAS_MAP. */
public final class IommuIoasMap {
    public static final StructLayout LAYOUT = struct("iommu_ioas_map",
            u32("size"),
            u32("flags"),
            u32("ioas_id"),
            u32("__reserved"),
            u64("user_va"),
            u64("length"),
            u64("iova"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = IommufdUapi.IOMMU_IOAS_MAP;
    public static final U32 SIZE = U32.of(LAYOUT, "size");
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");
    public static final U32 IOAS_ID = U32.of(LAYOUT, "ioas_id");
    public static final U64 USER_VA = U64.of(LAYOUT, "user_va");
    public static final U64 LENGTH = U64.of(LAYOUT, "length");
    public static final U64 IOVA = U64.of(LAYOUT, "iova");

    private IommuIoasMap() {}
}
