package dev.viommu.smmuv3;

/**
 * PROD/CONS arithmetic shared by the three queues (IHI0070 §3.5; smmuv3.md B.7): the index is bits
 * [LOG2SIZE−1:0], the wrap bit is bit LOG2SIZE; empty when both are equal, full when only the wrap differs.
 * Bits above the wrap bit (CMDQ_CONS.ERR, OVFLG) are preserved by {@link #inc}.
 */
final class QueueIndex {
    private QueueIndex() {}

    static int mask(final int log2) { return (2 << log2) - 1; }

    static int index(final int v, final int log2) { return v & ((1 << log2) - 1); }

    static boolean empty(final int prod, final int cons, final int log2) { return ((prod ^ cons) & mask(log2)) == 0; }

    static boolean full(final int prod, final int cons, final int log2) {
        return ((prod ^ cons) & mask(log2)) == 1 << log2;
    }

    static int inc(final int v, final int log2) {
        final int m = mask(log2);
        return (v & ~m) | ((v + 1) & m);
    }

    /** Entries between cons and prod. */
    static int count(final int prod, final int cons, final int log2) {
        return ((prod & mask(log2)) - (cons & mask(log2))) & mask(log2);
    }
}
