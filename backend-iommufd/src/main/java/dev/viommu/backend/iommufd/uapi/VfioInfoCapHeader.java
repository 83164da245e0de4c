package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct vfio_info_cap_header} (linux/vfio.h, 8 bytes): VFIO capability-chain header. */
public final class VfioInfoCapHeader {
    public static final StructLayout LAYOUT = struct("vfio_info_cap_header",
            u16("id"),
            u16("version"),
            u32("next"));
    public static final U16 ID = U16.of(LAYOUT, "id");
    public static final U16 VERSION = U16.of(LAYOUT, "version");
    public static final U32 NEXT = U32.of(LAYOUT, "next");

    private VfioInfoCapHeader() {}
}
