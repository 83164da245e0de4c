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

/**
 * Legacy-mode and interrupt-remapping fault reasons, each triggered by a guest and seen the way Linux sees it:
 * the translation fails with the code, the fault-event MSI arrives, and the fault record holds it.
 */
class VtdFaultReasonTest {
    static final int SID = 0x0010;
    static final long IOVA = 0x4000_0000L;

    /** Fails the request and checks the code, the MSI, and the one fault record the guest reads and clears. */
    static VtdTestGuest.Fault expectFault(final VtdTestGuest g, final int sid, final int pasid, final long iova,
                                          final int access, final int reason) {
        g.m.takeInterrupts(0);
        final GuestMachine.Translated t = g.m.translate(sid, pasid, iova, access);
        assertFalse(t.ok(), g.m.describe());
        assertEquals(reason, t.faultCode(), g.m.describe());
        assertEquals(List.of(new GuestMachine.Interrupt.Msi(VtdTestGuest.FAULT_MSI_ADDR, VtdTestGuest.FAULT_MSI_DATA)),
                g.m.takeInterrupts(0), "fault event");
        final List<VtdTestGuest.Fault> f = g.faults();
        assertEquals(1, f.size(), g.m.describe());
        assertEquals(reason, f.get(0).reason());
        assertEquals(sid, f.get(0).sid());
        assertEquals(pasid != NO_PASID, f.get(0).pasidPresent());
        if (pasid != NO_PASID) assertEquals(pasid, f.get(0).pasid());
        assertEquals(0, g.m.read32(VtdTestGuest.FSTS) & 3, "records cleared");
        return f.get(0);
    }

    /** A booted legacy guest with SID's domain mapping one read-only page at IOVA. */
    static VtdTestGuest legacy(final DirectMachine m, final PageTableWriter[] out) throws Exception {
        final VtdTestGuest g = new VtdTestGuest(m).boot(false);
        final PageTableWriter pt = g.legacyDomain(SID, 2);
        pt.map(IOVA, g.page(), PageTableWriter.SIZE_4K, false);
        if (out != null) out[0] = pt;
        return g;
    }

    static DirectMachine machine() { return VtdTestGuest.machine(Map.of()); }

    @Test
    void shouldReportRootNotPresent0x01() throws Exception {
        try (DirectMachine m = machine()) {
            expectFault(legacy(m, null), 0x0310, NO_PASID, IOVA, AccessType.READ, 0x01);
        }
    }

    @Test
    void shouldReportContextNotPresent0x02() throws Exception {
        try (DirectMachine m = machine()) {
            expectFault(legacy(m, null), SID + 1, NO_PASID, IOVA, AccessType.READ, 0x02);
        }
    }

    @Test
    void shouldReportInvalidContextForAwOutsideSagaw0x03() throws Exception {
        try (DirectMachine m = VtdTestGuest.machine(Map.of("aw-bits", 39))) {
            expectFault(legacy(m, null), SID, NO_PASID, IOVA, AccessType.READ, 0x03);   // AW = 2 (48-bit)
        }
    }

    @Test
    void shouldReportInvalidContextForReservedTranslationType0x03() throws Exception {
        try (DirectMachine m = machine()) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(false);
            g.legacyContext(SID, 2, g.ss(4).root(), 2, 3);
            expectFault(g, SID, NO_PASID, IOVA, AccessType.READ, 0x03);
            g.legacyContext(SID, 2, g.ss(4).root(), 2, 1);                  // TT 01 needs device-iotlb
            expectFault(g, SID, NO_PASID, IOVA, AccessType.READ, 0x03);
        }
    }

    @Test
    void shouldReportAddressBeyondMgaw0x04() throws Exception {
        try (DirectMachine m = machine()) {
            expectFault(legacy(m, null), SID, NO_PASID, 1L << 50, AccessType.READ, 0x04);
        }
    }

    @Test
    void shouldReportWriteToReadOnlyPage0x05AndReadOfUnmapped0x06() throws Exception {
        try (DirectMachine m = machine()) {
            final VtdTestGuest g = legacy(m, null);
            assertFalse(expectFault(g, SID, NO_PASID, IOVA, AccessType.WRITE, 0x05).read());
            assertTrue(expectFault(g, SID, NO_PASID, IOVA + 0x1000, AccessType.READ, 0x06).read());
        }
    }

    @Test
    void shouldReportPagingEntryFetchError0x07() throws Exception {
        try (DirectMachine m = machine()) {
            final PageTableWriter[] pt = new PageTableWriter[1];
            final VtdTestGuest g = legacy(m, pt);
            g.w64(pt[0].root(), 0x7_0000_0000L | 3);                         // PML4E points outside RAM
            expectFault(g, SID, NO_PASID, IOVA, AccessType.READ, 0x07);
        }
    }

    @Test
    void shouldReportRootTableAddressError0x08() throws Exception {
        try (DirectMachine m = machine()) {
            final VtdTestGuest g = legacy(m, null);
            m.write64(VtdTestGuest.RTADDR, 0x7_0000_0000L);
            g.command(VtdTestGuest.SRTP);
            expectFault(g, SID, NO_PASID, IOVA, AccessType.READ, 0x08);
        }
    }

    @Test
    void shouldReportContextTableAddressError0x09AndRootReserved0x0A() throws Exception {
        try (DirectMachine m = machine()) {
            final VtdTestGuest g = legacy(m, null);
            g.w64(g.rootEntry(SID), 0x7_0000_0000L | 1);
            g.flushContext();
            expectFault(g, SID, NO_PASID, IOVA, AccessType.READ, 0x09);
            g.w64(g.rootEntry(SID) + 8, 1);                                   // QW1 is reserved in legacy mode
            g.flushContext();
            expectFault(g, SID, NO_PASID, IOVA, AccessType.READ, 0x0A);
        }
    }

    @Test
    void shouldReportContextReserved0x0B() throws Exception {
        try (DirectMachine m = machine()) {
            final VtdTestGuest g = legacy(m, null);
            final long ce = g.contextEntry(SID);
            g.w64(ce + 8, g.r64(ce + 8) | 1L << 40);
            g.flushContext();
            expectFault(g, SID, NO_PASID, IOVA, AccessType.READ, 0x0B);
        }
    }

    @Test
    void shouldReportPagingEntryReserved0x0C() throws Exception {
        try (DirectMachine m = machine()) {
            final PageTableWriter[] pt = new PageTableWriter[1];
            final VtdTestGuest g = legacy(m, pt);
            final long leaf = pt[0].leafAddress(IOVA);
            g.w64(leaf, g.r64(leaf) | 1L << 62);
            expectFault(g, SID, NO_PASID, IOVA, AccessType.READ, 0x0C);
        }
    }

    @Test
    void shouldReportInterruptRangeOutput0x0E() throws Exception {
        try (DirectMachine m = machine()) {
            final PageTableWriter[] pt = new PageTableWriter[1];
            final VtdTestGuest g = legacy(m, pt);
            pt[0].map(IOVA + 0x1000, 0xFEE0_0000L, PageTableWriter.SIZE_4K, true);
            expectFault(g, SID, NO_PASID, IOVA + 0x1000, AccessType.WRITE, 0x0E);
        }
    }

    @Test
    void shouldReportInvalidRootTableTypeForScalableTtmOnALegacyUnit0x30() throws Exception {
        try (DirectMachine m = machine()) {
            final VtdTestGuest g = legacy(m, null);
            m.write64(VtdTestGuest.RTADDR, g.root | 1L << 10);              // TTM = 01 without ECAP.SMTS
            g.command(VtdTestGuest.SRTP);
            expectFault(g, SID, NO_PASID, IOVA, AccessType.READ, 0x30);
        }
    }

    @Test
    void shouldReportInvalidRootTableTypeForReservedTtm0x30() throws Exception {
        try (DirectMachine m = VtdTestGuest.machine(VtdTestGuest.scalableProps())) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(true);
            m.write64(VtdTestGuest.RTADDR, g.root | 2L << 10);              // TTM = 10 is reserved
            g.command(VtdTestGuest.SRTP);
            expectFault(g, SID, NO_PASID, IOVA, AccessType.READ, 0x30);
        }
    }

    @Test
    void shouldReportPasidRequestInLegacyMode0x31() throws Exception {
        try (DirectMachine m = machine()) {
            expectFault(legacy(m, null), SID, 5, IOVA, AccessType.READ, 0x31);
        }
    }

    @Test
    void shouldReportPageRequestInLegacyModeAndAnswerInvalidRequest0x32() throws Exception {
        try (DirectMachine m = VtdTestGuest.machine(Map.of("x-scalable-mode", true, "x-flts", true, "x-pasid-mode", true,
                "device-iotlb", true, "svm", true))) {
            final VtdTestGuest g = legacy(m, null);                           // a scalable-capable unit run in legacy mode
            m.takeInterrupts(0);
            assertFalse(m.pageRequest(SID, 3, 0x5000, AccessType.READ, true, 4));
            assertEquals(List.of(new GuestMachine.PageResponse(SID, 3, 4, 1)), m.takePageResponses());
            final List<VtdTestGuest.Fault> f = g.faults();
            assertEquals(1, f.size());
            assertEquals(0x32, f.get(0).reason());
            assertEquals(3, f.get(0).pasid());
            assertEquals(0x5000, f.get(0).address());
        }
    }

    @Test
    void shouldSuppressQualifiedFaultsWhenFpdIsSet() throws Exception {
        try (DirectMachine m = machine()) {
            final VtdTestGuest g = legacy(m, null);
            final long ce = g.contextEntry(SID);
            g.w64(ce, g.r64(ce) | 2);                                          // FPD
            g.flushContext();
            m.takeInterrupts(0);
            assertEquals(0x06, m.translate(SID, NO_PASID, IOVA + 0x1000, AccessType.READ).faultCode());
            assertTrue(g.faults().isEmpty());
            assertTrue(m.takeInterrupts(0).isEmpty());
            g.w64(ce + 8, g.r64(ce + 8) | 1L << 40);                           // a malformed entry is non-qualified
            g.flushContext();
            expectFault(g, SID, NO_PASID, IOVA, AccessType.READ, 0x0B);
        }
    }

    @Test
    void shouldLetFpdSuppressAnInvalidContextEntry0x03() throws Exception {
        try (DirectMachine m = machine()) {                                   // QEMU vtd_qualified_faults: 0x03 qualified
            final VtdTestGuest g = new VtdTestGuest(m).boot(false);
            g.legacyContext(SID, 2, g.ss(4).root(), 2, 3);                   // TT 11 is reserved
            final long ce = g.contextEntry(SID);
            g.w64(ce, g.r64(ce) | 2);                                          // FPD
            g.flushContext();
            m.takeInterrupts(0);
            assertEquals(0x03, m.translate(SID, NO_PASID, IOVA, AccessType.READ).faultCode());
            assertTrue(g.faults().isEmpty());
            assertTrue(m.takeInterrupts(0).isEmpty());
            g.w64(ce, g.r64(ce) & ~2L);
            g.flushContext();
            expectFault(g, SID, NO_PASID, IOVA, AccessType.READ, 0x03);
        }
    }

    @Test
    void shouldSetPfoWhenAllRecordsAreFull() throws Exception {
        try (DirectMachine m = VtdTestGuest.machine(Map.of("nfr", 2))) {
            final VtdTestGuest g = legacy(m, null);
            m.takeInterrupts(0);
            for (int i = 0; i < 3; i++) m.translate(SID, NO_PASID, IOVA + 0x1000L * (i + 1), AccessType.READ);
            assertEquals(1, m.read32(VtdTestGuest.FSTS) & 1, "PFO");
            // one event, as PPF went 0 to 1; setting PFO is no interrupt condition, and with PPF set nothing is a new
            // one (FECTL_REG.IP, Intel Core Ultra SoC I/O registers)
            assertEquals(1, m.takeInterrupts(0).size());
            final List<VtdTestGuest.Fault> f = g.faults();
            assertEquals(List.of(IOVA + 0x1000, IOVA + 0x2000), f.stream().map(VtdTestGuest.Fault::address).toList());
            assertEquals(0, m.read32(VtdTestGuest.FSTS) & 3);
        }
    }

    @Test
    void shouldHoldTheFaultEventWhileMaskedAndSendItOnUnmask() throws Exception {
        try (DirectMachine m = machine()) {
            final VtdTestGuest g = legacy(m, null);
            m.write32(VtdTestGuest.FECTL, 1 << 31);
            m.takeInterrupts(0);
            m.translate(SID, NO_PASID, IOVA + 0x1000, AccessType.READ);
            assertTrue(m.takeInterrupts(0).isEmpty());
            assertEquals(0xC000_0000, m.read32(VtdTestGuest.FECTL), "IM and IP");
            m.write32(VtdTestGuest.FECTL, 0);
            assertEquals(List.of(new GuestMachine.Interrupt.Msi(VtdTestGuest.FAULT_MSI_ADDR, VtdTestGuest.FAULT_MSI_DATA)),
                    m.takeInterrupts(0));
            assertEquals(0, m.read32(VtdTestGuest.FECTL));
            assertEquals(1, g.faults().size());
        }
    }

    // ------------------------------------------------------------------ interrupt remapping (through the SPI)

    static GuestMachine.Remapped remap(final DirectMachine m, final int sid, final long address, final int data) {
        return m.remapMsi(sid, address, data);
    }

    static void expectBlocked(final VtdTestGuest g, final int sid, final long address, final int data, final int reason,
                              final int index) {
        g.m.takeInterrupts(0);
        final GuestMachine.Remapped r = remap(g.m, sid, address, data);
        assertFalse(r.delivered());
        assertEquals(reason, r.faultReason());
        final List<VtdTestGuest.Fault> f = g.faults();
        assertEquals(1, f.size(), g.m.describe());
        assertEquals(reason, f.get(0).reason());
        assertEquals((long) index << 48, f.get(0).address(), "FI holds the interrupt index");
        assertEquals(sid, f.get(0).sid());
    }

    static VtdTestGuest withIr(final DirectMachine m, final boolean eime) {
        return new VtdTestGuest(m).boot(false).interruptRemapping(7, eime);   // 256 entries
    }

    @Test
    void shouldDeliverARemappedMsi() {
        try (DirectMachine m = VtdTestGuest.machine(Map.of("eim", true))) {
            final VtdTestGuest g = withIr(m, true);
            g.irte(37, 1 | 0x61L << 16 | 0x1_0203L << 32, SID | 1L << 18);
            final GuestMachine.Remapped r = remap(m, SID, VtdTestGuest.remappableMsiAddress(37), 0);
            assertTrue(r.delivered());
            assertEquals(0x61, r.data() & 0xFF);
            assertEquals(0xFEE0_3000L | 0x102L << 40, r.address(), "x2APIC destination 0x10203");
        }
    }

    @Test
    void shouldReportReservedInterruptRequest0x20() {
        try (DirectMachine m = machine()) {
            expectBlocked(withIr(m, false), SID, 1L << 32 | VtdTestGuest.remappableMsiAddress(3), 0, 0x20, 0);
        }
    }

    @Test
    void shouldReportIndexBeyondTableSize0x21() {
        try (DirectMachine m = machine()) {
            expectBlocked(withIr(m, false), SID, VtdTestGuest.remappableMsiAddress(300), 0, 0x21, 300);
        }
    }

    @Test
    void shouldReportIrteNotPresent0x22() {
        try (DirectMachine m = machine()) {
            expectBlocked(withIr(m, false), SID, VtdTestGuest.remappableMsiAddress(5), 0, 0x22, 5);
        }
    }

    @Test
    void shouldReportIrteFetchError0x23() {
        try (DirectMachine m = machine()) {
            final VtdTestGuest g = withIr(m, false);
            m.write64(VtdTestGuest.IRTA, 0x7_0000_0000L | 7);                  // the table outside RAM
            g.command(VtdTestGuest.SIRTP);
            expectBlocked(g, SID, VtdTestGuest.remappableMsiAddress(5), 0, 0x23, 5);
        }
    }

    @Test
    void shouldReportIrteReservedBits0x24() {
        try (DirectMachine m = machine()) {
            final VtdTestGuest g = withIr(m, false);
            g.irte(6, 1 | 0x30L << 16 | 1L << 12, 0);                         // bit 12 is reserved
            expectBlocked(g, SID, VtdTestGuest.remappableMsiAddress(6), 0, 0x24, 6);
            g.irte(7, 1 | 0x30L << 16 | 0x0100_0000L << 32, 0);               // xAPIC: DST bits 63:48 reserved
            expectBlocked(g, SID, VtdTestGuest.remappableMsiAddress(7), 0, 0x24, 7);
            g.irte(8, 1 | 0x30L << 16, 3L << 18);                             // SVT 11 is reserved
            expectBlocked(g, SID, VtdTestGuest.remappableMsiAddress(8), 0, 0x24, 8);
        }
    }

    @Test
    void shouldReportBlockedCompatibilityFormat0x25() {
        try (DirectMachine m = machine()) {
            expectBlocked(withIr(m, false), SID, 0xFEE0_0000L, 0x30, 0x25, 0);
        }
    }

    @Test
    void shouldPassCompatibilityFormatWithCfiInXapicMode() {
        try (DirectMachine m = machine()) {
            final VtdTestGuest g = withIr(m, false);
            g.command(VtdTestGuest.CFI);
            assertEquals(new GuestMachine.Remapped(true, 0xFEE0_1000L, 0x30, 0), remap(m, SID, 0xFEE0_1000L, 0x30));
        }
    }

    @Test
    void shouldReportSourceIdMismatch0x26() {
        try (DirectMachine m = machine()) {
            final VtdTestGuest g = withIr(m, false);
            g.irte(9, 1 | 0x30L << 16, SID | 1L << 18);                       // SVT 01, SQ 00: all 16 bits
            expectBlocked(g, SID + 1, VtdTestGuest.remappableMsiAddress(9), 0, 0x26, 9);
            g.irte(10, 1 | 0x30L << 16, 0x0203L | 2L << 18);                  // SVT 10: buses 2..3
            assertTrue(remap(m, 0x0310, VtdTestGuest.remappableMsiAddress(10), 0).delivered());
            expectBlocked(g, 0x0410, VtdTestGuest.remappableMsiAddress(10), 0, 0x26, 10);
        }
    }

    @Test
    void shouldSuppressQualifiedInterruptFaultsWithIrteFpd() {
        try (DirectMachine m = machine()) {
            final VtdTestGuest g = withIr(m, false);
            g.irte(11, 1 | 2 | 0x30L << 16, SID | 1L << 18);                  // FPD
            final GuestMachine.Remapped r = remap(m, SID + 1, VtdTestGuest.remappableMsiAddress(11), 0);
            assertEquals(0x26, r.faultReason());
            assertTrue(g.faults().isEmpty());
        }
    }

    @Test
    void shouldUseTheCachedIrteUntilTheGuestInvalidatesIt() {
        try (DirectMachine m = machine()) {
            final VtdTestGuest g = withIr(m, false);
            g.irte(12, 1 | 0x31L << 16, 0);
            assertEquals(0x31, remap(m, SID, VtdTestGuest.remappableMsiAddress(12), 0).data() & 0xFF);
            g.w64(g.irt + 12 * 16, 1 | 0x32L << 16);                           // changed without an IEC flush
            assertEquals(0x31, remap(m, SID, VtdTestGuest.remappableMsiAddress(12), 0).data() & 0xFF);
            g.qi(0x4 | 1 << 4 | 12L << 32, 0);                                // index-selective IEC invalidation
            assertEquals(0x32, remap(m, SID, VtdTestGuest.remappableMsiAddress(12), 0).data() & 0xFF);
        }
    }
}
