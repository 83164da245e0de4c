package dev.viommu.virtio.transport;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.virtio.spec.VirtqLayout;

import java.lang.invoke.VarHandle;

import static dev.viommu.virtio.spec.VirtqLayout.*;

/**
 * The device side of one split virtqueue (virtio 1.2 §2.7) in guest memory. Every guest-controlled value is
 * checked: the available index may run at most {@code size} ahead of what the device consumed, a chain is at
 * most {@code size} descriptors long (TTL), indirect tables do not nest and need the negotiated feature, the
 * readable part precedes the writable part, no buffer wraps past 2^64, and a chain carries at most 2^32 bytes. Any
 * violation is a device error: the caller sets DEVICE_NEEDS_RESET and stops using the queue (§2.1.2).
 */
public final class Virtqueue {
    /** {@link #pop} outcomes. */
    public static final int EMPTY = 0, POPPED = 1, ERROR = -1;

    private static final long MAX_CHAIN_BYTES = 1L << 32;

    private final int index;
    private final int maxSize;
    private int size;
    private boolean ready;
    private long desc, avail, used;
    private int msixVector = dev.viommu.virtio.spec.VirtioPciCap.NO_VECTOR;

    // negotiated ring features, latched when the queue is enabled
    private boolean eventIdx;
    private boolean indirect;

    private int lastAvail;          // u16: next available-ring slot to consume
    private int usedIdx;            // u16: next used-ring slot to fill
    private int signalledUsed;
    private boolean signalledUsedValid;
    private String error;

    public Virtqueue(final int index, final int maxSize) {
        if (Integer.bitCount(maxSize) != 1 || maxSize > MAX_QUEUE_SIZE) throw new IllegalArgumentException("queue size " + maxSize);
        this.index = index;
        this.maxSize = maxSize;
        reset();
    }

    public void reset() {
        size = maxSize;
        ready = false;
        desc = avail = used = 0;
        msixVector = dev.viommu.virtio.spec.VirtioPciCap.NO_VECTOR;
        lastAvail = usedIdx = signalledUsed = 0;
        signalledUsedValid = false;
        error = null;
    }

    public int index() { return index; }

    public int maxSize() { return maxSize; }

    public int size() { return size; }

    public boolean ready() { return ready; }

    public long descAddr() { return desc; }

    public long availAddr() { return avail; }

    public long usedAddr() { return used; }

    public int msixVector() { return msixVector; }

    public void setMsixVector(final int v) { msixVector = v; }

    public int lastAvail() { return lastAvail; }

    public int usedIdx() { return usedIdx; }

    /** Why the queue stopped, or null. */
    public String error() { return error; }

    /** Queue configuration writes; ignored while the queue is enabled (§4.1.4.3.2, §4.2.2.2). */
    public void setSize(final int s) { if (!ready) size = s; }

    public void setDesc(final long a) { if (!ready) desc = a; }

    public void setAvail(final long a) { if (!ready) avail = a; }

    public void setUsed(final long a) { if (!ready) used = a; }

    public void setDescLow(final int v) { setDesc((desc & 0xFFFF_FFFF_0000_0000L) | Integer.toUnsignedLong(v)); }

    public void setDescHigh(final int v) { setDesc((desc & 0xFFFF_FFFFL) | ((long) v << 32)); }

    public void setAvailLow(final int v) { setAvail((avail & 0xFFFF_FFFF_0000_0000L) | Integer.toUnsignedLong(v)); }

    public void setAvailHigh(final int v) { setAvail((avail & 0xFFFF_FFFFL) | ((long) v << 32)); }

    public void setUsedLow(final int v) { setUsed((used & 0xFFFF_FFFF_0000_0000L) | Integer.toUnsignedLong(v)); }

    public void setUsedHigh(final int v) { setUsed((used & 0xFFFF_FFFFL) | ((long) v << 32)); }

    /**
     * Enables the queue with the negotiated ring features. Returns false (and leaves it disabled) when the size
     * is not a power of two in [1, max] (split rings, §2.7), the ring addresses are misaligned (§2.7: desc 16,
     * avail 2, used 4) or a ring runs past 2^64 (its entries would wrap around to low RAM).
     */
    public boolean enable(final boolean eventIdxFeature, final boolean indirectFeature) {
        if (size < 1 || size > maxSize || Integer.bitCount(size) != 1) return false;
        if ((desc & 15) != 0 || (avail & 1) != 0 || (used & 3) != 0) return false;
        if (wraps(desc, descTableBytes(size)) || wraps(avail, availRingBytes(size)) || wraps(used, usedRingBytes(size))) return false;
        eventIdx = eventIdxFeature;
        indirect = indirectFeature;
        lastAvail = usedIdx = signalledUsed = 0;
        signalledUsedValid = false;
        error = null;
        ready = true;
        return true;
    }

    private int fail(final String why) {
        error = why;
        return ERROR;
    }

    /** How many chains the driver has made available and the device not yet consumed, or -1 on error. */
    public int pending(final GuestMemory mem) {
        try {
            final int idx = mem.read16(avail + AVAIL_IDX);
            final int n = (idx - lastAvail) & 0xFFFF;
            return n > size ? -1 : n;
        } catch (GuestMemoryException e) {
            return -1;
        }
    }

    /**
     * Takes the next available chain into {@code chain}: {@link #POPPED}, {@link #EMPTY}, or {@link #ERROR}
     * (see {@link #error()}), after which the queue must not be used until reset.
     */
    public int pop(final GuestMemory mem, final DescriptorChain chain) {
        if (!ready) return EMPTY;
        if (error != null) return ERROR;
        try {
            final int idx = mem.read16(avail + AVAIL_IDX);
            final int n = (idx - lastAvail) & 0xFFFF;
            if (n == 0) return EMPTY;
            // §2.7.13.3 / QEMU virtqueue_num_heads: the driver can never be more than a ring ahead of us.
            if (n > size) return fail("avail idx " + idx + " is " + n + " ahead of last_avail " + lastAvail + " (size " + size + ")");
            VarHandle.acquireFence();   // read the ring entry only after the index that published it
            final int head = mem.read16(availRingEntry(avail, lastAvail & (size - 1)));
            if (head >= size) return fail("available head " + head + " out of range");
            lastAvail = (lastAvail + 1) & 0xFFFF;
            return walk(mem, head, chain);
        } catch (GuestMemoryException e) {
            return fail("ring access outside RAM: " + e.getMessage());
        }
    }

    private int walk(final GuestMemory mem, final int head, final DescriptorChain chain) throws GuestMemoryException {
        chain.clear(head);
        long table = desc;
        int tableSize = size;
        int i = head;
        int ttl = size;                 // a chain is never longer than the queue (§2.7.5.3.1 / 2.7.4.2)
        boolean inIndirect = false;
        long total = 0;
        while (true) {
            if (ttl-- == 0) return fail("descriptor chain longer than the queue size (loop?)");
            final long d = table + (long) DESC_SIZE * i;
            final long addr = mem.read64(d + DESC_ADDR);
            final int len = mem.read32(d + DESC_LEN);
            final int flags = mem.read16(d + DESC_FLAGS);
            final int next = mem.read16(d + DESC_NEXT);
            // A buffer (or indirect table) is the guest-physical bytes [addr, addr + len): none lie past 2^64, and
            // offsets into it must not wrap around to low RAM.
            if (wraps(addr, Integer.toUnsignedLong(len))) {
                return fail("buffer at 0x" + Long.toHexString(addr) + " of " + Integer.toUnsignedString(len) + " bytes wraps the address space");
            }
            if ((flags & DESC_F_INDIRECT) != 0) {
                if (!indirect) return fail("indirect descriptor without VIRTIO_F_INDIRECT_DESC");
                if (inIndirect) return fail("nested indirect descriptor");
                if ((flags & DESC_F_NEXT) != 0) return fail("indirect descriptor with NEXT");
                final long l = Integer.toUnsignedLong(len);
                if (l == 0 || (l % DESC_SIZE) != 0) return fail("indirect table length " + l);
                if (l / DESC_SIZE > VirtqLayout.MAX_QUEUE_SIZE) return fail("indirect table too long");
                table = addr;
                tableSize = (int) (l / DESC_SIZE);
                i = 0;
                inIndirect = true;
                continue;
            }
            final boolean w = (flags & DESC_F_WRITE) != 0;
            if (!w && chain.hasWritable()) return fail("device-readable descriptor after a writable one");
            total += Integer.toUnsignedLong(len);
            if (total > MAX_CHAIN_BYTES) return fail("descriptor chain longer than 2^32 bytes");
            if (!chain.add(addr, len, w)) return fail("descriptor chain longer than the queue size");
            if ((flags & DESC_F_NEXT) == 0) return POPPED;
            if (next >= tableSize) return fail("next descriptor " + next + " out of range");
            i = next;
        }
    }

    /** Whether {@code [a, a + n)} runs past the top of the 64-bit address space. */
    private static boolean wraps(final long a, final long n) { return n != 0 && Long.compareUnsigned(a + n - 1, a) < 0; }

    /** Returns a chain to the driver: writes the used element, then publishes the used index (release). */
    public boolean push(final GuestMemory mem, final int head, final int writtenLen) {
        try {
            final long e = usedRingEntry(used, usedIdx & (size - 1));
            mem.write32(e, head);
            mem.write32(e + 4, writtenLen);
            VarHandle.releaseFence();
            usedIdx = (usedIdx + 1) & 0xFFFF;
            mem.write16(used + USED_IDX, usedIdx);
            return true;
        } catch (GuestMemoryException ex) {
            error = "used ring outside RAM: " + ex.getMessage();
            return false;
        }
    }

    /**
     * After consuming chains: with EVENT_IDX, publish avail_event = last_avail so that the driver kicks again
     * for the next buffer (§2.7.10). Returns true when more buffers arrived meanwhile and the caller should
     * keep going.
     */
    public boolean enableNotification(final GuestMemory mem) {
        try {
            if (eventIdx) {
                mem.write16(availEvent(used, size), lastAvail);
                VarHandle.fullFence();
            }
            return ((mem.read16(avail + AVAIL_IDX) - lastAvail) & 0xFFFF) != 0;
        } catch (GuestMemoryException e) {
            error = "ring access outside RAM: " + e.getMessage();
            return false;
        }
    }

    /** Whether the driver wants a used-buffer notification for what was pushed since the last one (§2.7.7). */
    public boolean shouldInterrupt(final GuestMemory mem) {
        try {
            VarHandle.fullFence();      // the used idx store before the used_event / flags load
            if (!eventIdx) return (mem.read16(avail + AVAIL_FLAGS) & AVAIL_F_NO_INTERRUPT) == 0;
            final boolean valid = signalledUsedValid;
            final int old = signalledUsed;
            signalledUsedValid = true;
            signalledUsed = usedIdx;
            if (!valid) return true;
            return needEvent(mem.read16(usedEvent(avail, size)), usedIdx, old);
        } catch (GuestMemoryException e) {
            return true;
        }
    }
}
