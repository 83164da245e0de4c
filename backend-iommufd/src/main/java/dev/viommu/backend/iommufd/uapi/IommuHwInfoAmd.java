package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_hw_info_amd} (linux/iommufd.h, 16 bytes): IOMMU_HW_INFO_TYPE_AMD data (7.0+): raw EFR/EFR2. */
public final class IommuHwInfoAmd {
    public static final StructLayout LAYOUT = struct("iommu_hw_info_amd",
            u64("efr"),
            u64("efr2"));
    public static final U64 EFR = U64.of(LAYOUT, "efr");
    public static final U64 EFR2 = U64.of(LAYOUT, "efr2");

    private IommuHwInfoAmd() {}
}
