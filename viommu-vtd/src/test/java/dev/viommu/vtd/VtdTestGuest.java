package dev.viommu.vtd;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * A small guest for the module's unit tests: it programs the unit through MMIO and builds its structures in guest
 * RAM, with just enough of a driver to reach each behaviour under test. The Linux-faithful guest driver and the
 * issue's scripts live in test-guests ({@code dev.viommu.guests.vtd}); this is not a copy of it.
 */
final class VtdTestGuest {
    static final int VER = 0x0, CAP = 0x8, ECAP = 0x10, GCMD = 0x18, GSTS = 0x1C, RTADDR = 0x20, CCMD = 0x28,
            FSTS = 0x34, FECTL = 0x38, FEDATA = 0x3C, FEADDR = 0x40, FEUADDR = 0x44, IQH = 0x80, IQT = 0x88,
            IQA = 0x90, ICS = 0x9C, IECTL = 0xA0, IEDATA = 0xA4, IEADDR = 0xA8, IQERCD = 0xB0, IRTA = 0xB8,
            PQH = 0xC0, PQT = 0xC8, PQA = 0xD0, PRS = 0xDC, PECTL = 0xE0, PEDATA = 0xE4, PEADDR = 0xE8, IVA = 0xF0,
            IOTLB = 0xF8, FRCD = 0x220;
    static final int TE = 1 << 31, SRTP = 1 << 30, QIE = 1 << 26, IRE = 1 << 25, SIRTP = 1 << 24, CFI = 1 << 23;
    static final long FAULT_MSI_ADDR = 0xFEE0_1000L, PRQ_MSI_ADDR = 0xFEE0_2000L;
    static final int FAULT_MSI_DATA = 0x41, PRQ_MSI_DATA = 0x42;
    static final long RAM = 64L << 20;
    static final int NO_PASID = GuestMachine.NO_PASID;

    /** One fault record as the guest reads it. */
    record Fault(int reason, int sid, long address, boolean read, boolean pasidPresent, int pasid) {}

    final DirectMachine m;
    final GuestMemory mem;
    final LongSupplier pages;
    boolean sm;
    int gcmd;
    long root, irt, prq;
    private long iq, status, iqTail;
    private int irtS;
    private boolean irtEime;

    VtdTestGuest(final DirectMachine m) {
        this.m = m;
        this.mem = m.memory();
        this.pages = PageTableWriter.bumpAllocator(mem, 0x10_0000L, 0x200_0000L);
    }

    static DirectMachine machine(final Map<String, ?> props) { return new DirectMachine("intel-iommu", props, RAM); }

    static Map<String, Object> scalableProps() {
        return Map.of("x-scalable-mode", true, "x-flts", true, "x-pasid-mode", true);
    }

    VtdDevice device() { return (VtdDevice) m.device(); }

    long page() { return pages.getAsLong(); }

    void w64(final long gpa, final long v) {
        try { mem.write64(gpa, v); } catch (GuestMemoryException e) { throw new IllegalStateException(e); }
    }

    long r64(final long gpa) {
        try { return mem.read64(gpa); } catch (GuestMemoryException e) { throw new IllegalStateException(e); }
    }

    void command(final int bits) { m.write32(GCMD, gcmd | bits); }

    /** QI, root table (TTM per mode), global flushes, unmasked fault MSI, TE. */
    VtdTestGuest boot(final boolean scalable) {
        sm = scalable;
        iq = page();
        status = page();
        m.write64(IQT, 0);
        m.write64(IQA, iq | (sm ? 1L << 11 : 0));
        gcmd |= QIE;
        command(0);
        root = page();
        m.write64(RTADDR, root | (sm ? 1L << 10 : 0));
        command(SRTP);
        flushContext();
        if (sm) flushPasidCache();
        flushIotlb();
        m.write32(FEDATA, FAULT_MSI_DATA);
        m.write32(FEADDR, (int) FAULT_MSI_ADDR);
        m.write32(FECTL, 0);
        gcmd |= TE;
        command(0);
        return this;
    }

    /** IRTA with 2^(s+1) entries (EIME as given), SIRTP, global IEC flush, IRE. */
    VtdTestGuest interruptRemapping(final int s, final boolean eime) {
        irt = 0x300_0000L;
        irtS = s;
        irtEime = eime;
        try { mem.fill(irt, 16L << (s + 1), (byte) 0); } catch (GuestMemoryException e) { throw new IllegalStateException(e); }
        m.write64(IRTA, irt | (eime ? 1L << 11 : 0) | s);
        command(SIRTP);
        qi(0x4, 0);
        gcmd |= IRE;
        command(0);
        return this;
    }

    /** Page request queue of one page and its MSI. */
    VtdTestGuest pageRequestQueue() {
        prq = page();
        m.write64(PQH, 0);
        m.write64(PQT, 0);
        m.write64(PQA, prq);
        m.write32(PEDATA, PRQ_MSI_DATA);
        m.write32(PEADDR, (int) PRQ_MSI_ADDR);
        m.write32(PECTL, 0);
        return this;
    }

    /**
     * Re-initialises the unit over the guest's existing structures, as a driver does after a reset: turns
     * everything off, clears the fault-status error bits, restarts the queue at its base, points RTADDR (and IRTA) back at its tables, re-arms
     * the page request queue, then enables QI, IR and TE one command at a time. {@code scalable}: the RTADDR mode.
     */
    void reprogram(final boolean scalable) {
        gcmd = 0;
        command(0);                  // QI off first: clearing IQE with QI on resumes the queue at the bad descriptor
        m.write32(FSTS, 0xFF);
        iqTail = 0;
        m.write64(IQT, 0);
        m.write64(IQA, iq | (scalable ? 1L << 11 : 0));
        gcmd = QIE;
        command(0);
        m.write64(RTADDR, root | (scalable ? 1L << 10 : 0));
        command(SRTP);
        if (irt != 0) {
            m.write64(IRTA, irt | (irtEime ? 1L << 11 : 0) | irtS);
            command(SIRTP);
            gcmd |= IRE;
            command(0);
        }
        if (prq != 0) {
            m.write64(PQH, 0);
            m.write64(PQT, 0);
            m.write64(PQA, prq);
            m.write32(PRS, 0xFF);
            m.write32(PECTL, 0);
        }
        m.write32(FECTL, 0);
        gcmd |= TE;
        command(0);
    }

    /** The invalidation queue's page and the page the wait descriptors write their status to. */
    long iqBase() { return iq; }

    long statusPage() { return status; }

    private int dsz() { return sm ? 32 : 16; }

    private void put(final long q0, final long q1) {
        w64(iq + iqTail, q0);
        w64(iq + iqTail + 8, q1);
        if (sm) { w64(iq + iqTail + 16, 0); w64(iq + iqTail + 24, 0); }
        iqTail = (iqTail + dsz()) % 4096;
    }

    /** Writes one descriptor at the tail and moves IQT, without a wait. */
    void qiRaw(final long q0, final long q1) {
        put(q0, q1);
        m.write64(IQT, iqTail);
    }

    /** Writes one 256-bit descriptor with the given upper qwords and moves IQT (scalable mode). */
    void qiRawWide(final long q0, final long q1, final long q2, final long q3) {
        final long at = iqTail;
        put(q0, q1);
        w64(iq + at + 16, q2);
        w64(iq + at + 24, q3);
        m.write64(IQT, iqTail);
    }

    /** One descriptor and a wait with status write, one tail write; fails if the unit did not complete them. */
    void qi(final long q0, final long q1) {
        try { mem.write32(status, 1); } catch (GuestMemoryException e) { throw new IllegalStateException(e); }
        put(q0, q1);
        put(0x5 | 1 << 5 | 2L << 32, status);
        m.write64(IQT, iqTail);
        try {
            if (mem.read32(status) != 2) throw new IllegalStateException("descriptor not completed: FSTS=0x"
                    + Integer.toHexString(m.read32(FSTS)) + " IQERCD=" + m.read64(IQERCD) + " IQH=0x" + Long.toHexString(m.read64(IQH))
                    + " IQT=0x" + Long.toHexString(m.read64(IQT)) + " IQA=0x" + Long.toHexString(m.read64(IQA))
                    + " GSTS=0x" + Integer.toHexString(m.read32(GSTS)) + " at IQH: 0x" + Long.toHexString(mem.read64(iq + (m.read64(IQH) & 0x7FFF0))));
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Recovers from IQE as qi_check_fault does: the bad descriptor becomes a no-op wait, then FSTS.IQE is cleared. */
    int recoverFromIqe() {
        final int iqei = (int) (m.read64(IQERCD) & 0xF);
        final long head = m.read64(IQH);
        w64(iq + head, 0x5);
        w64(iq + head + 8, 0);
        m.write32(FSTS, 0x10);
        return iqei;
    }

    void flushContext() { qi(0x1 | 1 << 4, 0); }

    void flushPasidCache() { qi(0x7 | 3 << 4, 0); }

    void flushIotlb() { qi(0x2 | 1 << 4, 0); }

    PageTableWriter ss(final int levels) {
        return new PageTableWriter(mem, pages, PageTableWriter.Format.SECOND_STAGE, levels);
    }

    PageTableWriter fs(final int levels) {
        return new PageTableWriter(mem, pages, PageTableWriter.Format.FIRST_STAGE, levels);
    }

    /** The GPA of the root entry of {@code sid}'s bus. */
    long rootEntry(final int sid) { return root + (sid >>> 8) * 16L; }

    /** The GPA of {@code sid}'s context entry, creating the context table. */
    long contextEntry(final int sid) {
        final boolean upper = sm && (sid & 0x80) != 0;
        final long ra = rootEntry(sid) + (upper ? 8 : 0);
        long re = r64(ra);
        if ((re & 1) == 0) {
            re = page() | 1;
            w64(ra, re);
        }
        return (re & ~0xFFFL) + (sm ? (sid & 0x7F) * 32L : (sid & 0xFF) * 16L);
    }

    /** A legacy context entry (TT, AW, DID) and a global context flush. */
    void legacyContext(final int sid, final int did, final long slptptr, final int aw, final int tt) {
        final long ce = contextEntry(sid);
        w64(ce + 8, aw | (long) did << 8);
        w64(ce, slptptr | (long) tt << 2 | 1);
        flushContext();
    }

    /** A legacy context for a 4-level second-stage table. */
    PageTableWriter legacyDomain(final int sid, final int did) {
        final PageTableWriter pt = ss(4);
        legacyContext(sid, did, pt.root(), 2, 0);
        return pt;
    }

    /** A scalable-mode context entry: {@code flags} are QW0 bits besides P and the directory pointer. */
    long scalableContext(final int sid, final long flags) {
        final long ce = contextEntry(sid);
        final long dir = page();
        w64(ce + 8, 0);
        w64(ce, dir | flags | 1);
        flushContext();
        return dir;
    }

    static final long PASIDE = 1 << 3, PRE = 1 << 4, DTE = 1 << 2;
    /** PDTS for a full 20-bit directory. */
    static final long PDTS_MAX = 7L << 9;

    /** Writes the PASID entry (creating the PASID table), then flushes PASID cache and IOTLB for it. */
    long pasidEntry(final long dir, final int pasid, final long q0, final long q1, final long q2) {
        final long de = dir + (pasid >>> 6) * 8L;
        long d = r64(de);
        if ((d & 1) == 0) {
            d = page() | 1;
            w64(de, d);
        }
        final long pe = (d & ~0xFFFL) + (pasid & 0x3F) * 64L;
        w64(pe + 8, q1);
        w64(pe + 16, q2);
        w64(pe, q0);
        flushPasidCache();
        flushIotlb();
        return pe;
    }

    static long ssEntryQ0(final PageTableWriter ss) { return ss.root() | (long) (ss.levels() - 2) << 2 | 2L << 6 | 1; }

    static long fsEntryQ2(final PageTableWriter fs) { return fs.root() | (fs.levels() == 5 ? 1L << 2 : 0); }

    long pasidSecondStage(final long dir, final int pasid, final int did, final PageTableWriter ss) {
        return pasidEntry(dir, pasid, ssEntryQ0(ss), did, 0);
    }

    long pasidFirstStage(final long dir, final int pasid, final int did, final PageTableWriter fs) {
        return pasidEntry(dir, pasid, 1L << 6 | 1, did, fsEntryQ2(fs));
    }

    long pasidNested(final long dir, final int pasid, final int did, final PageTableWriter fs, final PageTableWriter ss) {
        return pasidEntry(dir, pasid, ss.root() | (long) (ss.levels() - 2) << 2 | 3L << 6 | 1, did, fsEntryQ2(fs));
    }

    /** dmar_fault: reads the records from FSTS.FRI, clears each F, then FSTS. */
    List<Fault> faults() {
        final List<Fault> out = new ArrayList<>();
        final int fsts = m.read32(FSTS);
        if ((fsts & 3) == 0) return out;
        final long cap = m.read64(CAP);
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
        m.write32(FSTS, 1 | 2);
        return out;
    }

    /** A remappable-format MSI address for IRTE {@code index}. */
    static long remappableMsiAddress(final int index) {
        return 0xFEE0_0000L | (long) (index & 0x7FFF) << 5 | 1 << 4 | ((index >>> 15) & 1) << 2;
    }

    /** Writes IRTE {@code index} and flushes it from the interrupt-entry cache. */
    void irte(final int index, final long lo, final long hi) {
        w64(irt + index * 16L + 8, hi);
        w64(irt + index * 16L, lo);
        qi(0x4 | 1 << 4 | (long) index << 32, 0);
    }
}
