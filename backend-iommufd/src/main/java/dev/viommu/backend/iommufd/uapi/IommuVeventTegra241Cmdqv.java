package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_vevent_tegra241_cmdqv} (linux/iommufd.h, 16 bytes): IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV payload. */
public final class IommuVeventTegra241Cmdqv {
    public static final StructLayout LAYOUT = struct("iommu_vevent_tegra241_cmdqv",
            le64s(2, "lvcmdq_err_map"));
    public static final U64Array LVCMDQ_ERR_MAP = U64Array.of(LAYOUT, "lvcmdq_err_map");

    private IommuVeventTegra241Cmdqv() {}
}
