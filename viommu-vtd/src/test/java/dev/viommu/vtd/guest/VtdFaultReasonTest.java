package dev.viommu.vtd.guest;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.core.translate.AccessType;
import dev.viommu.vtd.InterruptRemapping;
import dev.viommu.vtd.VtdDevice;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One guest-triggered test per fault reason the model raises; each checks the translation result and the record. */
class VtdFaultReasonTest {
    static final int SID = 0x0010;
    static final long IOVA = 0x4000_0000L;

    /** A legacy guest with one mapped page at IOVA; returns the driver. */
    static LinuxVtdDriver legacy(final DirectMachine m, final LinuxVtdDriver.PageTable[] out) {
        final LinuxVtdDriver d = new LinuxVtdDriver(m, 0x100000);
        d.boot(false, true);
        final LinuxVtdDriver.PageTable pt = d.newSecondStage();
        d.attachLegacy(SID, 2, pt);
        pt.map(IOVA, d.allocPage(), false);
        if (out != null) out[0] = pt;
        return d;
    }

    static void expectFault(final DirectMachine m, final LinuxVtdDriver d, final int pasid, final long iova, final int access,
                            final int reason) {
        final GuestMachine.Translated t = m.translate(SID, pasid, iova, access);
        assertFalse(t.ok(), m.describe());
        assertEquals(reason, t.faultCode(), m.describe());
        final List<LinuxVtdDriver.Fault> f = d.dmarFault();
        assertEquals(1, f.size(), m.describe());
        assertEquals(reason, f.get(0).reason());
        assertEquals(SID, f.get(0).sid());
    }

    static long contextEntry(final DirectMachine m, final LinuxVtdDriver d) throws GuestMemoryException {
        final long root = m.read64(LinuxVtdDriver.RTADDR) & ~0xFFFL;
        return (m.memory().read64(root + (SID >>> 8) * 16L) & ~0xFFFL) + (SID & 0xFF) * 16L;
    }

    static DirectMachine machine() { return new DirectMachine("intel-iommu", Map.of(), 64L << 20); }

    @Test
    void shouldReportRootNotPresent0x01() {
        try (DirectMachine m = machine()) {
            final LinuxVtdDriver d = legacy(m, null);
            final GuestMachine.Translated t = m.translate(0x0310, -1, IOVA, AccessType.READ);
            assertEquals(0x01, t.faultCode());
            assertEquals(0x01, d.dmarFault().get(0).reason());
        }
    }

    @Test
    void shouldReportContextNotPresent0x02() {
        try (DirectMachine m = machine()) {
            final LinuxVtdDriver d = legacy(m, null);
            final GuestMachine.Translated t = m.translate(SID + 1, -1, IOVA, AccessType.READ);
            assertEquals(0x02, t.faultCode());
            assertEquals(0x02, d.dmarFault().get(0).reason());
        }
    }

    @Test
    void shouldReportInvalidContextForUnsupportedAw0x03() throws Exception {
        try (DirectMachine m = new DirectMachine("intel-iommu", Map.of("aw-bits", 39), 64L << 20)) {
            final LinuxVtdDriver d = legacy(m, null);      // the driver programs AW = 2 (48-bit), not in SAGAW
            expectFault(m, d, -1, IOVA, AccessType.READ, 0x03);
        }
    }

    @Test
    void shouldReportAddressBeyondMgaw0x04() {
        try (DirectMachine m = machine()) {
            final LinuxVtdDriver d = legacy(m, null);
            expectFault(m, d, -1, 1L << 50, AccessType.READ, 0x04);
        }
    }

    @Test
    void shouldReportWriteToReadOnlyPage0x05AndReadOfUnmapped0x06() {
        try (DirectMachine m = machine()) {
            final LinuxVtdDriver d = legacy(m, null);
            expectFault(m, d, -1, IOVA, AccessType.WRITE, 0x05);
            expectFault(m, d, -1, IOVA + 0x1000, AccessType.READ, 0x06);
        }
    }

    @Test
    void shouldReportPagingEntryFetchError0x07() throws Exception {
        try (DirectMachine m = machine()) {
            final LinuxVtdDriver.PageTable[] pt = new LinuxVtdDriver.PageTable[1];
            final LinuxVtdDriver d = legacy(m, pt);
            m.memory().write64(pt[0].root(), 0x7_0000_0000L | 3);      // PML4E points outside RAM
            expectFault(m, d, -1, IOVA, AccessType.READ, 0x07);
        }
    }

    @Test
    void shouldReportRootTableAddressError0x08() {
        try (DirectMachine m = machine()) {
            final LinuxVtdDriver d = legacy(m, null);
            m.write64(LinuxVtdDriver.RTADDR, 0x7_0000_0000L);
            m.write32(LinuxVtdDriver.GCMD, LinuxVtdDriver.TE | LinuxVtdDriver.QIE | LinuxVtdDriver.IRE | LinuxVtdDriver.SRTP);
            expectFault(m, d, -1, IOVA, AccessType.READ, 0x08);
        }
    }

    @Test
    void shouldReportContextTableAddressError0x09AndRootReserved0x0A() throws Exception {
        try (DirectMachine m = machine()) {
            final LinuxVtdDriver d = legacy(m, null);
            final long root = m.read64(LinuxVtdDriver.RTADDR) & ~0xFFFL;
            m.memory().write64(root, 0x7_0000_0000L | 1);
            d.flushContextGlobal();
            expectFault(m, d, -1, IOVA, AccessType.READ, 0x09);
            m.memory().write64(root + 8, 1);
            d.flushContextGlobal();
            expectFault(m, d, -1, IOVA, AccessType.READ, 0x0A);
        }
    }

    @Test
    void shouldReportContextReserved0x0B() throws Exception {
        try (DirectMachine m = machine()) {
            final LinuxVtdDriver d = legacy(m, null);
            final long ce = contextEntry(m, d);
            m.memory().write64(ce + 8, m.memory().read64(ce + 8) | 1L << 40);
            d.flushContextGlobal();
            expectFault(m, d, -1, IOVA, AccessType.READ, 0x0B);
        }
    }

    @Test
    void shouldReportPagingEntryReserved0x0C() throws Exception {
        try (DirectMachine m = machine()) {
            final LinuxVtdDriver.PageTable[] pt = new LinuxVtdDriver.PageTable[1];
            final LinuxVtdDriver d = legacy(m, pt);
            final long leaf = pt[0].entry(IOVA, false);
            m.memory().write64(leaf, m.memory().read64(leaf) | 1L << 62);
            expectFault(m, d, -1, IOVA, AccessType.READ, 0x0C);
        }
    }

    @Test
    void shouldReportInterruptRangeOutput0x0E() {
        try (DirectMachine m = machine()) {
            final LinuxVtdDriver.PageTable[] pt = new LinuxVtdDriver.PageTable[1];
            final LinuxVtdDriver d = legacy(m, pt);
            pt[0].map(IOVA + 0x1000, 0xFEE0_0000L, true);
            expectFault(m, d, -1, IOVA + 0x1000, AccessType.WRITE, 0x0E);
        }
    }

    @Test
    void shouldSuppressQualifiedFaultsWhenFpdIsSet() throws Exception {
        try (DirectMachine m = machine()) {
            final LinuxVtdDriver d = legacy(m, null);
            final long ce = contextEntry(m, d);
            m.memory().write64(ce, m.memory().read64(ce) | 2);          // FPD
            d.flushContextGlobal();
            assertEquals(0x06, m.translate(SID, -1, IOVA + 0x1000, AccessType.READ).faultCode());
            assertTrue(d.dmarFault().isEmpty());
            assertTrue(m.takeInterrupts(0).isEmpty());
        }
    }

    @Test
    void shouldSetPfoWhenAllRecordsAreFull() {
        try (DirectMachine m = new DirectMachine("intel-iommu", Map.of("nfr", 2), 64L << 20)) {
            final LinuxVtdDriver d = legacy(m, null);
            for (int i = 0; i < 3; i++) m.translate(SID, -1, IOVA + 0x1000L * (i + 1), AccessType.READ);
            assertEquals(1, m.read32(LinuxVtdDriver.FSTS) & 1, "PFO");
            assertEquals(2, m.takeInterrupts(0).size(), "one event as PPF went 0 to 1, one as PFO did");
            assertEquals(2, d.dmarFault().size());
            assertEquals(0, m.read32(LinuxVtdDriver.FSTS) & 3);
        }
    }

    // ------------------------------------------------------------------ scalable mode

    static DirectMachine sm() {
        return new DirectMachine("intel-iommu", Map.of("x-scalable-mode", true, "x-flts", true, "x-pasid-mode", true), 64L << 20);
    }

    @Test
    void shouldReportScalableModeStructureFaults() {
        try (DirectMachine m = sm()) {
            final LinuxVtdDriver d = new LinuxVtdDriver(m, 0x100000);
            d.boot(true, false);
            assertEquals(0x39, m.translate(0x0310, 1, IOVA, AccessType.READ).faultCode());   // root (bus 3) not present
            final long dir = d.scalableContext(SID, false, false);
            assertEquals(0x41, m.translate(SID + 1, -1, IOVA, AccessType.READ).faultCode());
            assertEquals(0x45, m.translate(SID, 3, IOVA, AccessType.READ).faultCode());      // PASIDE = 0
            assertEquals(0x51, m.translate(SID, -1, IOVA, AccessType.READ).faultCode());     // no PASID dir entry
            d.setPasidEntry(dir, 1, 3, 1, null, d.newFirstStage());
            assertEquals(0x59, m.translate(SID, -1, IOVA, AccessType.READ).faultCode());     // PASID 0 not present
            d.setPasidEntry(dir, 0, 3, 6, null, null);                                       // PGTT 6 is reserved
            assertEquals(0x5B, m.translate(SID, -1, IOVA, AccessType.READ).faultCode());
            final LinuxVtdDriver.PageTable fs = d.newFirstStage();
            fs.map(IOVA, d.allocPage(), false);
            d.setPasidEntry(dir, 0, 3, 1, null, fs);
            assertTrue(m.translate(SID, -1, IOVA, AccessType.READ).ok(), m.describe());
            assertEquals(0x5D, m.translate(SID, -1, IOVA, AccessType.READ | AccessType.PRIV).faultCode());
            assertEquals(0x71, m.translate(SID, -1, IOVA + 0x1000, AccessType.READ).faultCode());
            assertEquals(0x85, m.translate(SID, -1, IOVA, AccessType.WRITE).faultCode());
            assertEquals(0x80, m.translate(SID, -1, 0x0000_8000_0000_0000L, AccessType.READ).faultCode());
            final List<LinuxVtdDriver.Fault> f = d.dmarFault();
            assertEquals(List.of(0x39, 0x41, 0x45, 0x51, 0x59, 0x5B), f.stream().map(LinuxVtdDriver.Fault::reason).toList().subList(0, 6));
        }
    }

    @Test
    void shouldReportFirstStageUserAndReservedFaults() throws Exception {
        try (DirectMachine m = sm()) {
            final LinuxVtdDriver d = new LinuxVtdDriver(m, 0x100000);
            d.boot(true, false);
            final long dir = d.scalableContext(SID, true, false);
            final LinuxVtdDriver.PageTable fs = d.newFirstStage();
            fs.map(IOVA, d.allocPage(), true);
            fs.map(IOVA + 0x1000, d.allocPage(), true);
            final long leaf = fs.entry(IOVA, false);
            m.memory().write64(leaf, m.memory().read64(leaf) & ~4L);      // supervisor-only page
            final long leaf2 = fs.entry(IOVA + 0x1000, false);
            m.memory().write64(leaf2, m.memory().read64(leaf2) | 1L << 50);
            d.setPasidEntry(dir, 4, 7, 1, null, fs);
            assertEquals(0x81, m.translate(SID, 4, IOVA, AccessType.READ).faultCode());
            assertEquals(0x72, m.translate(SID, 4, IOVA + 0x1000, AccessType.READ).faultCode());
        }
    }

    @Test
    void shouldReportSecondStagePermissionInScalableMode0x79() {
        try (DirectMachine m = new DirectMachine("intel-iommu", Map.of("x-scalable-mode", true), 64L << 20)) {
            final LinuxVtdDriver d = new LinuxVtdDriver(m, 0x100000);
            d.boot(true, false);
            final long dir = d.scalableContext(SID, false, false);
            final LinuxVtdDriver.PageTable ss = d.newSecondStage();
            ss.map(IOVA, d.allocPage(), false);
            d.setPasidEntry(dir, 0, 2, 2, ss, null);
            assertTrue(m.translate(SID, -1, IOVA, AccessType.READ).ok(), m.describe());
            expectFault(m, d, -1, IOVA, AccessType.WRITE, 0x79);
        }
    }

    // ------------------------------------------------------------------ interrupt remapping

    @Test
    void shouldReportInterruptRemappingFaults() {
        try (DirectMachine m = new DirectMachine("intel-iommu", Map.of("eim", false), 64L << 20)) {
            final LinuxVtdDriver d = new LinuxVtdDriver(m, 0x100000);
            d.boot(false, true);
            final InterruptRemapping ir = ((VtdDevice) m.device()).interruptRemapping();
            assertEquals(0x22, assertInstanceOf(InterruptRemapping.Result.Blocked.class,
                    ir.remap(SID, LinuxVtdDriver.remappableMsiAddress(5), 0)).faultReason());
            assertEquals(0x25, assertInstanceOf(InterruptRemapping.Result.Blocked.class,
                    ir.remap(SID, 0xFEE0_0000L, 0x30)).faultReason());
            m.write64(LinuxVtdDriver.IRTA, m.read64(LinuxVtdDriver.IRTA) & ~0xFL);       // 2 entries
            m.write32(LinuxVtdDriver.GCMD, LinuxVtdDriver.TE | LinuxVtdDriver.QIE | LinuxVtdDriver.IRE | LinuxVtdDriver.SIRTP);
            assertEquals(0x21, assertInstanceOf(InterruptRemapping.Result.Blocked.class,
                    ir.remap(SID, LinuxVtdDriver.remappableMsiAddress(5), 0)).faultReason());
            final List<LinuxVtdDriver.Fault> f = d.dmarFault();
            assertEquals(List.of(0x22, 0x25, 0x21), f.stream().map(LinuxVtdDriver.Fault::reason).toList());
            assertEquals(5L << 48, f.get(0).address());
        }
    }
}
