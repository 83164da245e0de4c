package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct vfio_region_info} (linux/vfio.h, 32 bytes): argument of VFIO_DEVICE_GET_REGION_INFO. */
public final class VfioRegionInfo {
    public static final StructLayout LAYOUT = struct("vfio_region_info",
            u32("argsz"),
            u32("flags"),
            u32("index"),
            u32("cap_offset"),
            u64("size"),
            u64("offset"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = VfioUapi.VFIO_DEVICE_GET_REGION_INFO;
    public static final U32 ARGSZ = U32.of(LAYOUT, "argsz");
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");
    public static final U32 INDEX = U32.of(LAYOUT, "index");
    public static final U32 CAP_OFFSET = U32.of(LAYOUT, "cap_offset");
    public static final U64 SIZE = U64.of(LAYOUT, "size");
    public static final U64 OFFSET = U64.of(LAYOUT, "offset");

    private VfioRegionInfo() {}
}
