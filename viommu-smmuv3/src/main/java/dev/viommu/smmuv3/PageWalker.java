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
 * VMSAv8-64 table walks as the SMMU does them (IHI0070 §3.4, §3.13, Arm ARM D8; descriptor bits in {@link Pte}):
 * stage 1 and stage 2 with 4 KiB, 16 KiB and 64 KiB granules, concatenated stage-2 start tables, hierarchical
 * permissions (stage 2 with XN[1:0]), and hardware access-flag and dirty-state updates made with compare-and-set
 * in guest memory. In nested mode every stage-1 table address is an IPA, translated through stage 2 before it is
 * read (faults there are CLASS=TT).
 * <p>
 * Walks return the output address, or -1 with the fault in the caller's {@link FaultRecord}; the leaf's size,
 * base and permissions are left in fields. Nothing is allocated. Each walk is bounded by the level count.
 * <p>
 * Shaped for the IOTLB-miss path (issue 5 figures): descriptors are read from the cached RAM region with one
 * bounds check, table levels test only "valid table within the output size" and defer every other check to
 * the leaf, and stage-1 leaf permissions are one lookup in {@link S1Permissions}' table. Every check of the
 * walker this replaced is kept, in the same priority order: {@code PageWalkerDifferentialTest} runs both on
 * random tables and configurations and requires identical outputs, fault records and descriptor updates.
 */
final class PageWalker {
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

    PageWalker(final SmmuV3Config cfg) { this.cfg = cfg; }

    PageWalker memory(final GuestMemory m) {
        if (m != mem) {
            mem = m;
            seg = null;
            segBase = 0;
            segEnd = 0;
        }
        return this;
    }

    /**
     * Reads one 8-byte descriptor outside the cached region, single-copy atomic as {@link GuestMemory#load64Acquire}
     * does (it throws outside RAM or misaligned), and caches the region that holds it. The walk reads descriptors
     * inside the cached region itself, with one bounds check and a plain (single-copy-atomic, aligned) load.
     */
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
                s2.ha(), s2.hd(), s2.affd(), 0, null, access, clazz, f);
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
                cd.ha(), cd.hd(), cd.affd(), (cd.wxn() ? S1Permissions.WXN : 0) | (el2 ? S1Permissions.EL2 : 0), nest,
                access, Evt.CLASS_IN, f);
    }

    /**
     * One walk. The level loop is kept short because its work sits between dependent descriptor loads: the next
     * descriptor's offset in the region is the table address plus an index computed beside the load, the region
     * bounds check is a predicted branch, and legality checks other than "valid table" wait for the leaf.
     * {@code permFlags}: {@link S1Permissions#WXN}, {@link S1Permissions#EL2} (stage 1 only).
     */
    private long walk(final boolean s2, final long ttb, final long ia, final int inputBits, final int g,
                      final int start, final int oaBits, final boolean had, final boolean ha, final boolean hd,
                      final boolean affd, final int permFlags, final StreamConfig.S2 nest, final int access,
                      final int clazz, final FaultRecord f) {
        // Output addresses at or above 2^oaBits are an address-size fault (oaBits <= 52).
        final long oaLimit = -1L << oaBits;
        if ((ttb & oaLimit) != 0) return fault(s2, f, EventId.F_ADDR_SIZE, ia, clazz, access);
        final int stride = g - 3;
        final long strideMask = (1L << stride) - 1;
        final boolean oa52 = g == 16 && cfg.oasBits() == 52;
        // A table descriptor's next-level address: OA[47:g] (plus OA[51:48] from bits [15:12] with 64K/52-bit).
        final long tableMask = 0x0000_FFFF_FFFF_F000L & -(1L << g);
        // The region of the last read, in locals: no field loads on the level loop's fast path.
        MemorySegment rs = seg;
        long rBase = segBase, rEnd = segEnd;
        // The OR of every table descriptor on the way down: APTable/PXNTable/UXNTable apply hierarchically.
        long tableAttrs = 0;
        int level = start, lsb = g + (3 - start) * stride, retries = 0;
        // Descriptor addresses are 8-byte aligned by construction: TTB fields are bits [51:4] (16-byte aligned)
        // and next-level tables are granule-aligned (readSlow checks alignment anyway).
        long descAddr = ttb + ((ia >>> lsb) & ((1L << (inputBits - lsb)) - 1)) * 8;   // an IPA when nested
        // Bounded: the level only grows (start..3), and a lost compare-and-set re-reads the same level at most
        // HTTU_RETRIES times.
        while (true) {
            long descPa = descAddr;
            if (nest != null) {
                descPa = stage2(nest, descAddr, AccessType.READ, Evt.CLASS_TT, f);
                if (descPa < 0) return -1;
            }
            final long off = descPa - rBase;
            final long desc;
            if (Long.compareUnsigned(off, rEnd) < 0) {
                desc = rs.get(LE64, off);
            } else {
                try {
                    desc = readSlow(descPa);
                } catch (GuestMemoryException e) {
                    f.fetchAddr = descPa;
                    f.s2 = s2;
                    return f.fault(EventId.F_WALK_EABT);
                }
                rs = seg;
                rBase = segBase;
                rEnd = segEnd;
            }
            if ((desc & 3) == 3 && level < 3) {   // Valid and Table: the next level
                long next = desc & tableMask;
                if (oa52) next |= Pte.OA_HI_64K.get(desc) << 48;
                if ((next & oaLimit) != 0) return fault(s2, f, EventId.F_ADDR_SIZE, ia, clazz, access);
                tableAttrs |= desc;
                level++;
                lsb -= stride;
                descAddr = next + ((ia >>> lsb) & strideMask) * 8;
                continue;
            }
            if (!Pte.VALID.isSet(desc)) return fault(s2, f, EventId.F_TRANSLATION, ia, clazz, access);
            // A page at level 3, or a block where the granule allows one (no DS/LPA2: 4K L1/L2, 16K/64K L2).
            if (level == 3 ? !Pte.TABLE.isSet(desc) : !(level == 2 || (level == 1 && g == 12))) {
                return fault(s2, f, EventId.F_TRANSLATION, ia, clazz, access);
            }
            long oa = desc & 0x0000_FFFF_FFFF_F000L;
            if (oa52) oa |= Pte.OA_HI_64K.get(desc) << 48;
            final long size = 1L << lsb;
            final long out = oa & -size;
            if ((out & oaLimit) != 0) return fault(s2, f, EventId.F_ADDR_SIZE, ia, clazz, access);
            long want = desc;
            if (!Pte.AF.isSet(desc)) {
                if (ha) want |= Pte.AF.mask();
                else if (!affd) return fault(s2, f, EventId.F_ACCESS, ia, clazz, access);
            }
            // Hardware dirty state (HD and DBM): a write to a clean-writable page makes it writable-dirty.
            final boolean dirtying = hd && (access & AccessType.WRITE) != 0 && Pte.DBM.isSet(desc);
            int pu, pp;
            if (s2) {
                if (dirtying) want |= Pte.S2AP_W.mask();
                final int rw = (Pte.S2AP_R.isSet(want) ? AccessType.READ : 0)
                        | (Pte.S2AP_W.isSet(want) ? AccessType.WRITE : 0);
                // XN[1:0] (IDR3.XNX): 00 both, 01 unprivileged only, 10 neither, 11 privileged only (Arm ARM
                // FEAT_XNX; Linux 7.3 KVM stage2_set_xn_attr encodes the same): bit xn of 0b1001 / 0b0011.
                final int xn = (int) (desc >>> Pte.PXN.lsb()) & 3;
                pp = rw | (0b1001 >>> xn & 1) * AccessType.EXEC;
                pu = rw | (0b0011 >>> xn & 1) * AccessType.EXEC;
            } else {
                final long ta = had ? 0 : tableAttrs;   // HADx = 1: the table attributes are ignored
                // APTable[1] read-only overrides DBM: the page stays read-only and is not marked dirty.
                if (dirtying && !Pte.AP_TABLE_RO.isSet(ta)) want &= ~Pte.AP2.mask();
                final int p = S1Permissions.lookup(want, ta, permFlags);
                pp = p & RWX;
                pu = p >>> 3;
            }
            final int have = (access & AccessType.PRIV) != 0 ? pp : pu;
            if ((access & RWX & ~have) != 0) return permissionFault(s2, f, ia, clazz, access, have);
            if (want != desc) {
                long updPa = descPa;
                if (nest != null) {
                    // A stage-1 descriptor update is a write through stage 2: without stage-2 write permission it
                    // is a stage-2 fault, CLASS = TT, TTRnW = 0, IPA = the descriptor's (IHI0070 §3.13.5, §7.3.16;
                    // Arm ARM AArch64.S1Translate translates the update with CreateAccDescTTEUpdate). Stage-2
                    // HTTU applies to that write (AF; dirty state with S2HD and DBM).
                    updPa = stage2(nest, descAddr, AccessType.WRITE, Evt.CLASS_TT, f);
                    if (updPa < 0) return -1;
                }
                try {
                    if (!mem.compareAndSet64(updPa, desc, want)) {
                        // Changed under us: use the new value (Arm ARM I_YZSVV) by reading this level again. The
                        // architecture has no bound; after HTTU_RETRIES the update fails as F_WALK_EABT, the
                        // event IHI0070 §5.4 (CD.IR0) gives a hardware update that cannot be made atomically.
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
            leafSize = size;
            leafBase = ia & -size;
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

    /**
     * F_PERMISSION for an access that {@code have} does not grant. An atomic (READ | WRITE; never marked
     * Instruction, {@link RequestedAccess}) is checked for write before read, so one that may write (a
     * writable-clean descriptor included, {@code have} being computed after the dirty-state update) faults on
     * its read and is recorded with RnW = 1 (IHI0070 §13.1.1, v3.1+); without write permission RnW stays 0.
     */
    private static long permissionFault(final boolean s2, final FaultRecord f, final long addr, final int clazz,
                                        final int access, final int have) {
        final int rw = AccessType.READ | AccessType.WRITE;
        f.atomicReadDenied = (access & rw) == rw && (access & RWX & ~have) == AccessType.READ;
        return fault(s2, f, EventId.F_PERMISSION, addr, clazz, access);
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
