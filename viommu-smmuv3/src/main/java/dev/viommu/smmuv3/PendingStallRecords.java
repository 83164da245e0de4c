package dev.viommu.smmuv3;

import java.util.Arrays;

/**
 * Event records of stalled transactions that the event queue could not take yet, oldest first. The record of a
 * stall is never discarded (IHI0070 §7.2.1, §7.4): while the queue is disabled, full or has an unacknowledged
 * EVENTQ_ABT_ERR it waits, and is recorded once the queue is writable again; without it software would never
 * learn the STAG, and the transaction would stay stalled until SMMUEN is cleared. A record whose transaction was
 * affected by an invalidation and CMD_SYNC meanwhile is marked {@link #markAllForRetry}: §7.2.1 requires that
 * transaction to be retried once the queue is writable instead (marking unaffected ones too is permitted).
 * At most one per stalled transaction, so the capacity is STALL_MAX. Allocation-free.
 */
final class PendingStallRecords {
    private final int[] sids, stags;
    private final boolean[] retry;
    /** Four dwords per record. */
    private final long[] words;
    private int size;

    PendingStallRecords(final int capacity) {
        sids = new int[capacity];
        stags = new int[capacity];
        retry = new boolean[capacity];
        words = new long[capacity * 4];
    }

    int size() { return size; }

    /** Queues a record behind the others; false (nothing kept) when full, which one per stall never makes it. */
    boolean add(final int sid, final int stag, final long d0, final long d1, final long d2, final long d3) {
        if (size == sids.length) return false;
        sids[size] = sid;
        stags[size] = stag;
        retry[size] = false;
        words[4 * size] = d0;
        words[4 * size + 1] = d1;
        words[4 * size + 2] = d2;
        words[4 * size + 3] = d3;
        size++;
        return true;
    }

    /** Dword {@code w} of the oldest record. */
    long first(final int w) { return words[w]; }

    int firstSid() { return sids[0]; }

    int firstStag() { return stags[0]; }

    /** Whether the oldest record's transaction is to be retried rather than reported. */
    boolean firstRetries() { return retry[0]; }

    /** An invalidation and CMD_SYNC completed: every waiting record's transaction is retried instead. */
    void markAllForRetry() { Arrays.fill(retry, 0, size, true); }

    void removeFirst() { removeAt(0); }

    /** Drops the records of {@code sid}'s stall {@code stag}, or of all its stalls with {@code stag} < 0. */
    void remove(final int sid, final int stag) {
        for (int i = size - 1; i >= 0; i--) {
            if (sids[i] == sid && (stag < 0 || stags[i] == stag)) removeAt(i);
        }
    }

    void clear() { size = 0; }

    private void removeAt(final int i) {
        final int tail = size - i - 1;
        System.arraycopy(sids, i + 1, sids, i, tail);
        System.arraycopy(stags, i + 1, stags, i, tail);
        System.arraycopy(retry, i + 1, retry, i, tail);
        System.arraycopy(words, 4 * (i + 1), words, 4 * i, 4 * tail);
        size--;
    }
}
