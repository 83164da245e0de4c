package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct vfio_device_bind_iommufd} (linux/vfio.h, 24 bytes): argument of VFIO_DEVICE_BIND_IOMMUFD. */
public final class VfioDeviceBindIommufd {
    public static final StructLayout LAYOUT = struct("vfio_device_bind_iommufd",
            u32("argsz"),
            u32("flags"),
            u32("iommufd"),
            u32("out_devid"),
            u64("token_uuid_ptr"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = VfioUapi.VFIO_DEVICE_BIND_IOMMUFD;
    public static final U32 ARGSZ = U32.of(LAYOUT, "argsz");
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");
    public static final U32 IOMMUFD = U32.of(LAYOUT, "iommufd");
    public static final U32 OUT_DEVID = U32.of(LAYOUT, "out_devid");
    public static final U64 TOKEN_UUID_PTR = U64.of(LAYOUT, "token_uuid_ptr");

    private VfioDeviceBindIommufd() {}
}
