package dev.viommu.guests.vtd;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.guests.Narrator;

import java.util.ArrayList;
import java.util.List;

/**
 * A guest driver that does what Linux 7.3's intel-iommu driver does ({@code drivers/iommu/intel/{dmar.c, iommu.c,
 * pasid.c, cache.c, prq.c, irq_remapping.c}}), step by step, each step named after the Linux function it mirrors
 * and told to the {@link Narrator}. It is written only against {@link GuestMachine}: registers through MMIO,
 * everything else (root and context tables, PASID directory and tables, page tables, the invalidation queue, the
 * page request queue, the interrupt remapping table) in guest RAM from a bump allocator, as the kernel keeps them.
 * <p>
 * Behaviours recorded from the real kernel under QEMU (anchors.md b3): every submission is one descriptor plus an
 * invalidation wait with a status write of 2, polled in memory, one IQT write; 256-bit descriptors in scalable
 * mode; domain IDs start at 2; second-stage leaves are {@code …003}, first-stage ones {@code …067}; with caching
 * mode a second-stage map gets a page-selective flush (IH = 0) and an unmap one with IH = 1; TE comes last.
 */
public final class LinuxIntelIommuDriver {
    // DMAR_*_REG (include/linux/intel-iommu.h → drivers/iommu/intel/iommu.h)
    public static final int VER = 0x0, CAP = 0x8, ECAP = 0x10, GCMD = 0x18, GSTS = 0x1C, RTADDR = 0x20, FSTS = 0x34,
            FECTL = 0x38, FEDATA = 0x3C, FEADDR = 0x40, FEUADDR = 0x44, IQH = 0x80, IQT = 0x88, IQA = 0x90,
            IQERCD = 0xB0, IRTA = 0xB8, PQH = 0xC0, PQT = 0xC8, PQA = 0xD0, PRS = 0xDC, PECTL = 0xE0, PEDATA = 0xE4,
            PEADDR = 0xE8, PEUADDR = 0xEC;
    // DMA_GCMD_* / DMA_GSTS_*
    public static final int TE = 1 << 31, SRTP = 1 << 30, QIE = 1 << 26, IRE = 1 << 25, SIRTP = 1 << 24;
    // DMA_FSTS_*
    public static final int FSTS_PFO = 1, FSTS_PPF = 1 << 1, FSTS_IQE = 1 << 4, FSTS_PRO = 1 << 7;
    /** Where the fault-event and page-request MSIs go (what dmar_msi_write and the PRQ's msi_msg would write). */
    public static final long FAULT_MSI_ADDR = 0xFEE0_1000L, PRQ_MSI_ADDR = 0xFEE0_2000L;
    public static final int FAULT_MSI_DATA = 0x4041, PRQ_MSI_DATA = 0x4042;
    /** IOMMU_NO_PASID: requests without PASID use RID_PASID 0. */
    public static final int NO_PASID = 0;
    static final int QI_LENGTH_BYTES = 4096;

    /** A fault record as dmar_fault reads it (dmar_fault_do_one's arguments). */
    public record Fault(int reason, int sourceId, long address, boolean read, boolean pasidPresent, int pasid) {}

    /** A page request descriptor as prq_event_thread reads it (struct page_req_dsc). */
    public record PageRequest(int rid, boolean pasidPresent, int pasid, long address, boolean read, boolean write,
                              boolean privileged, boolean last, int groupIndex) {}

    private final GuestMachine m;
    private final GuestMemory mem;
    private final Narrator n;
    private long next;
    private final long limit;
    public long cap, ecap;
    public boolean scalable;
    private int gcmd;
    private long rootTable, qiBase, qiStatus, prqBase, irtBase;
    private long qiTail;
    private int nextDid = 2;

    public LinuxIntelIommuDriver(final GuestMachine m, final Narrator n, final long heapBase, final long heapLimit) {
        this.m = m;
        this.mem = m.memory();
        this.n = n;
        this.next = heapBase;
        this.limit = heapLimit;
    }

    // ---------------------------------------------------------------- guest memory (the kernel's own)

    /** iommu_alloc_pages_node: one zeroed 4 KiB page. */
    public long allocPage() { return alloc(4096); }

    private long alloc(final long bytes) {
        final long p = next;
        if (p + bytes > limit) throw new IllegalStateException("guest heap exhausted");
        next += (bytes + 0xFFF) & ~0xFFFL;
        try {
            mem.fill(p, bytes, (byte) 0);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
        return p;
    }

    void w64(final long gpa, final long v) {
        try { mem.write64(gpa, v); } catch (GuestMemoryException e) { throw new IllegalStateException(e); }
    }

    long r64(final long gpa) {
        try { return mem.read64(gpa); } catch (GuestMemoryException e) { throw new IllegalStateException(e); }
    }

    private int r32(final long gpa) {
        try { return mem.read32(gpa); } catch (GuestMemoryException e) { throw new IllegalStateException(e); }
    }

    private void w32(final long gpa, final int v) {
        try { mem.write32(gpa, v); } catch (GuestMemoryException e) { throw new IllegalStateException(e); }
    }

    /** IOMMU_WAIT_OP on GSTS: bounded polling, as the kernel's DMAR_OPERATION_TIMEOUT. */
    private void waitGsts(final int bit, final boolean set, final String what) {
        for (int i = 0; i < 1000; i++) if (((m.read32(GSTS) & bit) != 0) == set) return;
        throw new IllegalStateException(what + ": GSTS never reported it");
    }

    public boolean ecap(final int bit) { return ((ecap >>> bit) & 1) != 0; }

    public boolean cachingMode() { return ((cap >>> 7) & 1) != 0; }

    // ---------------------------------------------------------------- init_dmars

    /**
     * init_dmars for one DRHD in the order Linux 7.3 used (anchors.md b3): reads of CAP, ECAP, VER, GSTS, FSTS;
     * the invalidation queue; interrupt remapping (when asked and ECAP.IR); the root table; global context,
     * PASID-cache (scalable) and IOTLB invalidations; the page request queue (scalable with ECAP.PRS); the fault
     * MSI; TE last.
     */
    public void initDmars(final boolean wantScalable, final boolean interruptRemapping) {
        cap = m.read64(CAP);
        ecap = m.read64(ECAP);
        final int ver = m.read32(VER);
        m.read32(GSTS);
        m.read32(FSTS);
        scalable = wantScalable && ecap(43);
        n.step(String.format("alloc_iommu: VER %d.%d, CAP 0x%x, ECAP 0x%x; %s mode", (ver >>> 4) & 0xF, ver & 0xF, cap,
                ecap, scalable ? "scalable" : "legacy"));
        intelIommuInitQi();
        if (interruptRemapping && ecap(3)) intelSetupIrqRemapping();
        rootTable = allocPage();
        iommuSetRootEntry();
        n.step("iommu->flush.flush_context (qi_flush_context): global context-cache invalidation");
        submit(0x1 | 1 << 4, 0);
        if (scalable) {
            n.step("qi_flush_pasid_cache(QI_PC_GLOBAL): global PASID-cache invalidation");
            submit(0x7 | 3 << 4, 0);
        }
        n.step("iommu->flush.flush_iotlb (qi_flush_iotlb): global IOTLB invalidation, drain reads and writes");
        submit(0x2 | 1 << 4 | 3 << 6, 0);
        if (scalable && ecap(29)) intelIommuEnablePrq();
        dmarSetInterrupt();
        iommuEnableTranslation();
    }

    /** intel_iommu_init_qi → dmar_enable_qi → __dmar_enable_qi: IQT = 0, IQA (DW = 1 in scalable mode), GCMD.QIE. */
    void intelIommuInitQi() {
        qiBase = allocPage();
        qiStatus = allocPage();
        m.write64(IQT, 0);
        m.write64(IQA, qiBase | (scalable ? 1L << 11 : 0));
        gcmd |= QIE;
        m.write32(GCMD, gcmd);
        waitGsts(QIE, true, "__dmar_enable_qi");
        qiTail = 0;
        n.step("intel_iommu_init_qi: queue at 0x" + Long.toHexString(qiBase) + (scalable ? ", 256-bit descriptors" : ", 128-bit descriptors")
                + ", GCMD.QIE, GSTS.QIES set");
    }

    /**
     * intel_setup_irq_remapping → iommu_set_irq_remapping: a 64 Ki-entry table, IRTA (EIME with x2APIC), SIRTP,
     * qi_global_iec, then GCMD.IRE.
     */
    void intelSetupIrqRemapping() {
        irtBase = alloc(16L * 65536);
        final boolean eim = ecap(4);
        m.write64(IRTA, irtBase | (eim ? 1L << 11 : 0) | 15);
        m.write32(GCMD, gcmd | SIRTP);
        waitGsts(SIRTP, true, "iommu_set_irq_remapping");
        submit(0x4, 0);
        gcmd |= IRE;
        m.write32(GCMD, gcmd);
        waitGsts(IRE, true, "iommu_enable_irq_remapping");
        n.step("intel_setup_irq_remapping: 65536 IRTEs at 0x" + Long.toHexString(irtBase) + (eim ? " (x2APIC)" : "")
                + ", SIRTP, qi_global_iec, GCMD.IRE");
    }

    /** iommu_set_root_entry: RTADDR (TTM = 01 in scalable mode), GCMD.SRTP, wait for RTPS. */
    void iommuSetRootEntry() {
        m.write64(RTADDR, rootTable | (scalable ? 1L << 10 : 0));
        m.write32(GCMD, gcmd | SRTP);
        waitGsts(SRTP, true, "iommu_set_root_entry");
        n.step("iommu_set_root_entry: root table at 0x" + Long.toHexString(rootTable) + ", GCMD.SRTP");
    }

    /** intel_iommu_enable_prq: PQH = PQT = 0, PQA = base | order 0 (one page, 128 requests), PR-event MSI. */
    void intelIommuEnablePrq() {
        prqBase = allocPage();
        m.write64(PQH, 0);
        m.write64(PQT, 0);
        m.write64(PQA, prqBase);
        m.write32(PEDATA, PRQ_MSI_DATA);
        m.write32(PEADDR, (int) PRQ_MSI_ADDR);
        m.write32(PEUADDR, 0);
        m.write32(PECTL, 0);
        n.step("intel_iommu_enable_prq: page request queue at 0x" + Long.toHexString(prqBase) + ", its MSI unmasked");
    }

    /** dmar_set_interrupt → dmar_msi_write / dmar_msi_unmask: FEDATA, FEADDR, FEUADDR, FECTL.IM = 0. */
    void dmarSetInterrupt() {
        m.write32(FEDATA, FAULT_MSI_DATA);
        m.write32(FEADDR, (int) FAULT_MSI_ADDR);
        m.write32(FEUADDR, 0);
        m.write32(FECTL, 0);
        n.step("dmar_set_interrupt: fault-event MSI to 0x" + Long.toHexString(FAULT_MSI_ADDR) + ", unmasked");
    }

    /** iommu_enable_translation: GCMD.TE, wait for TES. */
    void iommuEnableTranslation() {
        gcmd |= TE;
        m.write32(GCMD, gcmd);
        waitGsts(TE, true, "iommu_enable_translation");
        n.step("iommu_enable_translation: GCMD.TE, GSTS.TES set");
    }

    /** iommu_disable_translation: clears only TE (what Linux does at poweroff). */
    public void iommuDisableTranslation() {
        gcmd &= ~TE;
        m.write32(GCMD, gcmd);
        waitGsts(TE, false, "iommu_disable_translation");
        n.step("iommu_disable_translation: GCMD.TE cleared");
    }

    // ---------------------------------------------------------------- queued invalidation

    private int shift() { return scalable ? 5 : 4; }

    private void put(final long qw0, final long qw1) {
        w64(qiBase + qiTail, qw0);
        w64(qiBase + qiTail + 8, qw1);
        if (scalable) {
            w64(qiBase + qiTail + 16, 0);
            w64(qiBase + qiTail + 24, 0);
        }
        qiTail = (qiTail + (1L << shift())) % QI_LENGTH_BYTES;
    }

    /**
     * qi_submit_sync: the descriptor, then an invalidation wait (status write of QI_DONE = 2), one IQT write, then
     * polling the status in memory. Returns the IQEI if qi_check_fault found an IQE (having recovered as Linux
     * does), else 0.
     */
    public int qiSubmitSync(final long qw0, final long qw1) {
        final long index = qiTail;
        w32(qiStatus, 1);                                       // QI_IN_USE
        put(qw0, qw1);
        final long waitAt = qiTail;
        put(0x5 | 1 << 5 | 2L << 32, qiStatus);                // QI_IWD_TYPE | QI_IWD_STATUS_WRITE | data QI_DONE
        m.write64(IQT, qiTail);
        for (int i = 0; i < 1000; i++) {
            if (r32(qiStatus) == 2) return 0;
            final int iqei = qiCheckFault(index, waitAt);
            if (iqei != 0) return iqei;
        }
        throw new IllegalStateException("qi_submit_sync: the wait descriptor never completed");
    }

    /** qi_submit_sync for the driver's own invalidations: an IQE here is a driver or unit bug, so it stops the guest. */
    private void submit(final long qw0, final long qw1) {
        final int iqei = qiSubmitSync(qw0, qw1);
        if (iqei != 0) {
            throw new IllegalStateException(String.format("qi_submit_sync: descriptor 0x%x/0x%x failed with IQEI %d", qw0, qw1, iqei));
        }
    }

    /**
     * qi_check_fault: on FSTS.IQE with IQH at our descriptor, copy the wait descriptor over the bad one, clear IQE
     * (the unit resumes from IQH) and report the error. Returns IQERCD.IQEI, or 0 if there was no IQE.
     */
    int qiCheckFault(final long index, final long waitAt) {
        final int fsts = m.read32(FSTS);
        if ((fsts & FSTS_IQE) == 0) return 0;
        final int iqei = (int) (m.read64(IQERCD) & 0xF);
        final long head = m.read64(IQH);
        if (head != index) return 0;
        for (int q = 0; q < (1 << shift()); q += 8) w64(qiBase + head + q, r64(qiBase + waitAt + q));
        m.write32(FSTS, FSTS_IQE);
        n.step("qi_check_fault: IQE at IQH 0x" + Long.toHexString(head) + " (IQEI " + iqei
                + "), the wait descriptor copied over it, FSTS.IQE cleared: \"Invalidation Queue Error (IQE) cleared\"");
        return iqei;
    }

    // ---------------------------------------------------------------- domains and page tables

    /** A dmar_domain: a DID and its page table, second-stage (pt_iommu_vtdss) or first-stage (x86-64 format). */
    public final class Domain {
        public final int did;
        public final boolean firstStage;
        public final int levels = 4;
        public final long pgd;

        Domain(final boolean firstStage) {
            this.did = nextDid++;
            this.firstStage = firstStage;
            this.pgd = allocPage();
        }

        private long leafEntry(final long iova, final boolean create) {
            long table = pgd;
            for (int level = levels; level > 1; level--) {
                final long ea = table + ((iova >>> (12 + 9 * (level - 1))) & 0x1FF) * 8;
                long e = r64(ea);
                if ((e & (firstStage ? 1 : 3)) == 0) {
                    if (!create) return -1;
                    e = allocPage() | (firstStage ? 0x67 : 0x3);
                    w64(ea, e);
                }
                table = e & 0x000F_FFFF_FFFF_F000L;
            }
            return table + ((iova >>> 12) & 0x1FF) * 8;
        }

        /** The GPA of the 4 KiB leaf entry mapping {@code iova}, or -1. */
        public long pte(final long iova) { return leafEntry(iova, false); }

        /**
         * intel_iommu_map_pages + iotlb_sync_map (cache_tag_flush_range_np): writes 4 KiB leaves (second stage
         * {@code …003} or {@code …001}; first stage {@code …067} or {@code …065}); with caching mode and a second
         * stage, one page-selective IOTLB flush per page (IH = 0); a first stage issues none.
         */
        public void map(final long iova, final long gpa, final long size, final boolean write) {
            for (long o = 0; o < size; o += 4096) {
                final long leaf = firstStage ? (gpa + o) | 0x65 | (write ? 2 : 0) : (gpa + o) | 1 | (write ? 2 : 0);
                w64(leafEntry(iova + o, true), leaf);
            }
            n.step(String.format("intel_iommu_map_pages: domain %d maps IOVA 0x%x → GPA 0x%x (%d KiB, %s) in its %s table",
                    did, iova, gpa, size >>> 10, write ? "read-write" : "read-only", firstStage ? "first-stage" : "second-stage"));
            if (!firstStage && cachingMode()) {
                for (long o = 0; o < size; o += 4096) flushIotlbPsi(did, iova + o, 0, false);
                n.step("cache_tag_flush_range_np: caching mode, page-selective IOTLB invalidation per page (IH = 0)");
            }
        }

        /**
         * intel_iommu_unmap_pages + intel_iommu_tlb_sync (cache_tag_flush_range): clears the leaves, then one
         * page-selective invalidation covering the range with IH = 1 — type 2 for a second stage, type 6 (PASID
         * {@code pasid}) for a first stage.
         */
        public void unmap(final long iova, final long size, final int pasid) {
            for (long o = 0; o < size; o += 4096) {
                final long e = leafEntry(iova + o, false);
                if (e >= 0) w64(e, 0);
            }
            final int am = 63 - Long.numberOfLeadingZeros(Math.max(size >>> 12, 1));
            if (firstStage) {
                submit(0x6 | 3 << 4 | (long) did << 16 | (long) pasid << 32, iova | 1 << 6 | am);
            } else {
                flushIotlbPsi(did, iova, am, true);
            }
            n.step(String.format("intel_iommu_unmap_pages + cache_tag_flush_range: IOVA 0x%x (%d KiB) unmapped, %s (AM %d, IH 1)",
                    iova, size >>> 10, firstStage ? "PASID-based IOTLB page-selective invalidation for PASID " + pasid
                            : "IOTLB page-selective invalidation", am));
        }
    }

    public Domain allocDomain(final boolean firstStage) { return new Domain(firstStage); }

    /** qi_flush_iotlb with DMA_TLB_PSI_FLUSH: page-selective, drain reads and writes. */
    void flushIotlbPsi(final int did, final long addr, final int am, final boolean ih) {
        submit(0x2 | 3 << 4 | 3 << 6 | (long) did << 16, addr | (ih ? 1 << 6 : 0) | am);
    }

    // ---------------------------------------------------------------- device attach

    /** iommu_context_addr: the context entry of {@code sid}, allocating its context table. */
    long contextEntry(final int sid) {
        final boolean upper = scalable && (sid & 0x80) != 0;
        final long ra = rootTable + (sid >>> 8) * 16L + (upper ? 8 : 0);
        long re = r64(ra);
        if ((re & 1) == 0) {
            re = allocPage() | 1;
            w64(ra, re);
        }
        return (re & ~0xFFFL) + (scalable ? (sid & 0x7F) * 32L : (sid & 0xFF) * 16L);
    }

    /**
     * domain_context_mapping_one (legacy): context entry with AW = 2 (4-level), the DID and the second-stage
     * root, TT = 00; then a device-selective context-cache flush and a domain-selective IOTLB flush.
     */
    public void attachLegacy(final int sid, final Domain d) {
        final long ce = contextEntry(sid);
        w64(ce + 8, 2 | (long) d.did << 8);
        w64(ce, d.pgd | 1);
        submit(0x1 | 3 << 4 | (long) d.did << 16 | (long) sid << 32, 0);
        submit(0x2 | 2 << 4 | 3 << 6 | (long) d.did << 16, 0);
        n.step(String.format("domain_context_mapping_one: %s → domain %d, context-cache device-selective and IOTLB "
                + "domain-selective invalidations", bdf(sid), d.did));
    }

    /** A device's PASID table (intel_pasid_alloc_table): the directory the context entry points at. */
    public final class PasidTable {
        public final int sid;
        public final long dir;

        PasidTable(final int sid) {
            this.sid = sid;
            this.dir = allocPage();                             // 512 entries: PASIDs below 2^15 (PDTS 2)
        }

        /** intel_pasid_get_entry: the 64-byte entry of {@code pasid}, allocating its PASID table. */
        long entry(final int pasid) {
            final long de = dir + (pasid >>> 6) * 8L;
            long d = r64(de);
            if ((d & 1) == 0) {
                d = allocPage() | 1;
                w64(de, d);
            }
            return (d & ~0xFFFL) + (pasid & 0x3F) * 64L;
        }

        /**
         * intel_pasid_setup_second_level: DID, SSPTPTR, AW = 2, PGTT = 010, FPD clear, P; then pasid_flush_caches
         * (caching mode: PASID-selective PASID-cache and whole-PASID PASID-IOTLB invalidations).
         */
        public void setupSecondLevel(final int pasid, final Domain d) {
            final long pe = entry(pasid);
            w64(pe + 8, d.did | 1L << 23);                      // PWSNP
            w64(pe + 16, 0);
            w64(pe, d.pgd | 2L << 2 | 2L << 6 | 1);
            pasidFlushCaches(pasid, d.did);
            n.step(String.format("intel_pasid_setup_second_level: %s PASID %d → domain %d (PGTT 010)", bdf(sid), pasid, d.did));
        }

        /** intel_pasid_setup_first_level: FSPTPTR (4-level), DID, AW, PGTT = 001, P; then pasid_flush_caches. */
        public void setupFirstLevel(final int pasid, final Domain d) {
            final long pe = entry(pasid);
            w64(pe + 8, d.did | 1L << 23);
            w64(pe + 16, d.pgd);
            w64(pe, 2L << 2 | 1L << 6 | 1);
            pasidFlushCaches(pasid, d.did);
            n.step(String.format("intel_pasid_setup_first_level: %s PASID %d → domain %d (PGTT 001)", bdf(sid), pasid, d.did));
        }

        void pasidFlushCaches(final int pasid, final int did) {
            if (!cachingMode()) return;
            submit(0x7 | 1 << 4 | (long) did << 16 | (long) pasid << 32, 0);
            submit(0x6 | 2 << 4 | (long) did << 16 | (long) pasid << 32, 0);
        }
    }

    /**
     * intel_pasid_setup_sm_context → context_entry_set_pasid_table: the PASID directory (PDTS 2), RID_PASID 0,
     * DTE / PASIDE / PRE as the device supports ATS / PASID / PRI, FPD clear, P; then (caching mode) a
     * device-selective context-cache and a domain-selective IOTLB flush of domain 0.
     */
    public PasidTable attachScalable(final int sid, final boolean pasid, final boolean pri, final boolean ats) {
        final PasidTable t = new PasidTable(sid);
        final long ce = contextEntry(sid);
        w64(ce + 8, 0);
        w64(ce + 16, 0);
        w64(ce + 24, 0);
        w64(ce, t.dir | 2L << 9 | (ats ? 1 << 2 : 0) | (pasid ? 1 << 3 : 0) | (pri ? 1 << 4 : 0) | 1);
        submit(0x1 | 3 << 4 | (long) sid << 32, 0);
        if (cachingMode()) submit(0x2 | 2 << 4 | 3 << 6, 0);
        n.step(String.format("intel_pasid_setup_sm_context: %s gets a PASID directory at 0x%x%s%s%s", bdf(sid), t.dir,
                ats ? ", DTE" : "", pasid ? ", PASIDE" : "", pri ? ", PRE" : ""));
        return t;
    }

    static String bdf(final int sid) {
        return String.format("%02x:%02x.%d", sid >>> 8, (sid >>> 3) & 0x1F, sid & 7);
    }

    // ---------------------------------------------------------------- fault handling

    /**
     * dmar_fault: read FSTS; from FRI, for each record with F set read +0xC, +0x8 and +0x0, clear F by writing
     * DMA_FRCD_F to +0xC; then write PFO | PPF | PRO to FSTS.
     */
    public List<Fault> dmarFault() {
        final List<Fault> out = new ArrayList<>();
        final int fsts = m.read32(FSTS);
        if ((fsts & FSTS_PPF) == 0) return out;
        final int nfr = (int) ((cap >>> 40) & 0xFF) + 1;
        final int reg = (int) ((cap >>> 24) & 0x3FF) * 16;
        int idx = (fsts >>> 8) & 0xFF;
        for (int i = 0; i < nfr; i++) {
            final long at = reg + idx * 16L;
            final int hi = m.read32(at + 12);
            if ((hi & 0x8000_0000) == 0) break;
            final int mid = m.read32(at + 8);
            final long lo = m.read64(at);
            final Fault f = new Fault(hi & 0xFF, mid & 0xFFFF, lo & ~0xFFFL, ((hi >>> 30) & 1) != 0, ((mid >>> 31) & 1) != 0,
                    (hi >>> 8) & 0xFFFFF);
            out.add(f);
            m.write32(at + 12, 0x8000_0000);
            n.step(String.format("dmar_fault: record %d: [DMA %s %s] Request device [%s] fault addr 0x%x [fault reason 0x%02x]",
                    idx, f.read() ? "Read" : "Write", f.pasidPresent() ? "PASID " + f.pasid() : "NO_PASID",
                    bdf(f.sourceId()), f.address(), f.reason()));
            idx = (idx + 1) % nfr;
        }
        m.write32(FSTS, FSTS_PFO | FSTS_PPF | FSTS_PRO);
        return out;
    }

    // ---------------------------------------------------------------- page requests

    /** prq_event_thread: clear PRS.PPR, read the descriptors from PQH to PQT, then PQH = PQT. */
    public List<PageRequest> prqEventThread() {
        m.write32(PRS, 1);
        final List<PageRequest> out = new ArrayList<>();
        long head = m.read64(PQH) & 0x7FFE0;
        final long tail = m.read64(PQT) & 0x7FFE0;
        while (head != tail) {
            final long q0 = r64(prqBase + head), q1 = r64(prqBase + head + 8);
            out.add(new PageRequest((int) (q0 >>> 16) & 0xFFFF, ((q0 >>> 8) & 1) != 0, (int) (q0 >>> 32) & 0xFFFFF,
                    q1 & ~0xFFFL, (q1 & 1) != 0, (q1 & 2) != 0, ((q0 >>> 53) & 1) != 0, (q1 & 4) != 0, (int) (q1 >>> 3) & 0x1FF));
            head = (head + 32) % 4096;
        }
        m.write64(PQH, tail);
        n.step("prq_event_thread: PRS.PPR cleared, " + out.size() + " page request(s) read, PQH = PQT");
        return out;
    }

    /** intel_iommu_page_response: a page-group response descriptor (QI_PGRP_RESP_TYPE) for the request's group. */
    public void intelIommuPageResponse(final PageRequest r, final int code) {
        submit(0x9 | (r.pasidPresent() ? 1 << 4 : 0) | (long) code << 12 | (long) r.rid() << 16 | (long) r.pasid() << 32,
                (long) r.groupIndex() << 3);
        n.step(String.format("intel_iommu_page_response: group %d of %s PASID %d answered with code %d", r.groupIndex(),
                bdf(r.rid()), r.pasid(), code));
    }

    // ---------------------------------------------------------------- interrupt remapping

    /**
     * modify_irte + qi_flush_iec: an IRTE in remapped format (P, vector, destination; SVT = 01 with SQ = 00 to
     * verify the full requester ID), then an index-selective interrupt-entry-cache invalidation.
     */
    public void modifyIrte(final int index, final int vector, final int destination, final int sid) {
        final long lo = 1 | (long) vector << 16 | (long) destination << 32;
        final long hi = sid | 1L << 18;
        w64(irtBase + index * 16L + 8, hi);
        w64(irtBase + index * 16L, lo);
        submit(0x4 | 1 << 4 | (long) index << 32, 0);
        n.step(String.format("modify_irte + qi_flush_iec: IRTE %d = vector 0x%x → APIC %d, verify SID %s", index, vector,
                destination, bdf(sid)));
    }

    /** The remappable-format MSI address the device is programmed with (fill_msi_msg for IRQ_REMAP). */
    public static long remappableMsiAddress(final int index) {
        return 0xFEE0_0000L | (long) (index & 0x7FFF) << 5 | 1 << 4 | ((index >>> 15) & 1) << 2;
    }

    // ---------------------------------------------------------------- for scripts that break the rules

    /** Writes a raw descriptor (and nothing else) at the tail, as a buggy or hostile driver might. */
    public void qiSubmitRaw(final long qw0, final long qw1) {
        put(qw0, qw1);
        m.write64(IQT, qiTail);
    }
}
