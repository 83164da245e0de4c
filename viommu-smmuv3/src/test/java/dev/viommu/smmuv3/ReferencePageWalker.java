package dev.viommu.smmuv3;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.core.mem.GuestRegion;
import dev.viommu.core.translate.AccessType;
import dev.viommu.smmuv3.spec.EventId;
import dev.viommu.smmuv3.spec.Evt;
import dev.viommu.smmuv3.spec.Pte;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The walker as it was before the miss-path rework (kept verbatim, test-only, apart from the corrections made to
 * both walkers since: EL2 XNTable, EL0 execute-only, stage-2 XN[1:0], the HTTU give-up event, the stage-2
 * write check of a nested stage-1 descriptor update, the RnW of an atomic refused for reading):
 * {@link PageWalkerDifferentialTest} checks that the optimised {@link PageWalker} computes the same output, fault
 * record, leaf results and hardware updates for random tables and configurations.
 * <p>
 * Original description:
 * VMSAv8-64 table walks as the SMMU does them (IHI0070 §3.4, Arm ARM D8): stage 1 and stage 2
 * with 4 KiB, 16 KiB and 64 KiB granules, concatenated stage-2 start tables, hierarchical permissions, and
 * hardware access-flag and dirty-state updates made with compare-and-set in guest memory. In nested mode every
 * stage-1 table address is an IPA, translated through stage 2 before it is read (faults there are CLASS=TT).
 * <p>
 * Walks return the output address, or -1 with the fault in the caller's {@link FaultRecord}; the leaf's size,
 * base and permissions are left in fields. Nothing is allocated. Each walk is bounded by the level count.
 */
final class ReferencePageWalker {
    private static final int RWX = AccessType.READ | AccessType.WRITE | AccessType.EXEC;
    private static final int HTTU_RETRIES = 8;

    private static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final SmmuV3Config cfg;
    private GuestMemory mem;
    /**
     * The RAM region of the last descriptor read: table pages cluster, so a walk finds the region once and then
     * reads each descriptor with one bounds check instead of searching the region list per read. Dropped when
     * the guest memory map changes ({@link #memory}).
     */
    private MemorySegment seg;
    private long segBase, segEnd;   // segEnd: offsets below it can start an 8-byte read; 0 = no region

    /** Results of the last successful walk. */
    long leafSize, leafBase;
    int permsPriv, permsUnpriv;
    boolean global;
    long httuUpdates;

    ReferencePageWalker(final SmmuV3Config cfg) { this.cfg = cfg; }

    ReferencePageWalker memory(final GuestMemory m) {
        if (m != mem) {
            mem = m;
            seg = null;
            segBase = 0;
            segEnd = 0;
        }
        return this;
    }

    /**
     * Reads one 8-byte descriptor: each quadword once, single-copy atomic (aligned, one load), as
     * {@link GuestMemory#load64Acquire} does; outside RAM or misaligned it throws as that does.
     */
    long readDescriptor(final long pa) throws GuestMemoryException {
        final long off = pa - segBase;
        if ((pa & 7) == 0 && Long.compareUnsigned(off, segEnd) < 0) return seg.get(LE64, off);
        return readSlow(pa);
    }

    private long readSlow(final long pa) throws GuestMemoryException {
        final long v = mem.load64Acquire(pa);   // throws for misaligned or outside RAM
        final GuestRegion r = mem.regionAt(pa);
        if (r != null && r.size() >= 8) {
            seg = r.segment();
            segBase = r.base();
            segEnd = r.size() - 7;
        }
        return v;
    }

    /** Stage 2 alone: IPA to PA. {@code clazz} is the event CLASS if it faults (IN, TT or CD). */
    long stage2(final StreamConfig.S2 s2, final long ipa, final int access, final int clazz, final FaultRecord f) {
        if ((ipa >>> s2.inputBits()) != 0) return s2Fault(f, EventId.F_TRANSLATION, ipa, clazz, access);
        return walk(true, s2.ttb(), ipa, s2.inputBits(), s2.granuleShift(), s2.startLevel(), s2.oaBits(), true,
                s2.ha(), s2.hd(), s2.affd(), false, false, null, access, clazz, f);
    }

    /**
     * Stage 1 with the CD's table for the region the VA selects; {@code nest} is the stream's stage 2 when nested
     * (tables are then IPAs). Returns the stage-1 output (an IPA when nested).
     */
    long stage1(final CdConfig cd, final boolean el2, final StreamConfig.S2 nest, final long va, final int access,
                final FaultRecord f) {
        // Region selection: VA[55] picks TTB1; with TBI the top byte is ignored, else it must match VA[55].
        final boolean upper = (va >>> 55 & 1) != 0;
        final CdConfig.Tt tt = upper ? cd.tt1() : cd.tt0();
        if (tt == null) return f.fault(EventId.F_TRANSLATION);   // EPDx = 1
        final boolean tbi = upper ? cd.tbi1() : cd.tbi0();
        final long v = tbi ? (va << 8) >> 8 : va;               // sign-extend from bit 55 when TBI
        if ((v >> tt.inputBits()) != (upper ? -1L : 0L)) return f.fault(EventId.F_TRANSLATION);
        final long ia = va & ((1L << tt.inputBits()) - 1);
        return walk(false, tt.ttb(), ia, tt.inputBits(), tt.granuleShift(), tt.startLevel(), cd.ipsBits(), tt.had(),
                cd.ha(), cd.hd(), cd.affd(), cd.wxn(), el2, nest, access, Evt.CLASS_IN, f);
    }

    private long walk(final boolean s2, final long ttb, final long ia, final int inputBits, final int g,
                      final int start, final int oaBits, final boolean had, final boolean ha, final boolean hd,
                      final boolean affd, final boolean wxn, final boolean el2, final StreamConfig.S2 nest,
                      final int access, final int clazz, final FaultRecord f) {
        if ((ttb >>> oaBits) != 0) return fault(s2, f, EventId.F_ADDR_SIZE, ia, clazz, access);
        final int stride = g - 3;
        final boolean oa52 = g == 16 && cfg.oasBits() == 52;
        final long granuleMask = -(1L << g);
        long table = ttb;
        // The OR of every table descriptor on the way down: APTable/PXNTable/UXNTable apply hierarchically.
        long tableAttrs = 0;
        int level = start, lsb = g + (3 - start) * stride, bits = inputBits - lsb, retries = 0;
        long descPa = 0;
        // Bounded: the level only grows (start..3), and a lost compare-and-set re-reads the same level at most
        // HTTU_RETRIES times.
        while (true) {
            final long descIpa = table + ((ia >>> lsb) & ((1L << bits) - 1)) * 8;
            descPa = descIpa;
            if (nest != null) {
                descPa = stage2(nest, descIpa, AccessType.READ, Evt.CLASS_TT, f);
                if (descPa < 0) return -1;
            }
            final long desc;
            try {
                desc = readDescriptor(descPa);
            } catch (GuestMemoryException e) {
                f.fetchAddr = descPa;
                f.s2 = s2;
                return f.fault(EventId.F_WALK_EABT);
            }
            if (!Pte.VALID.isSet(desc)) return fault(s2, f, EventId.F_TRANSLATION, ia, clazz, access);
            final boolean isTable = Pte.TABLE.isSet(desc);
            long oa = desc & 0x0000_FFFF_FFFF_F000L;
            if (oa52) oa |= Pte.OA_HI_64K.get(desc) << 48;
            if (level < 3 && isTable) {
                final long next = oa & granuleMask;
                if ((next >>> oaBits) != 0) return fault(s2, f, EventId.F_ADDR_SIZE, ia, clazz, access);
                tableAttrs |= desc;
                table = next;
                level++;
                lsb -= stride;
                bits = stride;
                continue;
            }
            // A page at level 3, or a block where the granule allows one (no DS/LPA2: 4K L1/L2, 16K/64K L2).
            if (level == 3 ? !isTable : !(level == 2 || (level == 1 && g == 12))) {
                return fault(s2, f, EventId.F_TRANSLATION, ia, clazz, access);
            }
            final long size = 1L << lsb;
            final long out = oa & ~(size - 1);
            if ((out >>> oaBits) != 0) return fault(s2, f, EventId.F_ADDR_SIZE, ia, clazz, access);
            final boolean write = (access & AccessType.WRITE) != 0;
            long want = desc;
            if (!Pte.AF.isSet(desc)) {
                if (ha) want |= Pte.AF.mask();
                else if (!affd) return fault(s2, f, EventId.F_ACCESS, ia, clazz, access);
            }
            final boolean dbm = hd && Pte.DBM.isSet(desc);
            int pu, pp;
            if (s2) {
                boolean w = Pte.S2AP_W.isSet(desc);
                if (!w && write && dbm) { want |= Pte.S2AP_W.mask(); w = true; }
                final int p = (Pte.S2AP_R.isSet(desc) ? AccessType.READ : 0) | (w ? AccessType.WRITE : 0);
                final boolean xn1 = Pte.UXN.isSet(desc), xn0 = Pte.PXN.isSet(desc);   // XN[1:0] (FEAT_XNX)
                pp = p | (xn1 == xn0 ? AccessType.EXEC : 0);   // 00 and 11: privileged execute
                pu = p | (!xn1 ? AccessType.EXEC : 0);         // 00 and 01: unprivileged execute
            } else {
                final boolean hier = !had;   // HADx = 1: the table attributes are ignored
                final boolean tRO = hier && Pte.AP_TABLE_RO.isSet(tableAttrs);
                final boolean tNoEl0 = hier && Pte.AP_TABLE_NO_EL0.isSet(tableAttrs);
                final boolean tPXN = hier && Pte.PXN_TABLE.isSet(tableAttrs);
                final boolean tUXN = hier && Pte.UXN_TABLE.isSet(tableAttrs);
                boolean ro = tRO || Pte.AP2.isSet(desc);
                if (ro && !tRO && write && dbm) { want &= ~Pte.AP2.mask(); ro = false; }
                final boolean el0 = el2 || (Pte.AP1.isSet(desc) && !tNoEl0);
                final boolean privW = !ro, unprivW = el0 && !ro;
                final boolean privX = !(el2 ? Pte.UXN.isSet(desc) || tUXN : Pte.PXN.isSet(desc) || tPXN)
                        && !(el0 && unprivW && !el2) && !(wxn && privW);
                final boolean unprivX = !Pte.UXN.isSet(desc) && !tUXN && !(wxn && unprivW);
                pp = AccessType.READ | (privW ? AccessType.WRITE : 0) | (privX ? AccessType.EXEC : 0);
                pu = el2 ? pp : (el0 ? AccessType.READ : 0) | (unprivW ? AccessType.WRITE : 0)
                        | (unprivX ? AccessType.EXEC : 0);
                // The cached permissions reflect the descriptor as stored (a clean DBM page stays read-only).
                if ((want & Pte.AP2.mask()) != 0 && !tRO) {
                    pp &= ~AccessType.WRITE;
                    pu &= ~AccessType.WRITE;
                }
            }
            final int have = (access & AccessType.PRIV) != 0 ? pp : pu;
            if ((access & RWX & ~have) != 0) {
                // An atomic that may write but not read is recorded RnW = 1 (IHI0070 §13.1.1).
                f.atomicReadDenied = (access & (AccessType.READ | AccessType.WRITE)) == (AccessType.READ | AccessType.WRITE)
                        && (access & RWX & ~have) == AccessType.READ;
                return fault(s2, f, EventId.F_PERMISSION, ia, clazz, access);
            }
            if (want != desc) {
                // Nested: the update is a write through stage 2 (IHI0070 §3.13.5), CLASS = TT, TTRnW = 0 on a fault.
                final long updPa = nest == null ? descPa : stage2(nest, descIpa, AccessType.WRITE, Evt.CLASS_TT, f);
                if (updPa < 0) return -1;
                try {
                    if (!mem.compareAndSet64(updPa, desc, want)) {
                        // Changed under us: read this level again; after HTTU_RETRIES the update fails (F_WALK_EABT).
                        if (++retries >= HTTU_RETRIES) {
                            f.fetchAddr = updPa;
                            f.s2 = s2;
                            return f.fault(EventId.F_WALK_EABT);
                        }
                        continue;
                    }
                } catch (GuestMemoryException e) {
                    f.fetchAddr = updPa;
                    f.s2 = s2;
                    return f.fault(EventId.F_WALK_EABT);
                }
                httuUpdates++;
            }
            if (s2 && (want & Pte.S2AP_W.mask()) == 0) {
                pp &= ~AccessType.WRITE;
                pu &= ~AccessType.WRITE;
            }
            leafSize = size;
            leafBase = ia & ~(size - 1);
            permsPriv = pp;
            permsUnpriv = pu;
            global = s2 || (want & (1L << 11)) == 0;   // nG
            return out | (ia & (size - 1));
        }
    }

    private static long fault(final boolean s2, final FaultRecord f, final int id, final long addr, final int clazz,
                              final int access) {
        if (s2) return s2Fault(f, id, addr, clazz, access);
        f.s2 = false;
        f.clazz = Evt.CLASS_IN;
        return f.fault(id);
    }

    private static long s2Fault(final FaultRecord f, final int id, final long ipa, final int clazz, final int access) {
        f.s2 = true;
        f.ipa = ipa;
        f.clazz = clazz;
        f.ttrnw = clazz != Evt.CLASS_TT || (access & AccessType.WRITE) == 0;
        return f.fault(id);
    }

    static int rwx() { return RWX; }
}
