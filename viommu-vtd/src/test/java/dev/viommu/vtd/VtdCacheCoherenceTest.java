package dev.viommu.vtd;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.translate.AccessType;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.viommu.vtd.VtdFaultReasonTest.expectFault;
import static dev.viommu.vtd.VtdTestGuest.NO_PASID;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Cached translations (the L0 {@link MicroTlb} in front of the IOTLB, the IOTLB, the context and PASID caches)
 * stay until the guest invalidates, and never survive an invalidation that covers them.
 */
class VtdCacheCoherenceTest {
    static final int SID = 0x0040;
    static final long IOVA = 0x6000_0000L;

    @Test
    void shouldFaultASupervisorRequestAfterAUserHitWhenSreIsClear() throws Exception {
        try (DirectMachine m = VtdTestGuest.machine(VtdTestGuest.scalableProps())) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(true);
            final long dir = g.scalableContext(SID, VtdTestGuest.PASIDE | VtdTestGuest.PDTS_MAX);
            final PageTableWriter fs = g.fs(4);
            fs.map(IOVA, g.page(), PageTableWriter.SIZE_4K, true);
            g.pasidFirstStage(dir, 3, 4, fs);
            for (int i = 0; i < 3; i++) assertTrue(m.translate(SID, 3, IOVA, AccessType.WRITE).ok());
            expectFault(g, SID, 3, IOVA, AccessType.READ | AccessType.PRIV, 0x5D);
        }
    }

    @Test
    void shouldUseTheNewDomainAfterAContextCacheInvalidation() throws Exception {
        try (DirectMachine m = VtdTestGuest.machine(Map.of())) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(false);
            final long a = g.page(), b = g.page();
            final PageTableWriter one = g.legacyDomain(SID, 5);
            one.map(IOVA, a, PageTableWriter.SIZE_4K, true);
            for (int i = 0; i < 3; i++) assertEquals(a, m.translate(SID, NO_PASID, IOVA, AccessType.READ).outputAddress());
            final PageTableWriter two = g.ss(4);
            two.map(IOVA, b, PageTableWriter.SIZE_4K, true);
            final long ce = g.contextEntry(SID);
            g.w64(ce + 8, 2 | 6L << 8);
            g.w64(ce, two.root() | 1);
            assertEquals(a, m.translate(SID, NO_PASID, IOVA, AccessType.READ).outputAddress(), "cached until invalidated");
            g.qi(0x1 | 3 << 4 | (long) SID << 32, 0);                           // device-selective context flush only
            assertEquals(b, m.translate(SID, NO_PASID, IOVA, AccessType.READ).outputAddress(), "domain 6's tables");
        }
    }

    @Test
    void shouldNotServeAnEvictedEntryAfterItsPageWasInvalidated() throws Exception {
        try (DirectMachine m = VtdTestGuest.machine(Map.of("x-iotlb-size", 64))) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(false);
            final PageTableWriter pt = g.legacyDomain(SID, 5);
            for (int i = 0; i < 200; i++) pt.map(IOVA + 4096L * i, g.page(), PageTableWriter.SIZE_4K, true);
            assertTrue(m.translate(SID, NO_PASID, IOVA, AccessType.READ).ok());
            for (int i = 1; i < 200; i++) assertTrue(m.translate(SID, NO_PASID, IOVA + 4096L * i, AccessType.READ).ok());
            assertEquals(64, g.device().translator().iotlb.size(), "the first page was evicted from the IOTLB");
            pt.unmap(IOVA);
            g.qi(0x2 | 3 << 4 | 5L << 16, IOVA);                                // PSI for a page the IOTLB no longer holds
            expectFault(g, SID, NO_PASID, IOVA, AccessType.READ, 0x06);
        }
    }

    @Test
    void shouldKeepServingAStaleTranslationUntilTheGuestInvalidates() throws Exception {
        try (DirectMachine m = VtdTestGuest.machine(Map.of())) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(false);
            final PageTableWriter pt = g.legacyDomain(SID, 5);
            final long page = g.page();
            pt.map(IOVA, page, PageTableWriter.SIZE_4K, false);
            assertTrue(m.translate(SID, NO_PASID, IOVA, AccessType.READ).ok());
            pt.map(IOVA, page, PageTableWriter.SIZE_4K, true);                   // widened: the next miss sees it
            assertTrue(m.translate(SID, NO_PASID, IOVA, AccessType.WRITE).ok(), "a write is re-walked (the cached entry lacks W)");
            assertTrue(m.translate(SID, NO_PASID, IOVA, AccessType.WRITE).ok());
            assertTrue(g.faults().isEmpty());
            pt.unmap(IOVA);
            assertTrue(m.translate(SID, NO_PASID, IOVA, AccessType.WRITE).ok(), "stale until invalidated");
            g.qi(0x2 | 2 << 4 | 5L << 16, 0);                                   // domain-selective
            expectFault(g, SID, NO_PASID, IOVA, AccessType.WRITE, 0x05);
        }
    }
}
