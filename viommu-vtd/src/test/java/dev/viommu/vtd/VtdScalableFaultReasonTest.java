package dev.viommu.vtd;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.host.NoHostBackend;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestRegion;
import dev.viommu.core.translate.AccessType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;

import static dev.viommu.vtd.VtdFaultReasonTest.expectFault;
import static dev.viommu.vtd.VtdTestGuest.NO_PASID;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Scalable-mode fault reasons (root, context, PASID directory and table, first and second stage), one guest each. */
class VtdScalableFaultReasonTest {
    static final int SID = 0x0010;
    static final int PASID = 0x45;
    static final long IOVA = 0x4000_0000L;
    static final int DID = 3;

    static DirectMachine machine() { return VtdTestGuest.machine(VtdTestGuest.scalableProps()); }

    /** A booted scalable guest; SID has PASIDE and a full PASID directory. Returns the directory in {@code dir[0]}. */
    static VtdTestGuest guest(final DirectMachine m, final long[] dir) {
        final VtdTestGuest g = new VtdTestGuest(m).boot(true);
        final long d = g.scalableContext(SID, VtdTestGuest.PASIDE | VtdTestGuest.PDTS_MAX);
        if (dir != null) dir[0] = d;
        return g;
    }

    /** A guest whose PASID maps IOVA read-write through a 4-level first stage. */
    static VtdTestGuest firstStage(final DirectMachine m, final PageTableWriter[] fs, final long[] pe) throws Exception {
        final long[] dir = new long[1];
        final VtdTestGuest g = guest(m, dir);
        final PageTableWriter t = g.fs(4);
        t.map(IOVA, g.page(), PageTableWriter.SIZE_4K, true);
        final long e = g.pasidFirstStage(dir[0], PASID, DID, t);
        assertTrue(m.translate(SID, PASID, IOVA, AccessType.READ).ok(), m.describe());
        if (fs != null) fs[0] = t;
        if (pe != null) pe[0] = e;
        return g;
    }

    // ------------------------------------------------------------------ root and context

    @Test
    void shouldReportRootTableFetchError0x38() {
        try (DirectMachine m = machine()) {
            final VtdTestGuest g = guest(m, null);
            m.write64(VtdTestGuest.RTADDR, 0x7_0000_0000L | 1L << 10);
            g.command(VtdTestGuest.SRTP);
            expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x38);
        }
    }

    @Test
    void shouldReportRootNotPresent0x39() {
        try (DirectMachine m = machine()) {
            expectFault(guest(m, null), 0x0310, PASID, IOVA, AccessType.READ, 0x39);
        }
    }

    @Test
    void shouldReportRootReserved0x3A() {
        try (DirectMachine m = machine()) {
            final VtdTestGuest g = guest(m, null);
            g.w64(g.rootEntry(SID), g.r64(g.rootEntry(SID)) | 1L << 3);
            g.flushContext();
            expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x3A);
        }
    }

    @Test
    void shouldReportContextTableFetchError0x40() {
        try (DirectMachine m = machine()) {
            final VtdTestGuest g = guest(m, null);
            g.w64(g.rootEntry(SID), 0x7_0000_0000L | 1);
            g.flushContext();
            expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x40);
        }
    }

    @Test
    void shouldReportContextNotPresent0x41() {
        try (DirectMachine m = machine()) {
            expectFault(guest(m, null), SID + 1, NO_PASID, IOVA, AccessType.READ, 0x41);
        }
    }

    @Test
    void shouldReportContextReserved0x42() {
        try (DirectMachine m = machine()) {
            final VtdTestGuest g = guest(m, null);
            final long ce = g.contextEntry(SID);
            g.w64(ce, g.r64(ce) | 1L << 5);
            g.flushContext();
            expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x42);
            g.w64(ce, g.r64(ce) & ~(1L << 5));
            g.w64(ce + 16, 1);                                                  // QW2 is reserved
            g.flushContext();
            expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x42);
        }
    }

    @Test
    void shouldReportInvalidContextForUnsupportedPriOrDeviceTlb0x43() {
        try (DirectMachine m = machine()) {                                   // no svm, no device-iotlb
            final VtdTestGuest g = new VtdTestGuest(m).boot(true);
            g.scalableContext(SID, VtdTestGuest.PASIDE | VtdTestGuest.PRE);
            expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x43);
            g.scalableContext(SID, VtdTestGuest.DTE);
            expectFault(g, SID, NO_PASID, IOVA, AccessType.READ, 0x43);
        }
    }

    @Test
    void shouldReportInvalidContextForPasidEnableWithoutPasidSupport0x43() {
        try (DirectMachine m = VtdTestGuest.machine(Map.of("x-scalable-mode", true))) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(true);
            g.scalableContext(SID, VtdTestGuest.PASIDE);
            expectFault(g, SID, NO_PASID, IOVA, AccessType.READ, 0x43);
        }
    }

    @Test
    void shouldReportPasidRequestWithPasidEnableClear0x45() {
        try (DirectMachine m = machine()) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(true);
            g.scalableContext(SID, 0);
            expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x45);
        }
    }

    @Test
    void shouldReportPasidBeyondTheDirectoryOrTheSupportedWidth0x46() {
        try (DirectMachine m = VtdTestGuest.machine(Map.of("x-scalable-mode", true, "x-flts", true, "x-pasid-mode", true,
                "pasid-bits", 16))) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(true);
            g.scalableContext(SID, VtdTestGuest.PASIDE);                        // PDTS 0: 128 entries, PASIDs < 8192
            expectFault(g, SID, 0x2000, IOVA, AccessType.READ, 0x46);
            g.scalableContext(SID, VtdTestGuest.PASIDE | VtdTestGuest.PDTS_MAX);
            expectFault(g, SID, 0x1_0000, IOVA, AccessType.READ, 0x46);         // beyond pasid-bits = 16
        }
    }

    @Test
    void shouldReportPageRequestWithPriDisabled0x47() {
        try (DirectMachine m = VtdTestGuest.machine(Map.of("x-scalable-mode", true, "x-flts", true, "x-pasid-mode", true,
                "device-iotlb", true, "svm", true))) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(true).pageRequestQueue();
            g.scalableContext(SID, VtdTestGuest.PASIDE | VtdTestGuest.DTE);    // PRE = 0
            m.takeInterrupts(0);
            assertFalse(m.pageRequest(SID, PASID, 0x7000, AccessType.WRITE, true, 9));
            assertEquals(List.of(new GuestMachine.PageResponse(SID, PASID, 9, 1)), m.takePageResponses());
            final List<VtdTestGuest.Fault> f = g.faults();
            assertEquals(1, f.size());
            assertEquals(0x47, f.get(0).reason());
            assertFalse(f.get(0).read());
            assertEquals(0, m.read64(VtdTestGuest.PQT), "nothing queued");
        }
    }

    @Test
    void shouldReportNonZeroRidPasidWithoutRps0x48() {
        try (DirectMachine m = machine()) {
            final VtdTestGuest g = guest(m, null);
            final long ce = g.contextEntry(SID);
            g.w64(ce + 8, 7);                                                   // RID_PASID = 7
            g.flushContext();
            expectFault(g, SID, NO_PASID, IOVA, AccessType.READ, 0x48);
        }
    }

    // ------------------------------------------------------------------ PASID directory and table

    @Test
    void shouldReportPasidDirectoryFetchError0x50() {
        try (DirectMachine m = machine()) {
            final VtdTestGuest g = guest(m, null);
            final long ce = g.contextEntry(SID);
            g.w64(ce, 0x7_0000_0000L | VtdTestGuest.PASIDE | VtdTestGuest.PDTS_MAX | 1);
            g.flushContext();
            expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x50);
        }
    }

    @Test
    void shouldReportPasidDirectoryEntryNotPresent0x51() {
        try (DirectMachine m = machine()) {
            expectFault(guest(m, null), SID, PASID, IOVA, AccessType.READ, 0x51);
        }
    }

    @Test
    void shouldReportPasidDirectoryEntryReserved0x52() {
        try (DirectMachine m = machine()) {
            final long[] dir = new long[1];
            final VtdTestGuest g = guest(m, dir);
            g.w64(dir[0] + (PASID >>> 6) * 8L, g.page() | 1 | 1L << 2);
            expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x52);
        }
    }

    @Test
    void shouldReportPasidTableFetchError0x58() {
        try (DirectMachine m = machine()) {
            final long[] dir = new long[1];
            final VtdTestGuest g = guest(m, dir);
            g.w64(dir[0] + (PASID >>> 6) * 8L, 0x7_0000_0000L | 1);
            expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x58);
        }
    }

    @Test
    void shouldReportPasidEntryNotPresent0x59() {
        try (DirectMachine m = machine()) {
            final long[] dir = new long[1];
            final VtdTestGuest g = guest(m, dir);
            g.pasidFirstStage(dir[0], PASID + 1, DID, g.fs(4));
            expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x59);
        }
    }

    @Test
    void shouldReportPasidEntryReserved0x5A() throws Exception {
        try (DirectMachine m = machine()) {
            final long[] pe = new long[1];
            final VtdTestGuest g = firstStage(m, null, pe);
            g.w64(pe[0], g.r64(pe[0]) | 1L << 10);                            // QW0 bit 10
            g.flushPasidCache();
            expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x5A);
            g.w64(pe[0], g.r64(pe[0]) & ~(1L << 10));
            g.w64(pe[0] + 24, 1);                                              // QW3 is reserved
            g.flushPasidCache();
            expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x5A);
            g.w64(pe[0] + 24, 0);
            g.w64(pe[0] + 16, g.r64(pe[0] + 16) | 1L << 50);                    // FSPTPTR beyond the address width
            g.flushPasidCache();
            expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x5A);
        }
    }

    @Test
    void shouldReportInvalidPasidEntry0x5B() throws Exception {
        try (DirectMachine m = machine()) {
            final long[] pe = new long[1];
            final VtdTestGuest g = firstStage(m, null, pe);
            final long q0 = g.r64(pe[0]);
            g.w64(pe[0], q0 & ~(7L << 6) | 5L << 6);                            // PGTT 101 is reserved
            g.flushPasidCache();
            expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x5B);
            g.w64(pe[0], q0);
            g.w64(pe[0] + 16, g.r64(pe[0] + 16) | 1L << 2);                     // FSPM 5-level with aw-bits 48
            g.flushPasidCache();
            expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x5B);
        }
    }

    @Test
    void shouldLetFpdSuppressAnInvalidPasidEntry0x5BAndAnInvalidContext0x43() throws Exception {
        try (DirectMachine m = machine()) {                                   // QEMU vtd_qualified_faults: 0x5B qualified
            final long[] pe = new long[1];
            final VtdTestGuest g = firstStage(m, null, pe);
            g.w64(pe[0], g.r64(pe[0]) & ~(7L << 6) | 5L << 6 | 2);             // PGTT 101 is reserved; FPD
            g.flushPasidCache();
            m.takeInterrupts(0);
            assertEquals(0x5B, m.translate(SID, PASID, IOVA, AccessType.READ).faultCode());
            assertTrue(g.faults().isEmpty());
            assertTrue(m.takeInterrupts(0).isEmpty());
        }
        try (DirectMachine m = machine()) {                                   // 0x43 follows 0x03
            final VtdTestGuest g = new VtdTestGuest(m).boot(true);
            g.scalableContext(SID, VtdTestGuest.PASIDE | VtdTestGuest.PRE | 2); // PRE without svm; FPD
            m.takeInterrupts(0);
            assertEquals(0x43, m.translate(SID, PASID, IOVA, AccessType.READ).faultCode());
            assertTrue(g.faults().isEmpty());
            assertTrue(m.takeInterrupts(0).isEmpty());
        }
    }

    @Test
    void shouldReportSupervisorRequestWithSreClear0x5D() throws Exception {
        try (DirectMachine m = machine()) {
            expectFault(firstStage(m, null, null), SID, PASID, IOVA, AccessType.READ | AccessType.PRIV, 0x5D);
        }
    }

    // ------------------------------------------------------------------ first stage

    @Test
    void shouldReportFirstStageFetchError0x70() throws Exception {
        try (DirectMachine m = machine()) {
            final PageTableWriter[] fs = new PageTableWriter[1];
            final VtdTestGuest g = firstStage(m, fs, null);
            g.w64(fs[0].root(), 0x7_0000_0000L | 0x27);                          // PML4E → a PDPT outside RAM
            g.flushIotlb();
            expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x70);
        }
    }

    @Test
    void shouldReportFirstStageNotPresent0x71AndReserved0x72() throws Exception {
        try (DirectMachine m = machine()) {
            final PageTableWriter[] fs = new PageTableWriter[1];
            final VtdTestGuest g = firstStage(m, fs, null);
            expectFault(g, SID, PASID, IOVA + 0x1000, AccessType.READ, 0x71);
            fs[0].map(IOVA + 0x1000, g.page(), PageTableWriter.SIZE_4K, true);
            final long leaf = fs[0].leafAddress(IOVA + 0x1000);
            g.w64(leaf, g.r64(leaf) | 1L << 50);                               // beyond the address width
            expectFault(g, SID, PASID, IOVA + 0x1000, AccessType.READ, 0x72);
            fs[0].map(IOVA + PageTableWriter.SIZE_2M, g.page() & ~0x1F_FFFFL | PageTableWriter.SIZE_2M * 8, PageTableWriter.SIZE_2M, true);
            final long pde = fs[0].leafAddress(IOVA + PageTableWriter.SIZE_2M);
            g.w64(pde, g.r64(pde) | 1L << 13);                                 // a 2 MiB leaf's bits 20:13 are reserved
            expectFault(g, SID, PASID, IOVA + PageTableWriter.SIZE_2M, AccessType.READ, 0x72);
        }
    }

    @Test
    void shouldReportInvalidFirstStagePointer0x73() throws Exception {
        try (DirectMachine m = machine()) {
            final long[] pe = new long[1];
            final VtdTestGuest g = firstStage(m, null, pe);
            g.w64(pe[0] + 16, 0x7_0000_0000L);                                  // FSPTPTR outside RAM
            g.flushPasidCache();
            g.flushIotlb();
            expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x73);
        }
    }

    @Test
    void shouldReportNonCanonical0x80UserOnSupervisorPage0x81AndWriteToReadOnly0x85() throws Exception {
        try (DirectMachine m = machine()) {
            final PageTableWriter[] fs = new PageTableWriter[1];
            final VtdTestGuest g = firstStage(m, fs, null);
            expectFault(g, SID, PASID, 0x0000_8000_0000_0000L, AccessType.READ, 0x80);
            fs[0].map(IOVA + 0x1000, g.page(), PageTableWriter.SIZE_4K, false);
            expectFault(g, SID, PASID, IOVA + 0x1000, AccessType.WRITE, 0x85);
            final long leaf = fs[0].leafAddress(IOVA + 0x2000 - 0x1000);
            g.w64(leaf, g.r64(leaf) & ~4L);                                   // U/S = 0
            g.flushIotlb();
            expectFault(g, SID, PASID, IOVA + 0x1000, AccessType.READ, 0x81);
        }
    }

    @Test
    void shouldReportOutputInTheInterruptRange0x87() throws Exception {
        try (DirectMachine m = machine()) {
            final PageTableWriter[] fs = new PageTableWriter[1];
            final VtdTestGuest g = firstStage(m, fs, null);
            fs[0].map(IOVA + 0x3000, 0xFEE0_0000L, PageTableWriter.SIZE_4K, true);
            expectFault(g, SID, PASID, IOVA + 0x3000, AccessType.WRITE, 0x87);
        }
    }

    @Test
    void shouldReportFirstStageAccessedBitUpdateFailureInReadOnlyMemory0x91() throws Exception {
        final long romBase = 0x800_0000L;
        final MemorySegment rom = Arena.ofAuto().allocate(1 << 20, 4096);
        final GuestMemory mem = GuestMemory.anonymous(0, VtdTestGuest.RAM)
                .withRegion(new GuestRegion("rom", romBase, 1 << 20, rom, true));
        try (DirectMachine m = new DirectMachine("intel-iommu", VtdTestGuest.scalableProps(), mem, new NoHostBackend())) {
            final long[] dir = new long[1];
            final VtdTestGuest g = guest(m, dir);
            // Firmware put a first-stage table in ROM, with A clear: the walk must set A and cannot.
            final ValueLayout.OfLong le = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);
            final long target = g.page();
            rom.set(le, 0, romBase + 0x1000 | 0x7);                            // PML4[0] → PDPT (P, RW, US; A = 0)
            rom.set(le, 0x1000 + 8, romBase + 0x2000 | 0x7);                   // PDPT[1] → PD
            rom.set(le, 0x2000, romBase + 0x3000 | 0x7);                       // PD[0] → PT
            rom.set(le, 0x3000, target | 0x7);                                 // PT[0] → page
            g.pasidEntry(dir[0], PASID, 1L << 6 | 1, DID, romBase);
            expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x91);
        }
    }

    // ------------------------------------------------------------------ second stage and pass-through

    @Test
    void shouldAcceptPasidBasedInvalidationsInScalableModeWithoutPasidSupport() throws Exception {
        try (DirectMachine m = VtdTestGuest.machine(Map.of("x-scalable-mode", true))) {
            final VtdTestGuest g = new VtdTestGuest(m).boot(true);
            final long dir = g.scalableContext(SID, VtdTestGuest.PDTS_MAX);
            final PageTableWriter ss = g.ss(4);
            ss.map(IOVA, g.page(), PageTableWriter.SIZE_4K, true);
            g.pasidSecondStage(dir, 0, DID, ss);
            assertTrue(m.translate(SID, NO_PASID, IOVA, AccessType.READ).ok());
            ss.unmap(IOVA);
            g.qi(0x7 | 1 << 4 | (long) DID << 16, 0);                          // pasid_flush_caches for RID_PASID 0
            g.qi(0x6 | 3 << 4 | (long) DID << 16, IOVA);                       // PASID-IOTLB page-selective, PASID 0
            assertEquals(0, m.read32(VtdTestGuest.FSTS), "no IQE");
            expectFault(g, SID, NO_PASID, IOVA, AccessType.READ, 0x79);
        }
    }

    /** A guest whose requests without PASID (RID_PASID 0) use a 4-level second stage mapping IOVA read-only. */
    static VtdTestGuest secondStage(final DirectMachine m, final PageTableWriter[] ss) throws Exception {
        final long[] dir = new long[1];
        final VtdTestGuest g = guest(m, dir);
        final PageTableWriter t = g.ss(4);
        t.map(IOVA, g.page(), PageTableWriter.SIZE_4K, false);
        g.pasidSecondStage(dir[0], 0, DID, t);
        assertTrue(m.translate(SID, NO_PASID, IOVA, AccessType.READ).ok(), m.describe());
        if (ss != null) ss[0] = t;
        return g;
    }

    @Test
    void shouldReportSecondStageFetchError0x78() throws Exception {
        try (DirectMachine m = machine()) {
            final PageTableWriter[] ss = new PageTableWriter[1];
            final VtdTestGuest g = secondStage(m, ss);
            g.w64(ss[0].root(), 0x7_0000_0000L | 3);
            g.flushIotlb();
            expectFault(g, SID, NO_PASID, IOVA, AccessType.READ, 0x78);
        }
    }

    @Test
    void shouldReportSecondStagePermission0x79AndReserved0x7A() throws Exception {
        try (DirectMachine m = machine()) {
            final PageTableWriter[] ss = new PageTableWriter[1];
            final VtdTestGuest g = secondStage(m, ss);
            expectFault(g, SID, NO_PASID, IOVA, AccessType.WRITE, 0x79);
            expectFault(g, SID, NO_PASID, IOVA + 0x1000, AccessType.READ, 0x79);      // not present (R = W = 0)
            final long leaf = ss[0].leafAddress(IOVA);
            g.w64(leaf, g.r64(leaf) | 1L << 62);                              // TM: reserved
            g.flushIotlb();
            expectFault(g, SID, NO_PASID, IOVA, AccessType.READ, 0x7A);
        }
    }

    @Test
    void shouldReportAddressBeyondTheSecondStageWidthOrPassThroughLimit0x83() throws Exception {
        try (DirectMachine m = machine()) {
            final VtdTestGuest g = secondStage(m, null);
            expectFault(g, SID, NO_PASID, 1L << 50, AccessType.READ, 0x83);
            final long[] dir = {g.scalableContext(SID + 1, VtdTestGuest.PDTS_MAX)};
            g.pasidEntry(dir[0], 0, 4L << 6 | 1, DID, 0);                      // PGTT 100: pass-through
            assertTrue(m.translate(SID + 1, NO_PASID, 0x1234_5000L, AccessType.WRITE).ok());
            expectFault(g, SID + 1, NO_PASID, 1L << 48, AccessType.READ, 0x83);
        }
    }

    @Test
    void shouldReportSecondStageOutputInTheInterruptRange0x87() throws Exception {
        try (DirectMachine m = machine()) {
            final PageTableWriter[] ss = new PageTableWriter[1];
            final VtdTestGuest g = secondStage(m, ss);
            ss[0].map(IOVA + 0x5000, 0xFEE0_1000L, PageTableWriter.SIZE_4K, true);
            expectFault(g, SID, NO_PASID, IOVA + 0x5000, AccessType.WRITE, 0x87);
        }
    }
}
