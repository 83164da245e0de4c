package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct vfio_irq_info} (linux/vfio.h, 16 bytes): argument of VFIO_DEVICE_GET_IRQ_INFO. */
public final class VfioIrqInfo {
    public static final StructLayout LAYOUT = struct("vfio_irq_info",
            u32("argsz"),
            u32("flags"),
            u32("index"),
            u32("count"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = VfioUapi.VFIO_DEVICE_GET_IRQ_INFO;
    public static final U32 ARGSZ = U32.of(LAYOUT, "argsz");
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");
    public static final U32 INDEX = U32.of(LAYOUT, "index");
    public static final U32 COUNT = U32.of(LAYOUT, "count");

    private VfioIrqInfo() {}
}
