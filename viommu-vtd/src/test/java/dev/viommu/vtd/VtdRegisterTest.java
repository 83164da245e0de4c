package dev.viommu.vtd;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.translate.AccessType;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.viommu.vtd.VtdTestGuest.NO_PASID;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Register semantics: access sizes, 64-bit registers as 32-bit halves, handshakes and register-based invalidation. */
class VtdRegisterTest {
    static final int SID = 0x0008;

    static int lo(final long v) { return (int) v; }

    static int hi(final long v) { return (int) (v >>> 32); }

    @Test
    void shouldReadCapAndEcapAsTwoHalvesAndAsBytes() {
        try (DirectMachine m = VtdTestGuest.machine(VtdTestGuest.scalableProps())) {
            for (int reg : new int[] {VtdTestGuest.CAP, VtdTestGuest.ECAP}) {
                final long whole = m.read64(reg);
                assertTrue(whole != 0);
                assertEquals(lo(whole), m.read32(reg));
                assertEquals(hi(whole), m.read32(reg + 4));
                for (int b = 0; b < 8; b++) assertEquals((whole >>> (8 * b)) & 0xFF, m.mmioRead(0, reg + b, 1));
                assertEquals((whole >>> 16) & 0xFFFF, m.mmioRead(0, reg + 2, 2));
            }
            assertEquals(0x30, m.mmioRead(0, VtdTestGuest.VER, 1));
        }
    }

    @Test
    void shouldIgnoreWritesToReadOnlyRegisters() {
        try (DirectMachine m = VtdTestGuest.machine(Map.of())) {
            final long cap = m.read64(VtdTestGuest.CAP);
            m.write64(VtdTestGuest.CAP, ~0L);
            m.write32(VtdTestGuest.CAP + 4, -1);
            assertEquals(cap, m.read64(VtdTestGuest.CAP));
            m.write32(VtdTestGuest.GSTS, -1);
            assertEquals(0, m.read32(VtdTestGuest.GSTS));
        }
    }

    /** A guest that only does 32-bit MMIO (as a 32-bit kernel's dmar_writeq does: low half, then high half). */
    @Test
    void shouldBootAndTranslateWithOnlyThirtyTwoBitAccesses() throws Exception {
        try (DirectMachine m = VtdTestGuest.machine(Map.of())) {
            final VtdTestGuest g = new VtdTestGuest(m);
            final long iq = g.page(), status = g.page(), root = 0x0012_3000L | 0x1_0000_0000L;
            // IQA as two halves
            m.write32(VtdTestGuest.IQT, 0);
            m.write32(VtdTestGuest.IQT + 4, 0);
            m.write32(VtdTestGuest.IQA, lo(iq));
            m.write32(VtdTestGuest.IQA + 4, hi(iq));
            assertEquals(iq, m.read64(VtdTestGuest.IQA));
            m.write32(VtdTestGuest.GCMD, VtdTestGuest.QIE);
            assertEquals(VtdTestGuest.QIE, m.read32(VtdTestGuest.GSTS));
            // RTADDR as two halves: the high half holds (and reads back) separately
            m.write32(VtdTestGuest.RTADDR, lo(root));
            m.write32(VtdTestGuest.RTADDR + 4, hi(root));
            assertEquals(root, m.read64(VtdTestGuest.RTADDR));
            final long realRoot = g.page();
            m.write32(VtdTestGuest.RTADDR + 4, 0);
            m.write32(VtdTestGuest.RTADDR, lo(realRoot));
            assertEquals(realRoot, m.read64(VtdTestGuest.RTADDR));
            m.write32(VtdTestGuest.GCMD, VtdTestGuest.QIE | VtdTestGuest.SRTP);
            assertEquals(VtdTestGuest.QIE | VtdTestGuest.SRTP, m.read32(VtdTestGuest.GSTS));
            // a legacy context and one page
            final PageTableWriter pt = g.ss(4);
            final long page = g.page();
            pt.map(0x5000, page, PageTableWriter.SIZE_4K, true);
            final long ctx = g.page();
            g.w64(realRoot, ctx | 1);
            g.w64(ctx + SID * 16L + 8, 2 | 7 << 8);
            g.w64(ctx + SID * 16L, pt.root() | 1);
            // a global context flush and a wait, kicked by a 32-bit write of IQT's low half
            g.w64(iq, 0x1 | 1 << 4);
            g.w64(iq + 16, 0x5 | 1 << 5 | 2L << 32);
            g.w64(iq + 24, status);
            m.write32(VtdTestGuest.IQT, 32);
            assertEquals(2, g.mem.read32(status));
            assertEquals(32, m.read32(VtdTestGuest.IQH));
            assertEquals(0, m.read32(VtdTestGuest.IQH + 4));
            m.write32(VtdTestGuest.GCMD, VtdTestGuest.QIE | VtdTestGuest.TE);
            final GuestMachine.Translated t = m.translate(SID, NO_PASID, 0x5678, AccessType.WRITE);
            assertTrue(t.ok(), m.describe());
            assertEquals(page + 0x678, t.outputAddress());
        }
    }

    @Test
    void shouldReadFaultRecordsAsHalvesAndClearFWithA32BitWriteToTheTopDword() {
        try (DirectMachine m = VtdTestGuest.machine(Map.of())) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(false);
            g.legacyDomain(SID, 2);
            m.translate(SID, NO_PASID, 0x9000, AccessType.WRITE);
            final long lo = m.read64(VtdTestGuest.FRCD), hi = m.read64(VtdTestGuest.FRCD + 8);
            assertEquals(0x9000L, lo);
            assertEquals(lo(hi), m.read32(VtdTestGuest.FRCD + 8));
            assertEquals(hi(hi), m.read32(VtdTestGuest.FRCD + 12));
            assertEquals(0x80, hi >>> 56 & 0xC0, "F set, T1 = 0 (write)");
            assertEquals(0x05, (hi >>> 32) & 0xFF, "a write to a non-present page: write fault, as QEMU");
            m.write32(VtdTestGuest.FRCD + 8, -1);                               // the low dword holds no F: no effect
            assertEquals(2, m.read32(VtdTestGuest.FSTS) & 2);
            m.write32(VtdTestGuest.FRCD + 12, 0x8000_0000);
            assertEquals(0, m.read32(VtdTestGuest.FSTS) & 2, "PPF follows F");
            assertEquals(0, m.read64(VtdTestGuest.FRCD + 8) >>> 63);
        }
    }

    @Test
    void shouldReportDomainGranularityWhenAMidSizedPsiIsDoneDomainWide() throws Exception {
        try (DirectMachine m = VtdTestGuest.machine(Map.of())) {              // 64 Ki entries: AM 11..13 bump the DID
            final VtdTestGuest g = new VtdTestGuest(m).boot(false);
            final PageTableWriter pt = g.legacyDomain(SID, 5);
            pt.map(0x4000_0000L, g.page(), PageTableWriter.SIZE_4K, true);
            assertTrue(m.translate(SID, NO_PASID, 0x4000_0000L, AccessType.READ).ok());
            pt.unmap(0x4000_0000L);
            m.write64(VtdTestGuest.IVA, 12);                                    // 16 MiB at 0: does not cover the page
            m.write64(VtdTestGuest.IOTLB, 1L << 63 | 3L << 60 | 5L << 32);
            assertEquals(2, (m.read64(VtdTestGuest.IOTLB) >>> 57) & 3, "IAIG: done domain-selective");
            assertFalse(m.translate(SID, NO_PASID, 0x4000_0000L, AccessType.READ).ok(), "over-invalidated, re-walked");
            g.faults();
            m.write64(VtdTestGuest.IVA, 0x4000_0000L | 3);                      // a small PSI stays page-selective
            m.write64(VtdTestGuest.IOTLB, 1L << 63 | 3L << 60 | 5L << 32);
            assertEquals(3, (m.read64(VtdTestGuest.IOTLB) >>> 57) & 3, "IAIG: page-selective");
        }
    }

    @Test
    void shouldIgnoreAPageSelectiveFlushWithAnAddressMaskAboveMamvAndReportIaigZero() throws Exception {
        try (DirectMachine m = VtdTestGuest.machine(Map.of())) {              // Intel IOTLB_REG.IAIG 00; QEMU vtd_iotlb_flush
            final VtdTestGuest g = new VtdTestGuest(m).boot(false);
            final PageTableWriter pt = g.legacyDomain(SID, 5);
            pt.map(0x20_0000, g.page(), PageTableWriter.SIZE_4K, true);
            assertTrue(m.translate(SID, NO_PASID, 0x20_0000, AccessType.READ).ok());
            pt.unmap(0x20_0000);
            m.takeInvalidations();
            m.write64(VtdTestGuest.IVA, VtdConfig.MAMV + 1);                    // AM 19 > MAMV 18
            m.write64(VtdTestGuest.IOTLB, 1L << 63 | 3L << 60 | 5L << 32);
            final long iotlb = m.read64(VtdTestGuest.IOTLB);
            assertEquals(0, iotlb >>> 63, "IVT clears");
            assertEquals(0, (iotlb >>> 57) & 3, "IAIG 0: request ignored");
            assertTrue(m.takeInvalidations().isEmpty());
            assertTrue(m.translate(SID, NO_PASID, 0x20_0000, AccessType.READ).ok(), "nothing was invalidated");
        }
    }

    @Test
    void shouldInvalidateThroughTheContextCommandAndIotlbRegisters() throws Exception {
        try (DirectMachine m = VtdTestGuest.machine(Map.of())) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(false);
            final PageTableWriter pt = g.legacyDomain(SID, 5);
            pt.map(0x20_0000, g.page(), PageTableWriter.SIZE_4K, true);
            assertTrue(m.translate(SID, NO_PASID, 0x20_0000, AccessType.READ).ok());
            pt.unmap(0x20_0000);
            assertTrue(m.translate(SID, NO_PASID, 0x20_0000, AccessType.READ).ok(), "cached until invalidated");
            m.takeInvalidations();
            // page-selective through IVA + IOTLB (IIRG 11), written as halves
            m.write64(VtdTestGuest.IVA, 0x20_0000);
            m.write32(VtdTestGuest.IOTLB, 0);
            m.write32(VtdTestGuest.IOTLB + 4, (int) (1L << 31 | 3L << 28 | 5));
            final long iotlb = m.read64(VtdTestGuest.IOTLB);
            assertEquals(0, iotlb >>> 63, "IVT clears when done");
            assertEquals(3, (iotlb >>> 57) & 3, "IAIG: page-selective");
            assertEquals(List.of(new GuestMachine.Invalidation(-1, -2, 0x20_0000, 4096)), m.takeInvalidations());
            assertFalse(m.translate(SID, NO_PASID, 0x20_0000, AccessType.READ).ok());
            g.faults();
            // a misaligned PSI: the AM low-order address bits are masked (IVA_REG.AM), so 0x20_1000 | AM 1 flushes 8 KiB at 0x20_0000
            m.write64(VtdTestGuest.IVA, 0x20_1000 | 1);
            m.write64(VtdTestGuest.IOTLB, 1L << 63 | 3L << 60 | 5L << 32);
            assertEquals(3, (m.read64(VtdTestGuest.IOTLB) >>> 57) & 3, "IAIG: still page-selective");
            assertEquals(List.of(new GuestMachine.Invalidation(-1, -2, 0x20_0000, 8192)), m.takeInvalidations());
            // context command: device-selective, then global
            final long ccmd = 1L << 63 | 3L << 61 | (long) SID << 16 | 5;
            m.write64(VtdTestGuest.CCMD, ccmd);
            assertEquals(0, m.read64(VtdTestGuest.CCMD) >>> 63);
            assertEquals(3, (m.read64(VtdTestGuest.CCMD) >>> 59) & 3, "CAIG: device-selective");
            m.write32(VtdTestGuest.CCMD + 4, (int) (1L << 31 | 1L << 29));
            assertEquals(1, (m.read64(VtdTestGuest.CCMD) >>> 59) & 3, "CAIG: global");
        }
    }

    @Test
    void shouldTrackPersistentGcmdBitsInGsts() {
        try (DirectMachine m = VtdTestGuest.machine(Map.of())) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(false);
            final int sts = m.read32(VtdTestGuest.GSTS);
            assertEquals(VtdTestGuest.TE | VtdTestGuest.QIE | VtdTestGuest.SRTP, sts);
            m.write32(VtdTestGuest.GCMD, sts & ~VtdTestGuest.TE & ~VtdTestGuest.SRTP);   // Linux: clear only TE
            assertEquals(VtdTestGuest.QIE | VtdTestGuest.SRTP, m.read32(VtdTestGuest.GSTS));
            assertTrue(m.translate(SID, NO_PASID, 0x1234, AccessType.READ).ok(), "TE = 0: untranslated");
            assertEquals(0x1234, m.translate(SID, NO_PASID, 0x1234, AccessType.READ).outputAddress());
            assertEquals(0, g.faults().size());
        }
    }
}
