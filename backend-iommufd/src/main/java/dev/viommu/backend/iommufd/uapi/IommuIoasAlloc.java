package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_ioas_alloc} (linux/iommufd.h, 12 bytes): argument of IOMMU_IOAS_ALLOC. */
public final class IommuIoasAlloc {
    public static final StructLayout LAYOUT = struct("iommu_ioas_alloc",
            u32("size"),
            u32("flags"),
            u32("out_ioas_id"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = IommufdUapi.IOMMU_IOAS_ALLOC;
    public static final U32 SIZE = U32.of(LAYOUT, "size");
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");
    public static final U32 OUT_IOAS_ID = U32.of(LAYOUT, "out_ioas_id");

    private IommuIoasAlloc() {}
}
