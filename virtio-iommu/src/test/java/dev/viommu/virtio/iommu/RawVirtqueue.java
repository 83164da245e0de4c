package dev.viommu.virtio.iommu;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;

import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;

/**
 * The driver side of one split virtqueue (virtio 1.2 §2.7) that hides nothing: descriptors, available-ring slots
 * and indices are written exactly as the test asks, so a hostile guest can write them wrongly too. Unlike
 * vmm-core's {@code SplitVirtqueue} (Linux's virtio_ring.c) it keeps no free list in guest memory: the test
 * chooses descriptor indices itself, which survives any scribbling over the rings.
 */
final class RawVirtqueue {
    static final int DESC_SIZE = 16, F_NEXT = 1, F_WRITE = 2, F_INDIRECT = 4;
    static final int DESC_ADDR = 0, DESC_LEN = 8, DESC_FLAGS = 12, DESC_NEXT = 14;

    /** A used-ring element. */
    record Used(int id, int len) {}

    private final GuestMemory mem;
    final int index;
    final int size;
    final long desc, avail, used;
    private boolean eventIdx;
    private int availIdx;           // shadow of avail->idx
    private int lastUsed;
    private int kickedAt;           // avail idx at the last kick decision

    RawVirtqueue(final GuestMemory mem, final int index, final int size, final long desc, final long avail, final long used) {
        this.mem = mem;
        this.index = index;
        this.size = size;
        this.desc = desc;
        this.avail = avail;
        this.used = used;
    }

    /** Zeroes the rings for a fresh queue set-up. */
    void init(final boolean eventIdxNegotiated) {
        eventIdx = eventIdxNegotiated;
        fill(desc, (long) DESC_SIZE * size);
        fill(avail, 6L + 2L * size);
        fill(used, 6L + 8L * size);
        availIdx = lastUsed = kickedAt = 0;
    }

    private void fill(final long a, final long n) {
        try {
            mem.fill(a, n, (byte) 0);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    long descEntry(final int i) { return desc + (long) DESC_SIZE * i; }

    static void writeDesc(final GuestMemory mem, final long entry, final long addr, final int len, final int flags, final int next) {
        try {
            mem.write64(entry + DESC_ADDR, addr);
            mem.write32(entry + DESC_LEN, len);
            mem.write16(entry + DESC_FLAGS, flags);
            mem.write16(entry + DESC_NEXT, next);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Puts {@code head} in the next available-ring slot and publishes the new index (virtio_wmb between). */
    void publish(final int head) {
        w16(avail + 4 + 2L * (availIdx & (size - 1)), head);
        availIdx = (availIdx + 1) & 0xFFFF;
        VarHandle.releaseFence();
        w16(avail + 2, availIdx);
    }

    /** Writes avail->idx as given (a hostile guest's index); the shadow follows. */
    void setAvailIdx(final int idx) {
        availIdx = idx & 0xFFFF;
        w16(avail + 2, availIdx);
    }

    int availIdx() { return availIdx; }

    /**
     * virtqueue_kick_prepare_split: whether the device asked for a notification of what was published since the
     * last decision (EVENT_IDX: vring_need_event on avail_event; otherwise VRING_USED_F_NO_NOTIFY).
     */
    boolean needsKick() {
        VarHandle.fullFence();
        final int old = kickedAt;
        kickedAt = availIdx;
        if (eventIdx) {
            final int availEvent = r16(used + 4 + 8L * size);
            return ((availIdx - availEvent - 1) & 0xFFFF) < ((availIdx - old) & 0xFFFF);
        }
        return (r16(used) & 1) == 0;
    }

    /** The device's used index as it stands in guest memory. */
    int deviceUsedIdx() { return r16(used + 2); }

    /** How many used elements the device added since the last {@link #reap}. */
    int newlyUsed() { return (deviceUsedIdx() - lastUsed) & 0xFFFF; }

    /** Takes every used element the device added; with EVENT_IDX publishes used_event like virtqueue_get_buf. */
    List<Used> reap() {
        final List<Used> out = new ArrayList<>();
        final int idx = deviceUsedIdx();
        VarHandle.acquireFence();
        while (lastUsed != idx) {
            final long e = used + 4 + 8L * (lastUsed & (size - 1));
            out.add(new Used(r32(e), r32(e + 4)));
            lastUsed = (lastUsed + 1) & 0xFFFF;
        }
        if (eventIdx) w16(avail + 4 + 2L * size, lastUsed);
        return out;
    }

    /** After hostile writes: the shadows take what guest memory says. */
    void resync() {
        availIdx = r16(avail + 2);
        lastUsed = deviceUsedIdx();
        kickedAt = availIdx;
    }

    int r16(final long a) {
        try {
            return mem.read16(a);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    private int r32(final long a) {
        try {
            return mem.read32(a);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    void w16(final long a, final int v) {
        try {
            mem.write16(a, v);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }
}
