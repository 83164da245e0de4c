package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_vdevice_alloc} (linux/iommufd.h, 24 bytes): argument of IOMMU_VDEVICE_ALLOC. */
public final class IommuVdeviceAlloc {
    public static final StructLayout LAYOUT = struct("iommu_vdevice_alloc",
            u32("size"),
            u32("viommu_id"),
            u32("dev_id"),
            u32("out_vdevice_id"),
            u64("virt_id"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = IommufdUapi.IOMMU_VDEVICE_ALLOC;
    public static final U32 SIZE = U32.of(LAYOUT, "size");
    public static final U32 VIOMMU_ID = U32.of(LAYOUT, "viommu_id");
    public static final U32 DEV_ID = U32.of(LAYOUT, "dev_id");
    public static final U32 OUT_VDEVICE_ID = U32.of(LAYOUT, "out_vdevice_id");
    public static final U64 VIRT_ID = U64.of(LAYOUT, "virt_id");

    private IommuVdeviceAlloc() {}
}
