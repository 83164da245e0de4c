package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_hwpt_pgfault} (linux/iommufd.h, 40 bytes): one page-fault record read from a fault fd (reads must be multiples of 40 bytes). */
public final class IommuHwptPgfault {
    public static final StructLayout LAYOUT = struct("iommu_hwpt_pgfault",
            u32("flags"),
            u32("dev_id"),
            u32("pasid"),
            u32("grpid"),
            u32("perm"),
            u32("__reserved"),
            u64("addr"),
            u32("length"),
            u32("cookie"));
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");
    public static final U32 DEV_ID = U32.of(LAYOUT, "dev_id");
    public static final U32 PASID = U32.of(LAYOUT, "pasid");
    public static final U32 GRPID = U32.of(LAYOUT, "grpid");
    public static final U32 PERM = U32.of(LAYOUT, "perm");
    public static final U64 ADDR = U64.of(LAYOUT, "addr");
    public static final U32 LENGTH = U32.of(LAYOUT, "length");
    public static final U32 COOKIE = U32.of(LAYOUT, "cookie");

    private IommuHwptPgfault() {}
}
