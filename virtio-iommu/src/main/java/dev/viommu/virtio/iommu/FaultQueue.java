package dev.viommu.virtio.iommu;

/**
 * Fault records waiting for an eventq buffer: a fixed ring of primitives, so reporting a fault allocates
 * nothing and a guest that never posts event buffers costs bounded memory (the oldest pending records stay,
 * new ones are dropped and counted, as §5.13.6.9 allows).
 */
final class FaultQueue {
    private final int[] reason, flags, endpoint;
    private final long[] address;
    private int head, count;
    long dropped;

    FaultQueue(final int capacity) {
        reason = new int[capacity];
        flags = new int[capacity];
        endpoint = new int[capacity];
        address = new long[capacity];
    }

    boolean offer(final int r, final int f, final int ep, final long addr) {
        if (count == reason.length) { dropped++; return false; }
        final int i = (head + count) % reason.length;
        reason[i] = r;
        flags[i] = f;
        endpoint[i] = ep;
        address[i] = addr;
        count++;
        return true;
    }

    boolean isEmpty() { return count == 0; }

    int size() { return count; }

    int peekReason() { return reason[head]; }

    int peekFlags() { return flags[head]; }

    int peekEndpoint() { return endpoint[head]; }

    long peekAddress() { return address[head]; }

    void poll() {
        head = (head + 1) % reason.length;
        count--;
    }

    void clear() { head = count = 0; }
}
