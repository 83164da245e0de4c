package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_ioas_map_file} (linux/iommufd.h, 40 bytes): argument of IOMMU_IOAS_MAP_FILE. */
public final class IommuIoasMapFile {
    public static final StructLayout LAYOUT = struct("iommu_ioas_map_file",
            u32("size"),
            u32("flags"),
            u32("ioas_id"),
            u32("fd"),
            u64("start"),
            u64("length"),
            u64("iova"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = IommufdUapi.IOMMU_IOAS_MAP_FILE;
    public static final U32 SIZE = U32.of(LAYOUT, "size");
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");
    public static final U32 IOAS_ID = U32.of(LAYOUT, "ioas_id");
    public static final U32 FD = U32.of(LAYOUT, "fd");
    public static final U64 START = U64.of(LAYOUT, "start");
    public static final U64 LENGTH = U64.of(LAYOUT, "length");
    public static final U64 IOVA = U64.of(LAYOUT, "iova");

    private IommuIoasMapFile() {}
}
