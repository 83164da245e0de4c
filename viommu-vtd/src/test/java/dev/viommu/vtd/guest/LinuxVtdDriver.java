package dev.viommu.vtd.guest;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;

import java.util.ArrayList;
import java.util.List;

/**
 * A guest driver doing what Linux's intel-iommu driver does (drivers/iommu/intel/{dmar.c,iommu.c,pasid.c,prq.c,
 * irq_remapping.c}), step by step, written only against {@link GuestMachine}. Page tables, context and PASID
 * structures, the invalidation queue and the page request queue all live in guest RAM from a bump allocator.
 */
public final class LinuxVtdDriver {
    // register offsets (intel-iommu.h DMAR_*_REG)
    public static final int VER = 0x0, CAP = 0x8, ECAP = 0x10, GCMD = 0x18, GSTS = 0x1C, RTADDR = 0x20, CCMD = 0x28,
            FSTS = 0x34, FECTL = 0x38, FEDATA = 0x3C, FEADDR = 0x40, FEUADDR = 0x44, IQH = 0x80, IQT = 0x88, IQA = 0x90,
            ICS = 0x9C, IECTL = 0xA0, IEDATA = 0xA4, IEADDR = 0xA8, IQERCD = 0xB0, IRTA = 0xB8, PQH = 0xC0, PQT = 0xC8,
            PQA = 0xD0, PRS = 0xDC, PECTL = 0xE0, PEDATA = 0xE4, PEADDR = 0xE8, IVA = 0xF0, IOTLB = 0xF8;
    public static final int TE = 1 << 31, SRTP = 1 << 30, QIE = 1 << 26, IRE = 1 << 25, SIRTP = 1 << 24;
    public static final long FAULT_MSI_ADDR = 0xFEE0_1000L, PRQ_MSI_ADDR = 0xFEE0_2000L;
    public static final int FAULT_MSI_DATA = 0x41, PRQ_MSI_DATA = 0x42;

    /** A fault record as dmar_fault reads it. */
    public record Fault(int reason, int sid, long address, boolean read, boolean pasidPresent, int pasid) {}

    /** A page request as prq_event_thread reads it. */
    public record PageReq(int rid, boolean pasidPresent, int pasid, long address, boolean read, boolean write,
                          boolean lpig, int prgi) {}

    private final GuestMachine m;
    private final GuestMemory mem;
    private long next;
    public long cap, ecap;
    public boolean sm;
    private int gcmd;
    private long root, iq, statusAddr, prq, irt;
    private long iqTail;
    private int qiShift;
    private int status = 1;
    private int nextDid = 2;               // Linux: domain IDs start at 2

    public LinuxVtdDriver(final GuestMachine m, final long heapBase) {
        this.m = m;
        this.mem = m.memory();
        this.next = heapBase;
    }

    public long allocPage() {
        final long p = next;
        next += 4096;
        try {
            mem.fill(p, 4096, (byte) 0);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
        return p;
    }

    private void w64(final long gpa, final long v) {
        try { mem.write64(gpa, v); } catch (GuestMemoryException e) { throw new IllegalStateException(e); }
    }

    private long r64(final long gpa) {
        try { return mem.read64(gpa); } catch (GuestMemoryException e) { throw new IllegalStateException(e); }
    }

    private int r32(final long gpa) {
        try { return mem.read32(gpa); } catch (GuestMemoryException e) { throw new IllegalStateException(e); }
    }

    private void pollGsts(final int bit, final boolean set) {
        for (int i = 0; i < 1000; i++) if (((m.read32(GSTS) & bit) != 0) == set) return;
        throw new IllegalStateException("GSTS bit " + Integer.toHexString(bit) + " never became " + set);
    }

    /** init_dmars for one DRHD, in the order Linux 7.3 used under QEMU (anchors.md b3). */
    public void boot(final boolean scalable, final boolean interruptRemapping) {
        cap = m.read64(CAP);
        ecap = m.read64(ECAP);
        m.read32(VER);
        m.read32(GSTS);
        m.read32(FSTS);
        sm = scalable && ((ecap >>> 43) & 1) != 0;
        intelIommuInitQi();
        if (interruptRemapping && ((ecap >>> 3) & 1) != 0) intelSetupIrqRemapping();
        root = allocPage();
        iommuSetRootEntry();
        flushContextGlobal();
        if (sm) flushPasidCacheGlobal();
        flushIotlbGlobal();
        if (sm && ((ecap >>> 29) & 1) != 0) intelIommuEnablePrq();
        dmarSetInterrupt();
        iommuEnableTranslation();
    }

    /** intel_iommu_init_qi / __dmar_enable_qi: IQT = 0, IQA (DW = 1 in scalable mode), GCMD.QIE. */
    void intelIommuInitQi() {
        iq = allocPage();
        statusAddr = allocPage();
        qiShift = 4 + (sm ? 1 : 0);
        m.write64(IQT, 0);
        m.write64(IQA, iq | (sm ? 1L << 11 : 0));
        gcmd |= QIE;
        m.write32(GCMD, gcmd);
        pollGsts(QIE, true);
        iqTail = 0;
    }

    /** intel_setup_irq_remapping + iommu_set_irq_remapping: IRTA (64 Ki entries), SIRTP, global IEC flush, IRE. */
    void intelSetupIrqRemapping() {
        irt = next;
        next += 16L * 65536;
        try { mem.fill(irt, 16L * 65536, (byte) 0); } catch (GuestMemoryException e) { throw new IllegalStateException(e); }
        final boolean eim = ((ecap >>> 4) & 1) != 0;
        m.write64(IRTA, irt | (eim ? 1L << 11 : 0) | 15);
        m.write32(GCMD, gcmd | SIRTP);
        pollGsts(SIRTP, true);
        qiSubmit(0x4, 0);                                   // qi_flush_iec global
        gcmd |= IRE;
        m.write32(GCMD, gcmd);
        pollGsts(IRE, true);
    }

    /** iommu_set_root_entry: RTADDR (TTM = 01 in scalable mode), GCMD.SRTP, poll RTPS. */
    void iommuSetRootEntry() {
        m.write64(RTADDR, root | (sm ? 1L << 10 : 0));
        m.write32(GCMD, gcmd | SRTP);
        pollGsts(SRTP, true);
    }

    public void flushContextGlobal() { qiSubmit(0x1 | 1 << 4, 0); }                   // qi_flush_context, global

    public void flushPasidCacheGlobal() { qiSubmit(0x7 | 3 << 4, 0); }                // qi_flush_pasid_cache, global

    public void flushIotlbGlobal() { qiSubmit(0x2 | 1 << 4 | 3 << 6, 0); }            // qi_flush_iotlb, global, DR|DW

    /** intel_iommu_enable_prq: PQH = PQT = 0, PQA = base | order, page-request MSI. */
    void intelIommuEnablePrq() {
        prq = allocPage();
        m.write64(PQH, 0);
        m.write64(PQT, 0);
        m.write64(PQA, prq);                                // order 0: one page, 128 requests
        m.write32(PEDATA, PRQ_MSI_DATA);
        m.write32(PEADDR, (int) PRQ_MSI_ADDR);
        m.write32(PECTL, 0);
    }

    /** dmar_set_interrupt / dmar_msi_write: the fault-event MSI, unmasked. */
    void dmarSetInterrupt() {
        m.write32(FEDATA, FAULT_MSI_DATA);
        m.write32(FEADDR, (int) FAULT_MSI_ADDR);
        m.write32(FEUADDR, 0);
        m.write32(FECTL, 0);
    }

    /** iommu_enable_translation: GCMD.TE, poll TES. TE comes last. */
    void iommuEnableTranslation() {
        gcmd |= TE;
        m.write32(GCMD, gcmd);
        pollGsts(TE, true);
    }

    /** qi_submit_sync: one descriptor plus an invalidation wait with status write (value 2), one tail write. */
    public void qiSubmit(final long qw0, final long qw1) {
        final int dsz = 1 << qiShift;
        final long size = 4096;
        w64(iq + iqTail, qw0);
        w64(iq + iqTail + 8, qw1);
        if (dsz == 32) { w64(iq + iqTail + 16, 0); w64(iq + iqTail + 24, 0); }
        long t = (iqTail + dsz) % size;
        status = 1;
        try { mem.write32(statusAddr, 1); } catch (GuestMemoryException e) { throw new IllegalStateException(e); }
        w64(iq + t, 0x5 | 1 << 5 | (long) 2 << 32);           // wait: SW, status data 2
        w64(iq + t + 8, statusAddr);
        if (dsz == 32) { w64(iq + t + 16, 0); w64(iq + t + 24, 0); }
        t = (t + dsz) % size;
        iqTail = t;
        m.write64(IQT, t);
        for (int i = 0; i < 1000 && r32(statusAddr) != 2; i++) {
            if ((m.read32(FSTS) & 0x10) != 0) return;        // IQE: the caller inspects it
        }
    }

    /** Writes a raw descriptor without a wait (for malformed-descriptor tests). */
    public void qiSubmitRaw(final long qw0, final long qw1) {
        final int dsz = 1 << qiShift;
        w64(iq + iqTail, qw0);
        w64(iq + iqTail + 8, qw1);
        if (dsz == 32) { w64(iq + iqTail + 16, 0); w64(iq + iqTail + 24, 0); }
        iqTail = (iqTail + dsz) % 4096;
        m.write64(IQT, iqTail);
    }

    /** Recovery after IQE as qi_check_fault does: skip the bad descriptor by resetting the queue to IQT. */
    public int recoverFromIqe() {
        final int iqei = (int) (m.read64(IQERCD) & 0xF);
        // Linux overwrites the bad descriptor with the wait descriptor and clears IQE; we copy a no-op wait.
        final long head = m.read64(IQH);
        w64(iq + head, 0x5);
        w64(iq + head + 8, 0);
        m.write32(FSTS, 0x10);
        return iqei;
    }

    public int allocDid() { return nextDid++; }

    // ---------------------------------------------------------------- second-stage tables (legacy and SM PGTT 2)

    /** A second-stage (or first-stage) 4-level page table rooted at {@link #root()}. */
    public final class PageTable {
        final long top;
        final boolean firstStage;
        final int levels;

        PageTable(final boolean firstStage, final int levels) {
            this.top = allocPage();
            this.firstStage = firstStage;
            this.levels = levels;
        }

        public long root() { return top; }

        /** domain_pfn_mapping / __domain_mapping: maps one 4 KiB page. */
        public void map(final long iova, final long gpa, final boolean write) {
            final long leaf = firstStage ? gpa | 0x5 | (write ? 0x62 : 0x20) : gpa | 1 | (write ? 2 : 0);
            w64(entry(iova, true), leaf);
        }

        /** Maps a 2 MiB page at level 2. */
        public void map2M(final long iova, final long gpa) {
            final long e = walkTo(iova, 2, true);
            w64(e, firstStage ? gpa | 0xE7 : gpa | 0x83);
        }

        public void unmap(final long iova) { w64(entry(iova, true), 0); }

        public long entry(final long iova, final boolean create) { return walkTo(iova, 1, create); }

        private long walkTo(final long iova, final int stop, final boolean create) {
            long t = top;
            for (int level = levels; level > stop; level--) {
                final long ea = t + ((iova >>> (12 + 9 * (level - 1))) & 0x1FF) * 8;
                long e = r64(ea);
                if ((e & (firstStage ? 1 : 3)) == 0) {
                    final long p = allocPage();
                    e = firstStage ? p | 0x7 : p | 3;
                    w64(ea, e);
                }
                t = e & 0x000F_FFFF_FFFF_F000L;
            }
            return t + ((iova >>> (12 + 9 * (stop - 1))) & 0x1FF) * 8;
        }
    }

    public PageTable newSecondStage() { return new PageTable(false, 4); }

    public PageTable newFirstStage() { return new PageTable(true, 4); }

    // ---------------------------------------------------------------- context / PASID entries

    private long contextTable(final int bus, final boolean upper) {
        final long ra = root + bus * 16L + (upper ? 8 : 0);
        long re = r64(ra);
        if ((re & 1) == 0) {
            re = allocPage() | 1;
            w64(ra, re);
        }
        return re & ~0xFFFL;
    }

    /** domain_context_mapping_one (legacy): context entry, device-selective context flush, domain IOTLB flush. */
    public void attachLegacy(final int sid, final int did, final PageTable ss) {
        final long ce = contextTable(sid >>> 8, false) + (sid & 0xFF) * 16L;
        w64(ce + 8, 2 | (long) did << 8);                   // AW = 2 (48-bit, 4-level)
        w64(ce, ss.root() | 1);
        qiSubmit(0x1 | 3 << 4 | (long) did << 16 | (long) sid << 32, 0);
        qiSubmit(0x2 | 2 << 4 | (long) did << 16, 0);
    }

    /** A scalable-mode context entry with a PASID directory; returns the directory. */
    public long scalableContext(final int sid, final boolean pasidEnable, final boolean pri) {
        final long ce = contextTable(sid >>> 8, (sid & 0x80) != 0) + (sid & 0x7F) * 32L;
        final long dir = allocPage();
        w64(ce + 8, 0);                                     // RID_PASID = 0
        w64(ce, dir | 1 | (pasidEnable ? 8 : 0) | (pri ? 16 : 0) | (pasidEnable ? 4L << 9 : 0));
        qiSubmit(0x1 | 3 << 4 | (long) sid << 32, 0);        // device-selective context flush
        return dir;
    }

    /** intel_pasid_setup_second_level / _first_level: writes the PASID entry, then flushes as Linux does. */
    public void setPasidEntry(final long dir, final int pasid, final int did, final int pgtt, final PageTable ss, final PageTable fs) {
        final long de = dir + (pasid >>> 6) * 8L;
        long d = r64(de);
        if ((d & 1) == 0) {
            d = allocPage() | 1;
            w64(de, d);
        }
        final long pe = (d & ~0xFFFL) + (pasid & 0x3F) * 64L;
        w64(pe + 8, did);
        w64(pe + 16, (fs != null ? fs.root() : 0) | (pgtt == 1 ? 0 : 1));     // SRE for SS, as Linux
        w64(pe, (ss != null ? ss.root() : 0) | (long) pgtt << 6 | 2L << 2 | 1);
        qiSubmit(0x7 | 1 << 4 | (long) did << 16 | (long) pasid << 32, 0);   // PASID-selective PASID-cache flush
        qiSubmit(0x6 | 2 << 4 | (long) did << 16 | (long) pasid << 32, 0);   // whole-PASID P_IOTLB flush
    }

    /** cache_tag_flush_range for second stage: page-selective IOTLB flush (type 2). */
    public void flushIotlbPages(final int did, final long addr, final int am, final boolean ih) {
        qiSubmit(0x2 | 3 << 4 | 3 << 6 | (long) did << 16, addr | (ih ? 1 << 6 : 0) | am);
    }

    /** Page-selective PASID-IOTLB flush (type 6) for first-stage changes. */
    public void flushPasidIotlbPages(final int did, final int pasid, final long addr, final int am) {
        qiSubmit(0x6 | 3 << 4 | (long) did << 16 | (long) pasid << 32, addr | am);
    }

    // ---------------------------------------------------------------- fault and PRQ handling

    /** dmar_fault: walk the records from FSTS.FRI, clear each F, then write FSTS. */
    public List<Fault> dmarFault() {
        final List<Fault> out = new ArrayList<>();
        final int fsts = m.read32(FSTS);
        if ((fsts & 3) == 0) return out;
        final int nfr = (int) ((cap >>> 40) & 0xFF) + 1;
        final int fro = (int) ((cap >>> 24) & 0x3FF) * 16;
        int idx = (fsts >>> 8) & 0xFF;
        for (int n = 0; n < nfr; n++) {
            final long reg = fro + idx * 16L;
            final int hi = m.read32(reg + 12);
            if ((hi & 0x8000_0000) == 0) break;
            final int mid = m.read32(reg + 8);
            final long lo = m.read64(reg);
            out.add(new Fault(hi & 0xFF, mid & 0xFFFF, lo & ~0xFFFL, ((hi >>> 30) & 1) != 0, ((mid >>> 31) & 1) != 0,
                    (hi >>> 8) & 0xFFFFF));
            m.write32(reg + 12, 0x8000_0000);
            idx = (idx + 1) % nfr;
        }
        m.write32(FSTS, 1 | 2 | 0x80);                        // PFO | PPF | PRO
        return out;
    }

    /** prq_event_thread: clear PPR, read the requests from PQH to PQT, then PQH = PQT. */
    public List<PageReq> prqEvent() {
        m.write32(PRS, 1);
        final List<PageReq> out = new ArrayList<>();
        long head = m.read64(PQH) & 0x7FFE0;
        final long tail = m.read64(PQT) & 0x7FFE0;
        while (head != tail) {
            final long q0 = r64(prq + head), q1 = r64(prq + head + 8);
            out.add(new PageReq((int) (q0 >>> 16) & 0xFFFF, ((q0 >>> 8) & 1) != 0, (int) (q0 >>> 32) & 0xFFFFF,
                    q1 & ~0xFFFL, (q1 & 1) != 0, (q1 & 2) != 0, (q1 & 4) != 0, (int) (q1 >>> 3) & 0x1FF));
            head = (head + 32) % 4096;
        }
        m.write64(PQH, tail);
        return out;
    }

    /** intel_page_response: a page-group response descriptor (QI_PGRP_RESP_TYPE). */
    public void pageGroupResponse(final PageReq r, final int code) {
        qiSubmit(0x9 | (r.pasidPresent() ? 1 << 4 : 0) | (long) code << 12 | (long) r.rid() << 16 | (long) r.pasid() << 32,
                (long) r.prgi() << 3);
    }

    /** modify_irte + qi_flush_iec: writes an IRTE in remapped format, then an index-selective IEC flush. */
    public void setIrte(final int index, final int vector, final int destApicId, final int sid) {
        final long lo = 1 | (long) vector << 16 | (long) destApicId << 32;
        final long hi = sid | 1L << 18;                          // SVT = verify SID, SQ = all 16 bits
        w64(irt + index * 16L + 8, hi);
        w64(irt + index * 16L, lo);
        qiSubmit(0x4 | 1 << 4 | (long) index << 32, 0);
    }

    /** The remappable-format MSI address Linux programs for an IRTE index (fill_msi_msg). */
    public static long remappableMsiAddress(final int index) {
        return 0xFEE0_0000L | (long) (index & 0x7FFF) << 5 | 1 << 4 | ((index >>> 15) & 1) << 2;
    }

    public void disableTranslation() {
        gcmd &= ~TE;
        m.write32(GCMD, gcmd);
        pollGsts(TE, false);
    }
}
