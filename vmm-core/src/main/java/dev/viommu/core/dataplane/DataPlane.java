package dev.viommu.core.dataplane;

/**
 * The data-plane wire format, shared by the sidecar and the client library. See {@code docs/dataplane.md}.
 * <pre>
 * Every frame: u32 length (little-endian, bytes after this field) then the frame:
 *   0      2      4           8
 *   +------+------+-----------+---------------------------+
 *   | type |handle|    tag    | payload (fixed per type)  |
 *   +------+------+-----------+---------------------------+
 * type: u16; handle: u16 device handle from device_add; tag: u32 echoed in the reply (0 for async frames).
 * </pre>
 * Hypervisor to sidecar: MMIO_READ (reply), MMIO_WRITE (posted), TRANSLATE (reply), DOORBELL (posted), PING
 * (reply), PAGE_REQUEST (reply), REMAP_MSI (reply). Sidecar to hypervisor: IRQ_MSI, IRQ_LINE, IOTLB_INVALIDATE,
 * PAGE_RESPONSE (async), and replies. Frames on one
 * connection are executed in order: a read's reply comes only after every earlier write took effect.
 */
public final class DataPlane {
    private DataPlane() {}

    public static final int HEADER_LENGTH = 8;
    public static final int TYPE_OFFSET = 0, HANDLE_OFFSET = 2, TAG_OFFSET = 4;
    /** Longest frame either side sends; anything longer is malformed. */
    public static final int MAX_FRAME = 64;

    // Requests (hypervisor -> sidecar)
    public static final int MMIO_READ = 0x01, MMIO_WRITE = 0x02, TRANSLATE = 0x03, DOORBELL = 0x04, PING = 0x05,
            PAGE_REQUEST = 0x06, REMAP_MSI = 0x07;
    // Replies: request type | REPLY
    public static final int REPLY = 0x80;
    public static final int MMIO_READ_REPLY = MMIO_READ | REPLY, TRANSLATE_REPLY = TRANSLATE | REPLY, PONG = PING | REPLY,
            PAGE_REQUEST_REPLY = PAGE_REQUEST | REPLY, REMAP_MSI_REPLY = REMAP_MSI | REPLY;
    public static final int ERROR = 0xFF;
    // Async (sidecar -> hypervisor)
    public static final int IRQ_MSI = 0x40, IRQ_LINE = 0x41, IOTLB_INVALIDATE = 0x42, PAGE_RESPONSE = 0x43;

    // MMIO_READ: region u8 @8, size u8 @9, offset u64 @16                        -> 24 bytes
    // MMIO_WRITE: region u8 @8, size u8 @9, offset u64 @16, value u64 @24          -> 32 bytes
    public static final int MMIO_REGION = 8, MMIO_SIZE = 9, MMIO_OFFSET = 16, MMIO_VALUE = 24;
    public static final int MMIO_READ_LENGTH = 24, MMIO_WRITE_LENGTH = 32;
    // TRANSLATE: sourceId u32 @8, pasid i32 @12, iova u64 @16, access u32 @24      -> 32 bytes
    public static final int TR_SOURCE = 8, TR_PASID = 12, TR_IOVA = 16, TR_ACCESS = 24, TRANSLATE_LENGTH = 32;
    // DOORBELL: queue u32 @8                                                       -> 16 bytes
    public static final int DB_QUEUE = 8, DOORBELL_LENGTH = 16;
    // PING / PONG: payload u64 @8                                                  -> 16 bytes
    public static final int PING_PAYLOAD = 8, PING_LENGTH = 16;

    // PAGE_REQUEST: sourceId u32 @8, pasid i32 @12, address u64 @16, access u32 @24, group u16 @28, flags u16 @30 (bit 0: last) -> 32 bytes
    public static final int PR_SOURCE = 8, PR_PASID = 12, PR_ADDRESS = 16, PR_ACCESS = 24, PR_GROUP = 28, PR_FLAGS = 30,
            PAGE_REQUEST_LENGTH = 32, PR_FLAG_LAST = 1;
    // REMAP_MSI: sourceId u32 @8, data u32 @12, address u64 @16                      -> 24 bytes
    public static final int RM_SOURCE = 8, RM_DATA = 12, RM_ADDRESS = 16, REMAP_MSI_LENGTH = 24;

    // PAGE_REQUEST_REPLY: status u32 @8 (0 accepted, 1 refused)                     -> 16 bytes
    public static final int PRR_STATUS = 8, PAGE_REQUEST_REPLY_LENGTH = 16;
    // REMAP_MSI_REPLY: status u32 @8 (0 deliver, 1 blocked), data u32 @12, address u64 @16, fault u32 @24 -> 32 bytes
    public static final int RMR_STATUS = 8, RMR_DATA = 12, RMR_ADDRESS = 16, RMR_FAULT = 24, REMAP_MSI_REPLY_LENGTH = 32;
    // PAGE_RESPONSE (async): sourceId i32 @8, pasid i32 @12, group u32 @16, code u32 @20 -> 24 bytes
    public static final int PRS_SOURCE = 8, PRS_PASID = 12, PRS_GROUP = 16, PRS_CODE = 20, PAGE_RESPONSE_LENGTH = 24;

    // MMIO_READ_REPLY: status u32 @8, value u64 @16                                -> 24 bytes
    public static final int RR_STATUS = 8, RR_VALUE = 16, MMIO_READ_REPLY_LENGTH = 24;
    // TRANSLATE_REPLY: status u32 @8, perms u32 @12, out u64 @16, pageSize u64 @24, faultCode u32 @32 -> 40 bytes
    public static final int TRR_STATUS = 8, TRR_PERMS = 12, TRR_OUT = 16, TRR_PAGE_SIZE = 24, TRR_FAULT = 32,
            TRANSLATE_REPLY_LENGTH = 40;
    // ERROR: status u32 @8, request type u16 @12                                   -> 16 bytes
    public static final int ERR_STATUS = 8, ERR_REQUEST_TYPE = 12, ERROR_LENGTH = 16;

    // IRQ_MSI: data u32 @8, address u64 @16                                        -> 24 bytes
    public static final int MSI_DATA = 8, MSI_ADDRESS = 16, IRQ_MSI_LENGTH = 24;
    // IRQ_LINE: line u32 @8, level u32 @12                                         -> 16 bytes
    public static final int LINE_NUMBER = 8, LINE_LEVEL = 12, IRQ_LINE_LENGTH = 16;
    // IOTLB_INVALIDATE: sourceId i32 @8, pasid i32 @12, iova u64 @16, size u64 @24 -> 32 bytes
    public static final int INV_SOURCE = 8, INV_PASID = 12, INV_IOVA = 16, INV_SIZE = 24, IOTLB_INVALIDATE_LENGTH = 32;

    // Status codes
    public static final int S_OK = 0;
    /** TRANSLATE: the vIOMMU faulted the access; TRR_FAULT has the architected code. */
    public static final int S_FAULT = 1;
    public static final int S_NO_DEVICE = 2, S_BAD_REGION = 3, S_BAD_ACCESS = 4, S_MALFORMED = 5, S_UNKNOWN_TYPE = 6,
            S_NOT_SUPPORTED = 7;

    /** The length a frame of {@code type} must have, or -1 for an unknown type. */
    public static int lengthOf(final int type) {
        return switch (type) {
            case MMIO_READ -> MMIO_READ_LENGTH;
            case MMIO_WRITE -> MMIO_WRITE_LENGTH;
            case TRANSLATE -> TRANSLATE_LENGTH;
            case DOORBELL -> DOORBELL_LENGTH;
            case PING, PONG -> PING_LENGTH;
            case MMIO_READ_REPLY -> MMIO_READ_REPLY_LENGTH;
            case TRANSLATE_REPLY -> TRANSLATE_REPLY_LENGTH;
            case ERROR -> ERROR_LENGTH;
            case IRQ_MSI -> IRQ_MSI_LENGTH;
            case IRQ_LINE -> IRQ_LINE_LENGTH;
            case IOTLB_INVALIDATE -> IOTLB_INVALIDATE_LENGTH;
            case PAGE_REQUEST -> PAGE_REQUEST_LENGTH;
            case REMAP_MSI -> REMAP_MSI_LENGTH;
            case PAGE_REQUEST_REPLY -> PAGE_REQUEST_REPLY_LENGTH;
            case REMAP_MSI_REPLY -> REMAP_MSI_REPLY_LENGTH;
            case PAGE_RESPONSE -> PAGE_RESPONSE_LENGTH;
            default -> -1;
        };
    }

    public static String statusName(final int s) {
        return switch (s) {
            case S_OK -> "OK"; case S_FAULT -> "FAULT"; case S_NO_DEVICE -> "NO_DEVICE"; case S_BAD_REGION -> "BAD_REGION";
            case S_BAD_ACCESS -> "BAD_ACCESS"; case S_MALFORMED -> "MALFORMED"; case S_UNKNOWN_TYPE -> "UNKNOWN_TYPE";
            case S_NOT_SUPPORTED -> "NOT_SUPPORTED";
            default -> "status " + s;
        };
    }
}
