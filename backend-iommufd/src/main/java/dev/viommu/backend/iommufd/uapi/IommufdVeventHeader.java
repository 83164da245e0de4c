package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/** {@code struct iommufd_vevent_header} (linux/iommufd.h, 8 bytes): the 8-byte header before each vEVENT read from a vEVENTQ fd. */
public final class IommufdVeventHeader {
    public static final StructLayout LAYOUT = struct("iommufd_vevent_header",
            u32("flags"),
            u32("sequence"));
    public static final U32 FLAGS = U32.of(LAYOUT, "flags");
    public static final U32 SEQUENCE = U32.of(LAYOUT, "sequence");

    private IommufdVeventHeader() {}
}
