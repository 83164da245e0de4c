package dev.viommu.virtio.transport;

import org.slf4j.Logger;

/**
 * Logs guest misbehaviour without letting the guest flood the log: the first {@code burst} messages, then one
 * in every {@code every}. Callers pass a constant format and primitive-friendly arguments; nothing is built
 * unless the line is actually logged.
 */
public final class RateLimitedLog {
    private final Logger log;
    private final int burst;
    private final int every;
    private long count;

    public RateLimitedLog(final Logger log, final int burst, final int every) {
        this.log = log;
        this.burst = burst;
        this.every = every;
    }

    /** Whether the next message should be logged (counts it either way). */
    public boolean admit() {
        final long n = count++;
        return n < burst || (n - burst) % every == 0;
    }

    public void warn(final String format, final Object a) {
        if (admit()) log.warn(format + " [{} guest errors so far]", a, count);
    }

    public void warn(final String format, final Object a, final Object b) {
        if (admit()) log.warn(format + " [{} guest errors so far]", a, b, count);
    }

    public long count() { return count; }
}
