package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct vfio_region_info_cap_sparse_mmap} (linux/vfio.h, 16 bytes): VFIO_REGION_INFO_CAP_SPARSE_MMAP. */
public final class VfioRegionInfoCapSparseMmap {
    public static final StructLayout LAYOUT = struct("vfio_region_info_cap_sparse_mmap",
            VfioInfoCapHeader.LAYOUT.withName("header"),
            u32("nr_areas"),
            u32("reserved"),
            flex(VfioRegionSparseMmapArea.LAYOUT, "areas"));
    public static final U32 NR_AREAS = U32.of(LAYOUT, "nr_areas");

    private VfioRegionInfoCapSparseMmap() {}
}
