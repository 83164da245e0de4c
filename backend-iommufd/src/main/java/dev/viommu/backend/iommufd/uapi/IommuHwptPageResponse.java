package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommu_hwpt_page_response} (linux/iommufd.h, 8 bytes): one page response written to a fault fd. */
public final class IommuHwptPageResponse {
    public static final StructLayout LAYOUT = struct("iommu_hwpt_page_response",
            u32("cookie"),
            u32("code"));
    public static final U32 COOKIE = U32.of(LAYOUT, "cookie");
    public static final U32 CODE = U32.of(LAYOUT, "code");

    private IommuHwptPageResponse() {}
}
