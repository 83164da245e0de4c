package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_ioas_allow_iovas} (linux/iommufd.h, 24 bytes): argument of IOMMU_IOAS_ALLOW_IOVAS. */
public final class IommuIoasAllowIovas {
    public static final StructLayout LAYOUT = struct("iommu_ioas_allow_iovas",
            u32("size"),
            u32("ioas_id"),
            u32("num_iovas"),
            u32("__reserved"),
            u64("allowed_iovas"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = IommufdUapi.IOMMU_IOAS_ALLOW_IOVAS;
    public static final U32 SIZE = U32.of(LAYOUT, "size");
    public static final U32 IOAS_ID = U32.of(LAYOUT, "ioas_id");
    public static final U32 NUM_IOVAS = U32.of(LAYOUT, "num_iovas");
    public static final U64 ALLOWED_IOVAS = U64.of(LAYOUT, "allowed_iovas");

    private IommuIoasAllowIovas() {}
}
