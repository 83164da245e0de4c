package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_option} (linux/iommufd.h, 24 bytes): argument of IOMMU_OPTION. */
public final class IommuOption {
    public static final StructLayout LAYOUT = struct("iommu_option",
            u32("size"),
            u32("option_id"),
            u16("op"),
            u16("__reserved"),
            u32("object_id"),
            u64("val64"));
    /** The request number this struct is the argument of. */
    public static final long IOCTL = IommufdUapi.IOMMU_OPTION;
    public static final U32 SIZE = U32.of(LAYOUT, "size");
    public static final U32 OPTION_ID = U32.of(LAYOUT, "option_id");
    public static final U16 OP = U16.of(LAYOUT, "op");
    public static final U32 OBJECT_ID = U32.of(LAYOUT, "object_id");
    public static final U64 VAL64 = U64.of(LAYOUT, "val64");

    private IommuOption() {}
}
