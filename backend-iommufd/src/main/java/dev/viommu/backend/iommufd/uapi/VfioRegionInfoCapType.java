package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct vfio_region_info_cap_type} (linux/vfio.h, 16 bytes): VFIO_REGION_INFO_CAP_TYPE. */
public final class VfioRegionInfoCapType {
    public static final StructLayout LAYOUT = struct("vfio_region_info_cap_type",
            VfioInfoCapHeader.LAYOUT.withName("header"),
            u32("type"),
            u32("subtype"));
    public static final U32 TYPE = U32.of(LAYOUT, "type");
    public static final U32 SUBTYPE = U32.of(LAYOUT, "subtype");

    private VfioRegionInfoCapType() {}
}
