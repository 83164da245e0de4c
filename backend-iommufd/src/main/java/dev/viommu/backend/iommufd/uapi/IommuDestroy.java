package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_destroy} (linux/iommufd.h, 8 bytes): argument of IOMMU_DESTROY. */
public final class IommuDestroy {
    public static final StructLayout LAYOUT = struct("iommu_destroy",
            u32("size"),
            u32("id"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = IommufdUapi.IOMMU_DESTROY;
    public static final U32 SIZE = U32.of(LAYOUT, "size");
    public static final U32 ID = U32.of(LAYOUT, "id");

    private IommuDestroy() {}
}
