package dev.viommu.virtio.spec;

/**
 * PROBE properties (virtio 1.2 §5.13.6.8): header le16 {type[11:0], reserved[15:12]}, le16 length (value bytes,
 * header excluded), then the value. RESV_MEM: subtype u8 @4, reserved[3] @5, start le64 @8, end le64 @16.
 */
public final class ProbeProperty {
    public static final int T_NONE = 0;
    public static final int T_RESV_MEM = 1;
    public static final int TYPE_MASK = 0xFFF;
    public static final int HEADER_SIZE = 4;

    public static final int RESV_MEM_SUBTYPE = 4;
    public static final int RESV_MEM_START = 8;
    public static final int RESV_MEM_END = 16;
    /** Value length of RESV_MEM (subtype + reserved + start + end). */
    public static final int RESV_MEM_LENGTH = 20;
    public static final int RESV_MEM_TOTAL = HEADER_SIZE + RESV_MEM_LENGTH;

    public static final int RESV_MEM_T_RESERVED = 0;
    public static final int RESV_MEM_T_MSI = 1;

    private ProbeProperty() {}
}
