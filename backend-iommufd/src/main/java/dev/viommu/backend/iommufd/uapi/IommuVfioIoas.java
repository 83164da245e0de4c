package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_vfio_ioas} (linux/iommufd.h, 12 bytes): argument of IOMMU_VFIO_IOAS. */
public final class IommuVfioIoas {
    public static final StructLayout LAYOUT = struct("iommu_vfio_ioas",
            u32("size"),
            u32("ioas_id"),
            u16("op"),
            u16("__reserved"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = IommufdUapi.IOMMU_VFIO_IOAS;
    public static final U32 SIZE = U32.of(LAYOUT, "size");
    public static final U32 IOAS_ID = U32.of(LAYOUT, "ioas_id");
    public static final U16 OP = U16.of(LAYOUT, "op");

    private IommuVfioIoas() {}
}
