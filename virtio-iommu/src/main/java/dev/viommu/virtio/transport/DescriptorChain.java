package dev.viommu.virtio.transport;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.core.mem.GuestRegion;

/**
 * One descriptor chain popped from a split virtqueue, reused from request to request. The device-readable
 * segments come first, then the device-writable ones (the walk rejects any other order, §2.7.4.2). Buffers are
 * only described here; their bytes are read and written through {@link #read} and {@link #write}, which can
 * fail with {@link GuestMemoryException} when the guest pointed a buffer outside RAM.
 */
public final class DescriptorChain {
    private final long[] addr;
    private final int[] len;        // u32
    private int count;
    private int readable;           // segments [0, readable) are device-readable
    private long readableBytes;
    private long writableBytes;
    private int head;

    public DescriptorChain(final int capacity) {
        addr = new long[capacity];
        len = new int[capacity];
    }

    void clear(final int head) {
        this.head = head;
        count = 0;
        readable = 0;
        readableBytes = 0;
        writableBytes = 0;
    }

    /** Appends a segment; returns false when the chain is longer than its capacity (the queue size). */
    boolean add(final long a, final int l, final boolean writable) {
        if (count == addr.length) return false;
        addr[count] = a;
        len[count] = l;
        count++;
        if (writable) writableBytes += Integer.toUnsignedLong(l);
        else { readable++; readableBytes += Integer.toUnsignedLong(l); }
        return true;
    }

    boolean hasWritable() { return count > readable; }

    /** The descriptor index the driver gave in the available ring: the id of the used-ring element. */
    public int head() { return head; }

    public int segments() { return count; }

    public long readableBytes() { return readableBytes; }

    public long writableBytes() { return writableBytes; }

    /** Copies {@code n} bytes of the device-readable part, from byte {@code offset} of it, into {@code dst}. */
    public void read(final GuestMemory mem, final long offset, final byte[] dst, final int dstOff, final int n)
            throws GuestMemoryException {
        long skip = offset;
        int done = 0;
        for (int i = 0; i < readable && done < n; i++) {
            final long l = Integer.toUnsignedLong(len[i]);
            if (skip >= l) { skip -= l; continue; }
            final int take = (int) Math.min(n - done, l - skip);
            mem.read(addr[i] + skip, dst, dstOff + done, take);
            done += take;
            skip = 0;
        }
        if (done < n) throw new IllegalArgumentException("read past the readable part");
    }

    /**
     * Whether {@code n} bytes at byte {@code offset} of the device-writable part lie in writable guest RAM, so that
     * {@link #write} of them cannot fail: checked before a request takes effect.
     */
    public boolean canWrite(final GuestMemory mem, final long offset, final int n) {
        long skip = offset;
        int done = 0;
        for (int i = readable; i < count && done < n; i++) {
            final long l = Integer.toUnsignedLong(len[i]);
            if (skip >= l) { skip -= l; continue; }
            final int take = (int) Math.min(n - done, l - skip);
            final GuestRegion r = mem.regionAt(addr[i] + skip);
            if (r == null || r.readOnly() || !r.contains(addr[i] + skip, take)) return false;
            done += take;
            skip = 0;
        }
        return done == n;
    }

    /** Copies {@code n} bytes into the device-writable part at byte {@code offset} of it. */
    public void write(final GuestMemory mem, final long offset, final byte[] src, final int srcOff, final int n)
            throws GuestMemoryException {
        long skip = offset;
        int done = 0;
        for (int i = readable; i < count && done < n; i++) {
            final long l = Integer.toUnsignedLong(len[i]);
            if (skip >= l) { skip -= l; continue; }
            final int take = (int) Math.min(n - done, l - skip);
            mem.write(addr[i] + skip, src, srcOff + done, take);
            done += take;
            skip = 0;
        }
        if (done < n) throw new IllegalArgumentException("write past the writable part");
    }
}
