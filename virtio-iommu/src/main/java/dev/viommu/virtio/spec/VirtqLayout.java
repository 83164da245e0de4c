package dev.viommu.virtio.spec;

/**
 * Split-virtqueue layouts in guest memory (virtio 1.2 §2.7; Linux uapi virtio_ring.h). All fields little-endian.
 * <pre>
 * descriptor (16 B): addr le64 @0, len le32 @8, flags le16 @12, next le16 @14
 * avail ring:        flags le16 @0, idx le16 @2, ring[size] le16 @4, used_event le16 @4+2*size
 * used ring:         flags le16 @0, idx le16 @2, ring[size] {id le32, len le32} @4, avail_event le16 @4+8*size
 * </pre>
 */
public final class VirtqLayout {
    public static final int DESC_SIZE = 16;
    public static final int DESC_ADDR = 0;
    public static final int DESC_LEN = 8;
    public static final int DESC_FLAGS = 12;
    public static final int DESC_NEXT = 14;

    public static final int DESC_F_NEXT = 1;
    public static final int DESC_F_WRITE = 2;
    public static final int DESC_F_INDIRECT = 4;

    public static final int AVAIL_FLAGS = 0;
    public static final int AVAIL_IDX = 2;
    public static final int AVAIL_RING = 4;
    /** avail.flags: the driver asks for no used-buffer notifications (ignored by the device when EVENT_IDX). */
    public static final int AVAIL_F_NO_INTERRUPT = 1;

    public static final int USED_FLAGS = 0;
    public static final int USED_IDX = 2;
    public static final int USED_RING = 4;
    public static final int USED_ELEM_SIZE = 8;
    /** used.flags: the device asks for no available-buffer notifications (without EVENT_IDX). */
    public static final int USED_F_NO_NOTIFY = 1;

    /** The largest split queue (§2.7). */
    public static final int MAX_QUEUE_SIZE = 32768;

    private VirtqLayout() {}

    public static long availRingEntry(final long avail, final int slot) { return avail + AVAIL_RING + 2L * slot; }

    public static long usedEvent(final long avail, final int size) { return avail + AVAIL_RING + 2L * size; }

    public static long usedRingEntry(final long used, final int slot) { return used + USED_RING + (long) USED_ELEM_SIZE * slot; }

    public static long availEvent(final long used, final int size) { return used + USED_RING + (long) USED_ELEM_SIZE * size; }

    public static long descTableBytes(final int size) { return (long) DESC_SIZE * size; }

    public static long availRingBytes(final int size) { return AVAIL_RING + 2L * size + 2; }

    public static long usedRingBytes(final int size) { return USED_RING + (long) USED_ELEM_SIZE * size + 2; }

    /**
     * vring_need_event (virtio_ring.h): whether moving an index from {@code old} to {@code now} crosses the
     * other side's event index. All values are u16.
     */
    public static boolean needEvent(final int eventIdx, final int now, final int old) {
        return ((now - eventIdx - 1) & 0xFFFF) < ((now - old) & 0xFFFF);
    }
}
