package dev.viommu.vtd;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Rate-limited logging of guest misbehaviour: the first 16 messages, then every 1000th. */
final class GuestLog {
    private static final Logger LOG = LoggerFactory.getLogger("dev.viommu.vtd.guest");
    private final String id;
    private long count;

    GuestLog(final String id) { this.id = id; }

    void warn(final String what, final long a, final long b) {
        final long n = count++;
        if (n < 16 || n % 1000 == 0) {
            LOG.warn("{}: {} (0x{}, 0x{}) [#{}]", id, what, Long.toHexString(a), Long.toHexString(b), n + 1);
        }
    }
}
