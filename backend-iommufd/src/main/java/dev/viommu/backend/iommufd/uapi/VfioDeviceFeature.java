package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct vfio_device_feature} (linux/vfio.h, 8 bytes): argument of VFIO_DEVICE_FEATURE. */
public final class VfioDeviceFeature {
    public static final StructLayout LAYOUT = struct("vfio_device_feature",
            u32("argsz"),
            u32("flags"),
            flex(JAVA_BYTE, "data"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = VfioUapi.VFIO_DEVICE_FEATURE;
    public static final U32 ARGSZ = U32.of(LAYOUT, "argsz");
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");

    private VfioDeviceFeature() {}
}
