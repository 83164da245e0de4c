package dev.viommu.virtio.iommu;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.virtio.transport.VirtioTransport;
import dev.viommu.virtio.transport.Virtqueue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Checks that a device call writes guest RAM only where the guest allowed it to: the used ring of an enabled queue
 * (§2.7.8, avail_event included) and the device-writable buffers of the chains in its available ring (§2.7.4).
 * RAM (at GPA 0) is compared as whole images before and after each call; the allowed ranges are only worked out
 * when a byte outside the used rings changed. They come from walking every available-ring slot of each enabled
 * queue, before and after the call, the way §2.7.5 says a chain is formed: at most queue-size descriptors, one
 * level of indirection. A changed byte outside all of them is a stray DMA write by the device.
 */
final class DeviceWriteOracle {
    private record QueueView(int size, long desc, long avail, long used) {}

    private final GuestMemory mem;
    private final VirtioTransport transport;
    private final byte[] before, after;
    private final int ram;

    DeviceWriteOracle(final GuestMemory mem, final VirtioTransport transport, final int ram) {
        this.mem = mem;
        this.transport = transport;
        this.ram = ram;
        this.before = new byte[ram];
        this.after = new byte[ram];
    }

    /** Runs a device call that may write guest memory and checks what it wrote. */
    void run(final String what, final Runnable call) {
        final List<QueueView> pre = views();
        image(before);
        call.run();
        image(after);
        check(what, pre);
    }

    private List<QueueView> views() {
        final List<QueueView> v = new ArrayList<>();
        for (int q = 0; q < 2; q++) {
            final Virtqueue vq = transport.queue(q);
            if (vq.ready()) v.add(new QueueView(vq.size(), vq.descAddr(), vq.availAddr(), vq.usedAddr()));
        }
        return v;
    }

    private void image(final byte[] into) {
        try {
            mem.read(0, into, 0, ram);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    private void check(final String what, final List<QueueView> pre) {
        final List<QueueView> post = views();
        List<long[]> allowed = null;
        int i = 0;
        while (i < ram) {
            final int m = Arrays.mismatch(before, i, ram, after, i, ram);
            if (m < 0) return;
            int start = i + m, end = start;
            while (end < ram && before[end] != after[end]) end++;
            for (int b = start; b < end; b++) {
                if (inUsedRing(b, pre) || inUsedRing(b, post)) continue;
                if (allowed == null) {
                    allowed = new ArrayList<>();
                    for (QueueView q : pre) writableBuffers(before, q, allowed);
                    for (QueueView q : post) writableBuffers(after, q, allowed);
                    for (QueueView q : post) writableBuffers(before, q, allowed);
                }
                if (!covered(b, allowed)) {
                    throw new AssertionError(what + ": the device wrote guest RAM at 0x" + Integer.toHexString(b)
                            + " (0x" + Integer.toHexString(before[b] & 0xFF) + " → 0x" + Integer.toHexString(after[b] & 0xFF)
                            + "), outside every used ring and device-writable buffer; queues before " + pre + ", after " + post
                            + ", writable buffers " + allowed.stream().map(x -> "0x" + Long.toHexString(x[0]) + "+0x" + Long.toHexString(x[1])).distinct().toList());
                }
            }
            i = end;
        }
    }

    private static boolean inUsedRing(final long b, final List<QueueView> qs) {
        for (QueueView q : qs) if (within(b, q.used, 6 + 8L * q.size)) return true;
        return false;
    }

    private static boolean covered(final long b, final List<long[]> ranges) {
        for (long[] r : ranges) if (within(b, r[0], r[1])) return true;
        return false;
    }

    /** Whether {@code b} is in the guest-physical range {@code [start, start + len)}, which ends at 2^64: no wrapping. */
    private static boolean within(final long b, final long start, final long len) {
        return Long.compareUnsigned(b, start) >= 0 && Long.compareUnsigned(b - start, len) < 0;
    }

    /** The writable descriptors of every chain reachable from the available ring in {@code img}. */
    private void writableBuffers(final byte[] img, final QueueView q, final List<long[]> out) {
        final ByteBuffer m = ByteBuffer.wrap(img).order(ByteOrder.LITTLE_ENDIAN);
        for (int slot = 0; slot < q.size; slot++) {
            final long a = q.avail + 4 + 2L * slot;
            if (!inImage(a, 2)) continue;
            final int head = m.getShort((int) a) & 0xFFFF;
            if (head >= q.size) continue;
            long table = q.desc;
            long tableSize = q.size;
            int i = head;
            boolean indirect = false;
            for (int ttl = q.size; ttl > 0; ttl--) {
                final long d = table + (long) RawVirtqueue.DESC_SIZE * i;
                if (!inImage(d, RawVirtqueue.DESC_SIZE)) break;
                final long addr = m.getLong((int) d);
                final long len = Integer.toUnsignedLong(m.getInt((int) d + RawVirtqueue.DESC_LEN));
                final int flags = m.getShort((int) d + RawVirtqueue.DESC_FLAGS) & 0xFFFF;
                final int next = m.getShort((int) d + RawVirtqueue.DESC_NEXT) & 0xFFFF;
                if ((flags & RawVirtqueue.F_INDIRECT) != 0 && !indirect) {
                    table = addr;
                    tableSize = len / RawVirtqueue.DESC_SIZE;
                    i = 0;
                    indirect = true;
                    continue;
                }
                if ((flags & RawVirtqueue.F_WRITE) != 0) out.add(new long[] {addr, len});
                if ((flags & RawVirtqueue.F_NEXT) == 0 || next >= tableSize) break;
                i = next;
            }
        }
    }

    private boolean inImage(final long a, final int n) { return a >= 0 && a <= ram - n; }
}
