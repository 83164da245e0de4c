package dev.viommu.smmuv3;

import org.slf4j.Logger;

/** Logs guest misbehaviour: the first {@value #FIRST} messages, then every 1000th (the guest controls the rate). */
final class RateLimitedLog {
    private static final int FIRST = 20;
    private final Logger log;
    private final String device;
    private long count;

    RateLimitedLog(final Logger log, final String device) {
        this.log = log;
        this.device = device;
    }

    void warn(final String what, final Object detail) {
        final long n = ++count;
        if (n <= FIRST || n % 1000 == 0) log.warn("{}: {} {} (guest error #{})", device, what, detail, n);
    }

    long count() { return count; }
}
