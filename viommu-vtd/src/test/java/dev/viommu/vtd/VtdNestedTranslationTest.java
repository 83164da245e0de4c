package dev.viommu.vtd;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.translate.AccessType;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.viommu.vtd.VtdFaultReasonTest.expectFault;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Nested translation (PGTT 011, VT-d 3.8): every first-stage table address and the first-stage output are
 * guest-physical addresses translated by the second stage. The first-stage tables here live at 40 MiB, apart
 * from the second-stage tables (below 32 MiB), so each test decides what the second stage lets the walk see.
 */
class VtdNestedTranslationTest {
    static final int SID = 0x0018;
    static final int PASID = 0x101;
    static final int DID = 9;
    static final long IOVA = 0x7000_0000L;
    /** The first stage's output: a GPA only the second stage gives meaning to. */
    static final long GPA = 0x4000_0000L;
    static final long FS_TABLES = 0x280_0000L;

    final DirectMachine m = VtdTestGuest.machine(VtdTestGuest.scalableProps());
    final VtdTestGuest g = new VtdTestGuest(m).boot(true);
    final long dir = g.scalableContext(SID, VtdTestGuest.PASIDE | VtdTestGuest.PDTS_MAX);
    final PageTableWriter fs = new PageTableWriter(g.mem, PageTableWriter.bumpAllocator(g.mem, FS_TABLES, FS_TABLES + (1 << 20)),
            PageTableWriter.Format.FIRST_STAGE, 4);
    final PageTableWriter ss = g.ss(4);
    final long page = g.page();

    VtdNestedTranslationTest() throws Exception {
        fs.map(IOVA, GPA, PageTableWriter.SIZE_4K, true);
    }

    /** The second stage maps the first-stage tables 1:1 ({@code write}: writable, for A/D updates) and GPA → page. */
    void secondStage(final boolean tablesWritable, final boolean mapOutput) throws Exception {
        ss.map(FS_TABLES, FS_TABLES, PageTableWriter.SIZE_2M, tablesWritable);
        if (mapOutput) ss.map(GPA, page, PageTableWriter.SIZE_4K, true);
        g.pasidNested(dir, PASID, DID, fs, ss);
    }

    @org.junit.jupiter.api.AfterEach
    void close() { m.close(); }

    @Test
    void shouldTranslateThroughBothStages() throws Exception {
        secondStage(true, true);
        final GuestMachine.Translated t = m.translate(SID, PASID, IOVA + 0x123, AccessType.WRITE);
        assertTrue(t.ok(), m.describe());
        assertEquals(page + 0x123, t.outputAddress());
        assertEquals(4096, t.pageSize());
        assertEquals(AccessType.READ | AccessType.WRITE, t.permissions());
        final byte[] data = {1, 2, 3, 4};
        assertEquals(0, m.dmaWrite(SID, PASID, IOVA + 8, data));
        assertEquals(0x0403_0201, g.mem.read32(page + 8));
    }

    @Test
    void shouldSetFirstStageDirtyThroughTheSecondStage() throws Exception {
        secondStage(true, true);
        final long leaf = fs.leafAddress(IOVA);
        g.w64(leaf, g.r64(leaf) & ~0x60L);                                      // A and D clear
        assertTrue(m.translate(SID, PASID, IOVA, AccessType.READ).ok(), m.describe());
        assertEquals(0x20L, g.r64(leaf) & 0x60L, "a read sets A only");
        assertTrue(m.translate(SID, PASID, IOVA, AccessType.WRITE).ok());
        assertEquals(0x60L, g.r64(leaf) & 0x60L, "the first write sets D");
    }

    @Test
    void shouldSetSecondStageAccessedAndDirtyWithSsade() throws Exception {
        ss.map(FS_TABLES, FS_TABLES, PageTableWriter.SIZE_2M, true);
        ss.map(GPA, page, PageTableWriter.SIZE_4K, true);
        g.pasidEntry(dir, PASID, ss.root() | 2L << 2 | 3L << 6 | 1L << 9 | 1, DID, fs.root());   // SSADE
        assertTrue(m.translate(SID, PASID, IOVA, AccessType.WRITE).ok(), m.describe());
        final long ssLeaf = ss.leafAddress(GPA);
        assertEquals(0x300L, g.r64(ssLeaf) & 0x300L, "SS A and D on the output page");
        assertEquals(0x100L, g.r64(ss.leafAddress(FS_TABLES)) & 0x300L, "SS A only on the table pages");
    }

    @Test
    void shouldReportSecondStageFaultOnTheFirstStageOutput0x79() throws Exception {
        secondStage(true, false);
        expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x79);
    }

    @Test
    void shouldReportInvalidFirstStagePointerWhenItsGpaIsNotRam0x73() throws Exception {
        ss.map(FS_TABLES, 0x7_0000_0000L, PageTableWriter.SIZE_2M, true);       // the FS root's GPA → outside RAM
        g.pasidNested(dir, PASID, DID, fs, ss);
        expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x73);
    }

    @Test
    void shouldReportFirstStageTableBeyondTheSecondStageWidth0x74() throws Exception {
        final PageTableWriter ss3 = g.ss(3);                                    // 39-bit second stage
        g.pasidEntry(dir, PASID, ss3.root() | 1L << 2 | 3L << 6 | 1, DID, 1L << 40);
        expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x74);
    }

    @Test
    void shouldReportFirstStageRootUnreadableThroughTheSecondStage0x75() throws Exception {
        ss.map(GPA, page, PageTableWriter.SIZE_4K, true);                       // the FS tables are not mapped
        g.pasidNested(dir, PASID, DID, fs, ss);
        expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x75);
    }

    @Test
    void shouldReportFirstStageTableUnreadableThroughTheSecondStage0x76() throws Exception {
        ss.map(FS_TABLES, FS_TABLES, PageTableWriter.SIZE_4K, true);            // only the root page is mapped
        ss.map(GPA, page, PageTableWriter.SIZE_4K, true);
        g.pasidNested(dir, PASID, DID, fs, ss);
        expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x76);
    }

    @Test
    void shouldReportAccessedUpdateOnAReadOnlySecondStageMapping0x77() throws Exception {
        secondStage(false, true);                                               // FS tables read-only in SS
        assertTrue(m.translate(SID, PASID, IOVA, AccessType.READ).ok(), "A already set: no write needed");
        final long leaf = fs.leafAddress(IOVA);
        g.w64(leaf, g.r64(leaf) & ~0x20L);
        g.flushIotlb();
        expectFault(g, SID, PASID, IOVA, AccessType.READ, 0x77);
    }

    @Test
    void shouldReportLargePageSizeAsTheSmallerOfBothStages() throws Exception {
        fs.map(0x8000_0000L, 0x8000_0000L, PageTableWriter.SIZE_1G, true);
        ss.map(0x8000_0000L, 0x0L, PageTableWriter.SIZE_2M, true);              // 2 MiB of the 1 GiB FS page
        secondStage(true, true);
        final GuestMachine.Translated t = m.translate(SID, PASID, 0x8000_1234L, AccessType.READ);
        assertTrue(t.ok(), m.describe());
        assertEquals(0x1234L, t.outputAddress());
        assertEquals(PageTableWriter.SIZE_2M, t.pageSize());
    }

    @Test
    void shouldRefuseNestingWithoutSecondStageSupport() throws Exception {
        try (DirectMachine m2 = VtdTestGuest.machine(Map.of("x-scalable-mode", true, "x-flts", true, "x-ssts", false,
                "x-pasid-mode", true))) {
            final VtdTestGuest g2 = new VtdTestGuest(m2).boot(true);
            final long d2 = g2.scalableContext(SID, VtdTestGuest.PASIDE | VtdTestGuest.PDTS_MAX);
            g2.pasidNested(d2, PASID, DID, g2.fs(4), g2.ss(4));
            expectFault(g2, SID, PASID, IOVA, AccessType.READ, 0x5B);
        }
    }
}
