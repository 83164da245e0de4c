package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct vfio_device_attach_iommufd_pt} (linux/vfio.h, 16 bytes): argument of VFIO_DEVICE_ATTACH_IOMMUFD_PT. */
public final class VfioDeviceAttachIommufdPt {
    public static final StructLayout LAYOUT = struct("vfio_device_attach_iommufd_pt",
            u32("argsz"),
            u32("flags"),
            u32("pt_id"),
            u32("pasid"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = VfioUapi.VFIO_DEVICE_ATTACH_IOMMUFD_PT;
    public static final U32 ARGSZ = U32.of(LAYOUT, "argsz");
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");
    public static final U32 PT_ID = U32.of(LAYOUT, "pt_id");
    public static final U32 PASID = U32.of(LAYOUT, "pasid");

    private VfioDeviceAttachIommufdPt() {}
}
