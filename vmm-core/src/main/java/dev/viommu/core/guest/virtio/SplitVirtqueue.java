package dev.viommu.core.guest.virtio;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;

import java.lang.invoke.VarHandle;

/**
 * The driver side of a split virtqueue (virtio 1.2 §2.7), after Linux drivers/virtio/virtio_ring.c:
 * vring_create_virtqueue_split (rings in guest RAM, free descriptors chained through {@code next}),
 * virtqueue_add_split (an indirect table when negotiated and a request has more than one buffer),
 * virtqueue_kick_prepare_split (EVENT_IDX: vring_need_event on avail_event, else VRING_USED_F_NO_NOTIFY),
 * virtqueue_get_buf_ctx_split (and the used_event update), detach_buf_split.
 */
public final class SplitVirtqueue {
    /** A used buffer: the chain's head, the length the device wrote, the driver's token. */
    public record Used(int head, int len, Object token) {}

    // struct vring_desc / vring_avail / vring_used
    static final int DESC_SIZE = 16, DESC_F_NEXT = 1, DESC_F_WRITE = 2, DESC_F_INDIRECT = 4;
    static final int MAX_INDIRECT = 4;

    private final GuestMemory mem;
    public final int index;
    public final int size;
    public final long desc, avail, used;
    private final boolean eventIdx;
    private final boolean indirect;
    private final long indirectTables;         // one table of MAX_INDIRECT entries per head
    private final Object[] tokens;
    private final int[] chainLen;
    private int freeHead;
    private int numFree;
    private int availIdx;                      // shadow of avail->idx
    private int lastUsed;
    private int numAdded;

    public SplitVirtqueue(final GuestMemory mem, final GuestAllocator a, final int index, final int size,
                          final boolean eventIdx, final boolean indirect) {
        this.mem = mem;
        this.index = index;
        this.size = size;
        this.eventIdx = eventIdx;
        this.indirect = indirect;
        // vring_size: descriptors (16-byte aligned), avail ring, used ring (4-byte aligned; page-aligned as legacy did)
        this.desc = a.alloc((long) DESC_SIZE * size, 4096);
        this.avail = a.alloc(6L + 2L * size, 2);
        this.used = a.alloc(6L + 8L * size, 4096);
        this.indirectTables = a.alloc((long) DESC_SIZE * MAX_INDIRECT * size, 16);
        tokens = new Object[size];
        chainLen = new int[size];
        try {
            mem.fill(desc, (long) DESC_SIZE * size, (byte) 0);
            mem.fill(avail, 6L + 2L * size, (byte) 0);
            mem.fill(used, 6L + 8L * size, (byte) 0);
            for (int i = 0; i < size - 1; i++) mem.write16(desc + (long) DESC_SIZE * i + 14, i + 1);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
        numFree = size;
    }

    public int numFree() { return numFree; }

    /**
     * virtqueue_add_sgs: {@code outs} device-readable then {@code ins} device-writable buffers, each {addr, len}.
     * Returns false (-ENOSPC) when the ring has no room.
     */
    public boolean addSgs(final long[][] outs, final long[][] ins, final Object token) {
        final int total = outs.length + ins.length;
        if (total == 0) throw new IllegalArgumentException("empty chain");
        try {
            final boolean useIndirect = indirect && total > 1 && total <= MAX_INDIRECT;
            final int needed = useIndirect ? 1 : total;
            if (numFree < needed) return false;
            final int head = freeHead;
            if (useIndirect) {
                final long table = indirectTables + (long) DESC_SIZE * MAX_INDIRECT * head;
                int i = 0;
                for (long[] o : outs) { writeDesc(table, i, o[0], (int) o[1], i + 1 < total ? DESC_F_NEXT : 0, i + 1); i++; }
                for (long[] in : ins) { writeDesc(table, i, in[0], (int) in[1], DESC_F_WRITE | (i + 1 < total ? DESC_F_NEXT : 0), i + 1); i++; }
                final int next = mem.read16(desc + (long) DESC_SIZE * head + 14);
                writeDesc(desc, head, table, DESC_SIZE * total, DESC_F_INDIRECT, next);
                freeHead = next;
                numFree--;
                chainLen[head] = 1;
            } else {
                int d = head;
                int i = 0;
                for (int part = 0; part < 2; part++) {
                    for (long[] b : part == 0 ? outs : ins) {
                        final int flags = (part == 1 ? DESC_F_WRITE : 0) | (i + 1 < total ? DESC_F_NEXT : 0);
                        final long dp = desc + (long) DESC_SIZE * d;
                        final int next = mem.read16(dp + 14);
                        mem.write64(dp, b[0]);
                        mem.write32(dp + 8, (int) b[1]);
                        mem.write16(dp + 12, flags);
                        d = next;
                        i++;
                    }
                }
                freeHead = d;
                numFree -= total;
                chainLen[head] = total;
            }
            tokens[head] = token;
            publish(head);
            return true;
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    private void publish(final int head) throws GuestMemoryException {
        mem.write16(avail + 4 + 2L * (availIdx & (size - 1)), head);
        availIdx = (availIdx + 1) & 0xFFFF;
        VarHandle.releaseFence();                          // virtio_wmb: the ring entry before the index
        mem.write16(avail + 2, availIdx);
        numAdded++;
    }

    private void writeDesc(final long table, final int i, final long addr, final int len, final int flags, final int next)
            throws GuestMemoryException {
        final long d = table + (long) DESC_SIZE * i;
        mem.write64(d, addr);
        mem.write32(d + 8, len);
        mem.write16(d + 12, flags);
        mem.write16(d + 14, next);
    }

    /** virtqueue_kick_prepare_split: whether the device wants a notification for what was added since the last one. */
    public boolean kickPrepare() {
        try {
            VarHandle.fullFence();                         // virtio_mb: publish avail->idx before reading the event
            final int newIdx = availIdx;
            final int old = (newIdx - numAdded) & 0xFFFF;
            numAdded = 0;
            if (eventIdx) {
                final int availEvent = mem.read16(used + 4 + 8L * size);
                return ((newIdx - availEvent - 1) & 0xFFFF) < ((newIdx - old) & 0xFFFF);   // vring_need_event
            }
            return (mem.read16(used) & 1) == 0;           // VRING_USED_F_NO_NOTIFY
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    /** virtqueue_get_buf: the next used buffer, or null. */
    public Used getBuf() {
        try {
            final int usedIdx = mem.read16(used + 2);
            if (usedIdx == lastUsed) return null;
            VarHandle.acquireFence();                      // virtio_rmb: the index before the entry
            final long e = used + 4 + 8L * (lastUsed & (size - 1));
            final int head = mem.read32(e);
            final int len = mem.read32(e + 4);
            if (head < 0 || head >= size || tokens[head] == null) throw new IllegalStateException("id " + head + " is not a head");
            final Object token = tokens[head];
            tokens[head] = null;
            detach(head);
            lastUsed = (lastUsed + 1) & 0xFFFF;
            if (eventIdx) mem.write16(avail + 4 + 2L * size, lastUsed);    // virtio_store_mb(used_event)
            return new Used(head, len, token);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    private void detach(final int head) throws GuestMemoryException {   // detach_buf_split
        int d = head;
        for (int i = 1; i < chainLen[head]; i++) d = mem.read16(desc + (long) DESC_SIZE * d + 14);
        mem.write16(desc + (long) DESC_SIZE * d + 14, freeHead);
        freeHead = head;
        numFree += chainLen[head];
    }

    /**
     * Not in Linux: publishes {@code head} in the available ring as is, without building a chain (device tests
     * use it to hand the device broken or stale chains).
     */
    public void publishRaw(final int head) {
        try {
            mem.write16(avail + 4 + 2L * (availIdx & (size - 1)), head);
            availIdx = (availIdx + 1) & 0xFFFF;
            mem.write16(avail + 2, availIdx);
            numAdded++;
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Not in Linux: writes avail->idx directly (device tests of the device's index checks). */
    public void setAvailIdxRaw(final int idx) {
        availIdx = idx & 0xFFFF;
        try {
            mem.write16(avail + 2, availIdx);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    public int availIdx() { return availIdx; }

    public int lastUsed() { return lastUsed; }
}
