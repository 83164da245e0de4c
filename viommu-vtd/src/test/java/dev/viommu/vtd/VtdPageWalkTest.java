package dev.viommu.vtd;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.translate.AccessType;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.viommu.vtd.VtdFaultReasonTest.expectFault;
import static dev.viommu.vtd.VtdTestGuest.NO_PASID;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Page walks of every depth and leaf size: 3/4/5-level second stage, 4/5-level first stage, 2 MiB and 1 GiB leaves. */
class VtdPageWalkTest {
    static final int SID = 0x0020;
    static final int PASID = 0x22;
    static final long HIGH = 0x00F0_1234_5678_9000L;        // needs 5 levels (bit 55)

    static Map<String, Object> sm57() {
        return Map.of("x-scalable-mode", true, "x-flts", true, "x-pasid-mode", true, "aw-bits", 57);
    }

    static void expectOk(final DirectMachine m, final int pasid, final long iova, final long out, final long pageSize) {
        final GuestMachine.Translated t = m.translate(SID, pasid, iova, AccessType.READ);
        assertTrue(t.ok(), m.describe());
        assertEquals(out, t.outputAddress());
        assertEquals(pageSize, t.pageSize());
    }

    @Test
    void shouldWalkAFiveLevelLegacySecondStage() throws Exception {
        try (DirectMachine m = VtdTestGuest.machine(Map.of("aw-bits", 57))) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(false);
            assertEquals(0b1110L, (m.read64(VtdTestGuest.CAP) >>> 8) & 0x1F, "SAGAW 39, 48 and 57");
            final PageTableWriter pt = g.ss(5);
            g.legacyContext(SID, 4, pt.root(), 3, 0);                          // AW 011: 57-bit, 5-level
            final long page = g.page();
            pt.map(HIGH, page, PageTableWriter.SIZE_4K, true);
            expectOk(m, NO_PASID, HIGH + 0x10, page + 0x10, 4096);
            expectFault(g, SID, NO_PASID, 1L << 57, AccessType.READ, 0x04);
        }
    }

    @Test
    void shouldWalkAThreeLevelLegacySecondStageAndRejectWiderAddresses() throws Exception {
        try (DirectMachine m = VtdTestGuest.machine(Map.of())) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(false);
            final PageTableWriter pt = g.ss(3);
            g.legacyContext(SID, 4, pt.root(), 1, 0);                          // AW 001: 39-bit, 3-level
            final long page = g.page();
            pt.map(0x12_3456_7000L, page, PageTableWriter.SIZE_4K, false);
            expectOk(m, NO_PASID, 0x12_3456_7008L, page + 8, 4096);
            expectFault(g, SID, NO_PASID, 1L << 39, AccessType.READ, 0x04);
        }
    }

    @Test
    void shouldMapTwoMegabyteAndOneGigabyteSecondStageLeaves() throws Exception {
        try (DirectMachine m = VtdTestGuest.machine(Map.of())) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(false);
            final PageTableWriter pt = g.legacyDomain(SID, 4);
            pt.map(0x4000_0000L, 0x40_0000L, PageTableWriter.SIZE_2M, true);
            pt.map(0x80_0000_0000L, 0x0L, PageTableWriter.SIZE_1G, true);
            expectOk(m, NO_PASID, 0x4012_3456L, 0x52_3456L, PageTableWriter.SIZE_2M);
            expectOk(m, NO_PASID, 0x80_0321_0000L, 0x321_0000L, PageTableWriter.SIZE_1G);
            final long pde = pt.leafAddress(0x4000_0000L);
            g.w64(pde, g.r64(pde) | 1L << 20);                                  // a 2 MiB leaf's low address bits are reserved
            g.flushIotlb();
            expectFault(g, SID, NO_PASID, 0x4000_0000L, AccessType.READ, 0x0C);
        }
    }

    @Test
    void shouldWalkAFiveLevelFirstStage() throws Exception {
        try (DirectMachine m = VtdTestGuest.machine(sm57())) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(true);
            assertEquals(1L, (m.read64(VtdTestGuest.CAP) >>> 60) & 1, "CAP.FS5LP");
            final long dir = g.scalableContext(SID, VtdTestGuest.PASIDE | VtdTestGuest.PDTS_MAX);
            final PageTableWriter fs = g.fs(5);
            final long page = g.page();
            fs.map(HIGH, page, PageTableWriter.SIZE_4K, true);
            fs.map(0x0010_0000_4000_0000L, 0x4000_0000L, PageTableWriter.SIZE_1G, true);
            g.pasidFirstStage(dir, PASID, 5, fs);
            expectOk(m, PASID, HIGH + 0x20, page + 0x20, 4096);
            expectOk(m, PASID, 0x0010_0000_4567_8000L, 0x4567_8000L, PageTableWriter.SIZE_1G);
            expectFault(g, SID, PASID, 0x0100_0000_0000_0000L, AccessType.READ, 0x80);   // bit 56 set, 63:57 clear
            final GuestMachine.Translated neg = m.translate(SID, PASID, 0xFF00_0000_0000_0000L, AccessType.READ);
            assertEquals(0x71, neg.faultCode(), "canonical upper half: walked, not present");
            g.faults();
        }
    }

    @Test
    void shouldWalkAFiveLevelScalableSecondStage() throws Exception {
        try (DirectMachine m = VtdTestGuest.machine(sm57())) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(true);
            final long dir = g.scalableContext(SID, VtdTestGuest.PDTS_MAX);
            final PageTableWriter ss = g.ss(5);
            final long page = g.page();
            ss.map(HIGH, page, PageTableWriter.SIZE_4K, true);
            g.pasidSecondStage(dir, 0, 5, ss);
            expectOk(m, NO_PASID, HIGH + 0x30, page + 0x30, 4096);
            expectFault(g, SID, NO_PASID, 1L << 57, AccessType.READ, 0x83);
        }
    }

    @Test
    void shouldRejectAFourLevelFirstStageAddressAboveBit47() throws Exception {
        try (DirectMachine m = VtdTestGuest.machine(sm57())) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(true);
            final long dir = g.scalableContext(SID, VtdTestGuest.PASIDE | VtdTestGuest.PDTS_MAX);
            g.pasidFirstStage(dir, PASID, 5, g.fs(4));
            expectFault(g, SID, PASID, HIGH, AccessType.READ, 0x80);
        }
    }

    @Test
    void shouldHonourWriteProtectForSupervisorRequests() throws Exception {
        try (DirectMachine m = VtdTestGuest.machine(VtdTestGuest.scalableProps())) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(true);
            final long dir = g.scalableContext(SID, VtdTestGuest.PASIDE | VtdTestGuest.PDTS_MAX);
            final PageTableWriter fs = g.fs(4);
            fs.map(0x1000, g.page(), PageTableWriter.SIZE_4K, false);
            // SRE, WPE = 0: a supervisor write to a read-only page is allowed
            g.pasidEntry(dir, PASID, 1L << 6 | 1, 5, fs.root() | 1);
            assertTrue(m.translate(SID, PASID, 0x1000, AccessType.WRITE | AccessType.PRIV).ok(), m.describe());
            // WPE = 1: it is not
            g.pasidEntry(dir, PASID, 1L << 6 | 1, 5, fs.root() | 1 | 1L << 4);
            expectFault(g, SID, PASID, 0x1000, AccessType.WRITE | AccessType.PRIV, 0x85);
        }
    }
}
