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

/** Queued invalidation: every IQEI the unit reports, IQH held at the bad descriptor, resumption, wait interrupts. */
class VtdInvalidationQueueTest {
    static final int SID = 0x0030;

    static void expectIqe(final VtdTestGuest g, final int iqei, final long head) {
        final DirectMachine m = g.m;
        assertEquals(0x10, m.read32(VtdTestGuest.FSTS) & 0x10, "FSTS.IQE");
        assertEquals(iqei, m.read64(VtdTestGuest.IQERCD) & 0xF, "IQERCD.IQEI");
        assertEquals(head, m.read64(VtdTestGuest.IQH), "IQH stays at the bad descriptor");
        assertEquals(List.of(new GuestMachine.Interrupt.Msi(VtdTestGuest.FAULT_MSI_ADDR, VtdTestGuest.FAULT_MSI_DATA)),
                m.takeInterrupts(0), "fault event");
    }

    @Test
    void shouldStopAtAReservedBitAndResumeWhenIqeIsCleared() {
        try (DirectMachine m = VtdTestGuest.machine(Map.of())) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(false);
            m.takeInterrupts(0);
            final long head = m.read64(VtdTestGuest.IQH);
            g.qiRaw(0x1 | 1 << 4 | 1L << 7, 0);                                 // reserved bit 7
            expectIqe(g, 4, head);
            g.qiRaw(0x2 | 1 << 4, 0);                                           // queued behind the error
            assertEquals(head, m.read64(VtdTestGuest.IQH), "nothing is fetched while IQE is set");
            assertEquals(4, g.recoverFromIqe());
            assertEquals(0, m.read32(VtdTestGuest.FSTS));
            assertEquals(m.read64(VtdTestGuest.IQT), m.read64(VtdTestGuest.IQH), "resumed at IQH and drained");
            g.flushIotlb();
        }
    }

    @Test
    void shouldReportAnUnknownDescriptorType3() {
        try (DirectMachine m = VtdTestGuest.machine(Map.of())) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(false);
            m.takeInterrupts(0);
            final long head = m.read64(VtdTestGuest.IQH);
            g.qiRaw(0x1 | 1 << 9, 0);                                           // type 0x11
            expectIqe(g, 3, head);
        }
    }

    @Test
    void shouldReportATailBeyondTheQueue1() {
        try (DirectMachine m = VtdTestGuest.machine(Map.of())) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(false);
            m.takeInterrupts(0);
            final long head = m.read64(VtdTestGuest.IQH);
            m.write64(VtdTestGuest.IQT, 0x1000);                                // QS 0: one page
            expectIqe(g, 1, head);
        }
    }

    @Test
    void shouldReportADescriptorFetchError2() {
        try (DirectMachine m = VtdTestGuest.machine(Map.of())) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(false);
            m.takeInterrupts(0);
            m.write32(VtdTestGuest.GCMD, VtdTestGuest.TE | VtdTestGuest.SRTP);  // QIE off
            m.write64(VtdTestGuest.IQA, 0x7_0000_0000L);
            m.write32(VtdTestGuest.GCMD, VtdTestGuest.TE | VtdTestGuest.QIE);
            m.write64(VtdTestGuest.IQT, 0x10);
            expectIqe(g, 2, 0);
        }
    }

    @Test
    void shouldReportAnUnwritableWaitStatusAddress2() {
        try (DirectMachine m = VtdTestGuest.machine(Map.of())) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(false);
            m.takeInterrupts(0);
            final long head = m.read64(VtdTestGuest.IQH);
            g.qiRaw(0x5 | 1 << 5 | 2L << 32, 0x7_0000_0000L);
            expectIqe(g, 2, head);
        }
    }

    @Test
    void shouldRequireWideDescriptorsInScalableMode5AndAlignedTails6() {
        try (DirectMachine m = VtdTestGuest.machine(VtdTestGuest.scalableProps())) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(true);
            m.takeInterrupts(0);
            final long head = m.read64(VtdTestGuest.IQH);
            m.write64(VtdTestGuest.IQT, head + 0x10);                           // half a 256-bit descriptor
            expectIqe(g, 6, head);
            m.write64(VtdTestGuest.IQT, head);
            m.write32(VtdTestGuest.FSTS, 0x10);
            m.write32(VtdTestGuest.GCMD, VtdTestGuest.TE | VtdTestGuest.SRTP);  // QIE off: IQH → 0
            m.write64(VtdTestGuest.IQA, m.read64(VtdTestGuest.IQA) & ~(1L << 11));   // DW = 0 in scalable mode
            m.write32(VtdTestGuest.GCMD, VtdTestGuest.TE | VtdTestGuest.QIE);
            m.write64(VtdTestGuest.IQT, 0x10);
            expectIqe(g, 5, 0);
        }
    }

    @Test
    void shouldRejectReservedBitsInTheUpperHalfOfAWideDescriptor() {
        try (DirectMachine m = VtdTestGuest.machine(VtdTestGuest.scalableProps())) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(true);
            m.takeInterrupts(0);
            final long head = m.read64(VtdTestGuest.IQH);
            g.qiRawWide(0x2 | 1 << 4, 0, 1, 0);                                 // QW2 is reserved for type 2
            expectIqe(g, 4, head);
        }
    }

    @Test
    void shouldRaiseTheInvalidationEventForAWaitWithIf() {
        try (DirectMachine m = VtdTestGuest.machine(Map.of())) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(false);
            m.write32(VtdTestGuest.IEDATA, 0x51);
            m.write32(VtdTestGuest.IEADDR, 0xFEE0_4000);
            m.write32(VtdTestGuest.IECTL, 0);
            m.takeInterrupts(0);
            g.qiRaw(0x5 | 1 << 4, 0);                                           // IF
            assertEquals(1, m.read32(VtdTestGuest.ICS), "ICS.IWC");
            assertEquals(List.of(new GuestMachine.Interrupt.Msi(0xFEE0_4000L, 0x51)), m.takeInterrupts(0));
            g.qiRaw(0x5 | 1 << 4, 0);
            assertTrue(m.takeInterrupts(0).isEmpty(), "no new event while IWC is still set");
            m.write32(VtdTestGuest.ICS, 1);
            assertEquals(0, m.read32(VtdTestGuest.ICS));
        }
    }

    @Test
    void shouldInvalidateByDomainPasidAndPageAtEachGranularity() throws Exception {
        try (DirectMachine m = VtdTestGuest.machine(VtdTestGuest.scalableProps())) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(true);
            final long dir = g.scalableContext(SID, VtdTestGuest.PASIDE | VtdTestGuest.PDTS_MAX);
            final PageTableWriter fs = g.fs(4);
            for (int i = 0; i < 4; i++) fs.map(0x10_0000L * (i + 1), g.page(), PageTableWriter.SIZE_4K, true);
            g.pasidFirstStage(dir, 1, 7, fs);
            g.pasidFirstStage(dir, 2, 7, fs);
            final Runnable warm = () -> {
                for (int p = 1; p <= 2; p++) for (int i = 0; i < 4; i++) assertTrue(m.translate(SID, p, 0x10_0000L * (i + 1), AccessType.READ).ok());
            };
            warm.run();
            final Iotlb tlb = g.device().translator().iotlb;
            assertEquals(8, tlb.size());
            for (int i = 0; i < 4; i++) fs.unmap(0x10_0000L * (i + 1));
            g.qi(0x6 | 3 << 4 | 7L << 16 | 1L << 32, 0x10_0000L);              // page-selective, PASID 1
            assertEquals(7, tlb.size());
            g.qi(0x6 | 2 << 4 | 7L << 16 | 2L << 32, 0);                        // all of PASID 2
            assertEquals(3, tlb.size());
            g.qi(0x2 | 2 << 4 | 7L << 16, 0);                                   // domain 7
            assertEquals(0, tlb.size());
            assertFalse(m.translate(SID, 1, 0x20_0000L, AccessType.READ).ok());
            g.faults();
        }
    }
    @Test
    void shouldMaskTheLowAddressBitsOfAPageSelectiveFlushInsteadOfRaisingIqe() throws Exception {
        try (DirectMachine m = VtdTestGuest.machine(VtdTestGuest.scalableProps())) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(true);
            final long dir = g.scalableContext(SID, VtdTestGuest.PASIDE | VtdTestGuest.PDTS_MAX);
            final PageTableWriter fs = g.fs(4);
            for (int i = 0; i < 4; i++) fs.map(0x10_0000L + 0x1000L * i, g.page(), PageTableWriter.SIZE_4K, true);
            g.pasidFirstStage(dir, 1, 7, fs);
            for (int i = 0; i < 4; i++) assertTrue(m.translate(SID, 1, 0x10_0000L + 0x1000L * i, AccessType.READ).ok());
            final Iotlb tlb = g.device().translator().iotlb;
            assertEquals(4, tlb.size());
            // AM = 1 (8 KiB) with ADDR 0x10_1000: IVA_REG.AM says the low-order ADDR bits "must be masked", so this
            // flushes [0x10_0000, 0x10_2000) and completes (qi() fails on IQE)
            g.qi(0x6 | 3 << 4 | 7L << 16 | 1L << 32, 0x10_1000L | 1);
            assertEquals(2, tlb.size());
            g.qi(0x6 | 3 << 4 | 7L << 16 | 1L << 32, 0x10_3000L | 1);           // 0x10_2000, 8 KiB
            assertEquals(0, tlb.size());
            assertEquals(0, m.read32(VtdTestGuest.FSTS) & 0x10, "no IQE");
        }
        try (DirectMachine m = VtdTestGuest.machine(java.util.Map.of())) {               // type 2, legacy mode
            final VtdTestGuest g = new VtdTestGuest(m).boot(false);
            final PageTableWriter ss = g.legacyDomain(SID, 3);
            for (int i = 0; i < 4; i++) ss.map(0x10_0000L + 0x1000L * i, g.page(), PageTableWriter.SIZE_4K, true);
            for (int i = 0; i < 4; i++) assertTrue(m.translate(SID, VtdTestGuest.NO_PASID, 0x10_0000L + 0x1000L * i, AccessType.READ).ok());
            final Iotlb tlb = g.device().translator().iotlb;
            assertEquals(4, tlb.size());
            g.qi(0x2 | 3 << 4 | 3L << 16, 0x10_3000L | 2);                      // AM 2: all four pages from 0x10_0000
            assertEquals(0, tlb.size());
        }
    }
}
