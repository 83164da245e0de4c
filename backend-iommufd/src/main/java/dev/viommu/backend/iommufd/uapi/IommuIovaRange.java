package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_iova_range} (linux/iommufd.h, 16 bytes): one inclusive IOVA range, an array element of IOAS_IOVA_RANGES / ALLOW_IOVAS. */
public final class IommuIovaRange {
    public static final StructLayout LAYOUT = struct("iommu_iova_range",
            u64("start"),
            u64("last"));
    public static final U64 START = U64.of(LAYOUT, "start");
    public static final U64 LAST = U64.of(LAYOUT, "last");

    private IommuIovaRange() {}
}
