package dev.viommu.smmuv3;

import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SmmuV3AllocationTest {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    @Test
    void shouldNotAllocateOnIotlbHit() {
        final SmmuV3Harness h = new SmmuV3Harness(Map.of(), 64);
        long sink = 0;
        final long tid = Thread.currentThread().threadId();
        long best = Long.MAX_VALUE;
        // Warm-up rounds let the JIT settle; the quietest round of 10k hits must allocate nothing.
        for (int round = 0; round < 20; round++) {
            final long before = THREADS.getThreadAllocatedBytes(tid);
            sink += hits(h, 10_000);
            final long after = THREADS.getThreadAllocatedBytes(tid);
            best = Math.min(best, after - before);
        }
        assertTrue(sink != 0);
        assertEquals(0, best, "IOTLB hits allocated " + best + " bytes over 10k");
    }

    private static long hits(final SmmuV3Harness h, final int n) {
        long sink = 0;
        for (int i = 0; i < n; i++) sink += h.translate(SmmuV3Harness.VA_BASE + ((i & 63L) << 12) + 8);
        return sink;
    }

    @Test
    void shouldTranslateThroughFourLevelWalkOnMiss() {
        final SmmuV3Harness h = new SmmuV3Harness(Map.of(), 4);
        assertEquals(SmmuV3Harness.PA_BASE + 0x1008, h.translate(SmmuV3Harness.VA_BASE + 0x1008));
        assertEquals(1, h.iotlbEntries());
    }

    @Test
    void shouldInvalidateByVaThroughTheCommandQueue() {
        final SmmuV3Harness h = new SmmuV3Harness(Map.of(), 16);
        for (int i = 0; i < 16; i++) h.translate(SmmuV3Harness.VA_BASE + ((long) i << 12));
        assertEquals(16, h.iotlbEntries());
        h.runTlbiBatch(8);
        assertEquals(8, h.iotlbEntries());
        for (int r = 0; r < 200; r++) h.runTlbiBatch(100);   // wraps the 1024-entry queue several times
        assertEquals(0, h.iotlbEntries());
        assertEquals(200 * 101 + 9, h.device().commandsProcessed);
    }
}
