package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct vfio_region_sparse_mmap_area} (linux/vfio.h, 16 bytes): an area of VFIO_REGION_INFO_CAP_SPARSE_MMAP. */
public final class VfioRegionSparseMmapArea {
    public static final StructLayout LAYOUT = struct("vfio_region_sparse_mmap_area",
            u64("offset"),
            u64("size"));
    public static final U64 OFFSET = U64.of(LAYOUT, "offset");
    public static final U64 SIZE = U64.of(LAYOUT, "size");

    private VfioRegionSparseMmapArea() {}
}
