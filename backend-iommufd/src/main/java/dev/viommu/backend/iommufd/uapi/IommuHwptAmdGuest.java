package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_hwpt_amd_guest} (linux/iommufd.h, 32 bytes): IOMMU_HWPT_DATA_AMD_GUEST payload (7.0+): the guest DTE. */
public final class IommuHwptAmdGuest {
    public static final StructLayout LAYOUT = struct("iommu_hwpt_amd_guest",
            u64s(4, "dte"));
    public static final U64Array DTE = U64Array.of(LAYOUT, "dte");

    private IommuHwptAmdGuest() {}
}
