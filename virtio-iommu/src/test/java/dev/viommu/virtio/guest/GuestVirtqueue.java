package dev.viommu.virtio.guest;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;

/**
 * The driver side of a split virtqueue, after Linux drivers/virtio/virtio_ring.c: vring_create_virtqueue_split,
 * virtqueue_add_split (indirect tables when negotiated and a request has more than one buffer),
 * virtqueue_kick_prepare_split (EVENT_IDX: vring_need_event on avail_event), virtqueue_get_buf_ctx_split (and
 * used_event updates), detach_buf_split.
 */
public final class GuestVirtqueue {
    public record Used(int head, int len, Object token) {}

    private final GuestMemory mem;
    public final int index;
    public final int size;
    public final long desc, avail, used;
    private final boolean eventIdx;
    private final boolean indirect;
    private final long indirectTables;         // one 4-entry table per head slot
    private final Object[] tokens;
    private final int[] chainLen;
    private final boolean[] isIndirect;
    private int freeHead;
    private int numFree;
    private int availIdx;       // shadow of avail->idx
    private int lastUsed;
    private int numAdded;

    public GuestVirtqueue(final GuestMachine m, final GuestAllocator a, final int index, final int size,
                          final boolean eventIdx, final boolean indirect) {
        this.mem = m.memory();
        this.index = index;
        this.size = size;
        this.eventIdx = eventIdx;
        this.indirect = indirect;
        this.desc = a.alloc(16L * size, 4096);
        this.avail = a.alloc(6L + 2L * size, 2);
        this.used = a.alloc(6L + 8L * size, 4096);
        this.indirectTables = a.alloc(64L * size, 16);
        tokens = new Object[size];
        chainLen = new int[size];
        isIndirect = new boolean[size];
        try {
            mem.fill(desc, 16L * size, (byte) 0);
            mem.fill(avail, 6L + 2L * size, (byte) 0);
            mem.fill(used, 6L + 8L * size, (byte) 0);
            for (int i = 0; i < size - 1; i++) mem.write16(desc + 16L * i + 14, i + 1);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
        freeHead = 0;
        numFree = size;
    }

    public int numFree() { return numFree; }

    /**
     * virtqueue_add_sgs: {@code outs} device-readable then {@code ins} device-writable buffers, each {addr, len}.
     * Returns false (ENOSPC) when the ring is full.
     */
    public boolean addSgs(final long[][] outs, final long[][] ins, final Object token) {
        final int total = outs.length + ins.length;
        try {
            final boolean useIndirect = indirect && total > 1 && total <= 4;
            final int needed = useIndirect ? 1 : total;
            if (numFree < needed) return false;
            final int head = freeHead;
            if (useIndirect) {
                final long table = indirectTables + 64L * head;
                int i = 0;
                for (long[] o : outs) { writeDesc(table, i, o[0], (int) o[1], i + 1 < total ? 1 : 0, i + 1); i++; }
                for (long[] in : ins) { writeDesc(table, i, in[0], (int) in[1], 2 | (i + 1 < total ? 1 : 0), i + 1); i++; }
                final int next = mem.read16(desc + 16L * head + 14);
                writeDesc(desc, head, table, 16 * total, 4, next);
                freeHead = next;
                numFree--;
                chainLen[head] = 1;
                isIndirect[head] = true;
            } else {
                int d = head, last = head;
                int i = 0;
                for (long[][] part : new long[][][] {outs, ins}) {
                    for (long[] b : part) {
                        final int flags = (part == ins ? 2 : 0) | (i + 1 < total ? 1 : 0);
                        final int next = mem.read16(desc + 16L * d + 14);
                        mem.write64(desc + 16L * d, b[0]);
                        mem.write32(desc + 16L * d + 8, (int) b[1]);
                        mem.write16(desc + 16L * d + 12, flags);
                        last = d;
                        d = next;
                        i++;
                    }
                }
                freeHead = d;
                numFree -= total;
                chainLen[head] = total;
                isIndirect[head] = false;
                if (last < 0) throw new IllegalStateException();
            }
            tokens[head] = token;
            mem.write16(avail + 4 + 2L * (availIdx & (size - 1)), head);
            availIdx = (availIdx + 1) & 0xFFFF;
            java.lang.invoke.VarHandle.releaseFence();          // virtio_wmb before the index
            mem.write16(avail + 2, availIdx);
            numAdded++;
            return true;
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    private void writeDesc(final long table, final int i, final long addr, final int len, final int flags, final int next)
            throws GuestMemoryException {
        final long d = table + 16L * i;
        mem.write64(d, addr);
        mem.write32(d + 8, len);
        mem.write16(d + 12, flags);
        mem.write16(d + 14, next);
    }

    /** Publishes raw head {@code head} in the available ring (for scripts that craft broken chains). */
    public void publishRaw(final int head) throws GuestMemoryException {
        mem.write16(avail + 4 + 2L * (availIdx & (size - 1)), head);
        availIdx = (availIdx + 1) & 0xFFFF;
        mem.write16(avail + 2, availIdx);
        numAdded++;
    }

    /** Writes the available index directly (for scripts that test the device's index checks). */
    public void setAvailIdxRaw(final int idx) throws GuestMemoryException {
        availIdx = idx & 0xFFFF;
        mem.write16(avail + 2, availIdx);
    }

    /** virtqueue_kick_prepare_split: whether the device wants a notification for what was added. */
    public boolean kickPrepare() {
        try {
            java.lang.invoke.VarHandle.fullFence();
            final int newIdx = availIdx;
            final int old = (newIdx - numAdded) & 0xFFFF;
            numAdded = 0;
            if (eventIdx) {
                final int availEvent = mem.read16(used + 4 + 8L * size);
                return ((newIdx - availEvent - 1) & 0xFFFF) < ((newIdx - old) & 0xFFFF);
            }
            return (mem.read16(used) & 1) == 0;       // VRING_USED_F_NO_NOTIFY
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    /** virtqueue_get_buf: the next used buffer, or null. */
    public Used getBuf() {
        try {
            final int usedIdx = mem.read16(used + 2);
            if (usedIdx == lastUsed) return null;
            java.lang.invoke.VarHandle.acquireFence();
            final long e = used + 4 + 8L * (lastUsed & (size - 1));
            final int head = mem.read32(e);
            final int len = mem.read32(e + 4);
            if (head < 0 || head >= size || tokens[head] == null) throw new IllegalStateException("bad used id " + head);
            final Object token = tokens[head];
            tokens[head] = null;
            detach(head);
            lastUsed = (lastUsed + 1) & 0xFFFF;
            if (eventIdx) mem.write16(avail + 4 + 2L * size, lastUsed);     // virtio_store_mb(used_event)
            return new Used(head, len, token);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    private void detach(final int head) throws GuestMemoryException {   // detach_buf_split
        int d = head;
        for (int i = 1; i < chainLen[head]; i++) d = mem.read16(desc + 16L * d + 14);
        mem.write16(desc + 16L * d + 14, freeHead);
        freeHead = head;
        numFree += chainLen[head];
    }

    public int availIdx() { return availIdx; }
}
