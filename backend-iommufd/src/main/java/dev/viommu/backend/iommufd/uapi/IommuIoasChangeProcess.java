package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_ioas_change_process} (linux/iommufd.h, 8 bytes): argument of IOMMU_IOAS_CHANGE_PROCESS. */
public final class IommuIoasChangeProcess {
    public static final StructLayout LAYOUT = struct("iommu_ioas_change_process",
            u32("size"),
            u32("__reserved"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = IommufdUapi.IOMMU_IOAS_CHANGE_PROCESS;
    public static final U32 SIZE = U32.of(LAYOUT, "size");

    private IommuIoasChangeProcess() {}
}
