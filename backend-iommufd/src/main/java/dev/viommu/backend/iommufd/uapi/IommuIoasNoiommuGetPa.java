package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_ioas_noiommu_get_pa} (linux/iommufd.h, 40 bytes): argument of IOMMU_IOAS_NOIOMMU_GET_PA. */
public final class IommuIoasNoiommuGetPa {
    public static final StructLayout LAYOUT = struct("iommu_ioas_noiommu_get_pa",
            u32("size"),
            u32("flags"),
            u32("ioas_id"),
            u32("__reserved"),
            u64("iova"),
            u64("length"),
            u64("out_phys"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = IommufdUapi.IOMMU_IOAS_NOIOMMU_GET_PA;
    public static final U32 SIZE = U32.of(LAYOUT, "size");
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");
    public static final U32 IOAS_ID = U32.of(LAYOUT, "ioas_id");
    public static final U64 IOVA = U64.of(LAYOUT, "iova");
    public static final U64 LENGTH = U64.of(LAYOUT, "length");
    public static final U64 OUT_PHYS = U64.of(LAYOUT, "out_phys");

    private IommuIoasNoiommuGetPa() {}
}
