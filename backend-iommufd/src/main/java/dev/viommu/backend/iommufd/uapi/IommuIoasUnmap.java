package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_ioas_unmap} (linux/iommufd.h, 24 bytes): argument of IOMMU_IOAS_UNMAP. */
public final class IommuIoasUnmap {
    public static final StructLayout LAYOUT = struct("iommu_ioas_unmap",
            u32("size"),
            u32("ioas_id"),
            u64("iova"),
            u64("length"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = IommufdUapi.IOMMU_IOAS_UNMAP;
    public static final U32 SIZE = U32.of(LAYOUT, "size");
    public static final U32 IOAS_ID = U32.of(LAYOUT, "ioas_id");
    public static final U64 IOVA = U64.of(LAYOUT, "iova");
    public static final U64 LENGTH = U64.of(LAYOUT, "length");

    private IommuIoasUnmap() {}
}
