package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct vfio_irq_set} (linux/vfio.h, 20 bytes): argument of VFIO_DEVICE_SET_IRQS. */
public final class VfioIrqSet {
    public static final StructLayout LAYOUT = struct("vfio_irq_set",
            u32("argsz"),
            u32("flags"),
            u32("index"),
            u32("start"),
            u32("count"),
            flex(JAVA_BYTE, "data"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = VfioUapi.VFIO_DEVICE_SET_IRQS;
    public static final U32 ARGSZ = U32.of(LAYOUT, "argsz");
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");
    public static final U32 INDEX = U32.of(LAYOUT, "index");
    public static final U32 START = U32.of(LAYOUT, "start");
    public static final U32 COUNT = U32.of(LAYOUT, "count");

    private VfioIrqSet() {}
}
