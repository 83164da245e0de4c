package dev.viommu.vtd;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.translate.AccessType;
import dev.viommu.core.translate.Translation;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The IOTLB hit path allocates nothing, and flushes cost what they remove. */
class IotlbAllocationTest {
    @Test
    void shouldNotAllocateOnIotlbHits() throws Exception {
        try (DirectMachine m = VtdTestGuest.machine(Map.of())) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(false);
            final PageTableWriter pt = g.legacyDomain(0x10, 2);
            for (int i = 0; i < 16; i++) pt.map(0x10_0000L * i, g.page(), PageTableWriter.SIZE_4K, true);
            final var ts = m.device().translation();
            final Translation out = new Translation();
            for (int i = 0; i < 50_000; i++) ts.translate(0x10, -1, 0x10_0000L * (i & 15), AccessType.READ, out);
            final com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
            final long tid = Thread.currentThread().threadId();
            boolean ok = true;
            long best = Long.MAX_VALUE;
            for (int round = 0; round < 10 && best >= 1024; round++) {   // best of rounds: a JIT or GC event can land in one round; an allocation per operation shows in every round
                final long b0 = mx.getThreadAllocatedBytes(tid);
                for (int i = 0; i < 10_000; i++) ok &= ts.translate(0x10, -1, 0x10_0000L * (i & 15) + 8, AccessType.READ, out);
                best = Math.min(best, mx.getThreadAllocatedBytes(tid) - b0);
            }
            final long before = 0, after = best;
            assertTrue(ok);
            assertTrue(after - before < 1024, "allocated " + (after - before) + " bytes over 10k hits");
        }
    }

    @Test
    void shouldFlushOnlyTheInvalidatedPasid() {
        final Iotlb tlb = new Iotlb(1 << 16, new CacheEpoch());
        for (int i = 0; i < 10_000; i++) tlb.insert(5, 1, 0x1000L * i, 0, 0x1000L * i, 0xF);
        tlb.insert(5, 2, 0, 0, 0, 0xF);
        final int before = tlb.size();
        tlb.invalidatePasid(5, 2);
        assertEquals(-1, tlb.lookup(5, 2, 0));
        assertEquals(before - 1, tlb.size());
        tlb.invalidateRange(5, 1, 0x5000, 0);
        assertEquals(-1, tlb.lookup(5, 1, 0x5000));
        tlb.invalidateRange(5, -1, 0x6000, 1);
        assertEquals(-1, tlb.lookup(5, 1, 0x6000));
        assertEquals(-1, tlb.lookup(5, 1, 0x7000));
        assertEquals(before - 4, tlb.size());
        assertTrue(tlb.lookup(5, 1, 0x8000) >= 0);
        tlb.invalidateDomain(5);
        assertEquals(0, tlb.size());
        assertEquals(-1, tlb.lookup(5, 1, 0x8000));
    }
}
