package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct vfio_device_info} (linux/vfio.h, 24 bytes): argument of VFIO_DEVICE_GET_INFO. */
public final class VfioDeviceInfo {
    public static final StructLayout LAYOUT = struct("vfio_device_info",
            u32("argsz"),
            u32("flags"),
            u32("num_regions"),
            u32("num_irqs"),
            u32("cap_offset"),
            u32("pad"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = VfioUapi.VFIO_DEVICE_GET_INFO;
    public static final U32 ARGSZ = U32.of(LAYOUT, "argsz");
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");
    public static final U32 NUM_REGIONS = U32.of(LAYOUT, "num_regions");
    public static final U32 NUM_IRQS = U32.of(LAYOUT, "num_irqs");
    public static final U32 CAP_OFFSET = U32.of(LAYOUT, "cap_offset");

    private VfioDeviceInfo() {}
}
