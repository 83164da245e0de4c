package dev.viommu.smmuv3;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import static dev.viommu.smmuv3.SmmuV3TestGuest.*;

/**
 * The guest of {@link SmmuV3StructuredHostileGuestTest}: boots the SMMU through {@link SmmuV3TestGuest} (Linux's
 * probe and reset) and sets up streams of every kind the unit offers over real tables: abort, bypass, stage 1 with
 * several SubstreamIDs (linear or two-level CD tables, each S1DSS), other granules, stage 2, and nested. For every
 * request it can make it remembers the descriptors the translation goes through, so that an attacker can aim at
 * them and an oracle can rewrite one leaf and invalidate it as the Linux driver would. Commands go through
 * {@link #submit}, which never waits: the model consumes the queue synchronously.
 */
final class SmmuV3FuzzGuest {
    static final long RAM = 64L << 20;
    static final int NO_PASID = GuestMachine.NO_PASID;
    private static final long HEAP = 1L << 20;
    /** Input addresses of each context: {@link #PAGES} pages, a level-2 block and (4 KiB granule) a 1 GiB block. */
    static final long VA = 0x1000_0000L, VA_BLOCK = 0x4000_0000L, VA_GIGA = 0x80_0000_0000L;
    static final int PAGES = 6;
    /** Stage-1 output pages of nested streams (IPAs); stage 2 maps [0, IDENTITY) onto itself with 2 MiB blocks. */
    private static final long NESTED_IPA = 0x400_0000L, NESTED_BLOCK_IPA = 0x800_0000L, IDENTITY = 32L << 20;
    private static final long DATA = 0x200_0000L;
    static final int VMID_S2 = 5, VMID_NESTED = 6;

    enum Kind { ABORT, BYPASS, TERMINATED, S1, S2, NESTED }

    /**
     * A request the guest set up. {@code s1Leaf}/{@code s2Leaf}: the GPA of the leaf descriptor of each stage
     * (-1 when absent), at {@code s1Level}/{@code s2Level}; {@code ipa}: the stage-2 input. {@code ste}, {@code cd}:
     * the GPA of its STE and CD (-1: none); {@code stL1}, {@code cdL1}: of the level-1 descriptors leading to them.
     */
    record Known(int sid, int pasid, long va, Kind kind, int vmid, int asid, int granule, long s1Leaf, int s1Level,
                 long ipa, long s2Leaf, int s2Level, long ste, long stL1, long cd, long cdL1) {
        long s1LeafSize() { return leafSize(granule, s1Level); }

        long s2LeafSize() { return leafSize(12, s2Level); }

        static long leafSize(final int g, final int level) { return 1L << (g + (3 - level) * (g - 3)); }
    }

    final DirectMachine m;
    final GuestMemory mem;
    final SmmuV3TestGuest g;
    final SmmuV3Device dev;
    final SmmuV3Config cfg;
    final List<Known> known = new ArrayList<>();
    /** STE, CD, level-1 and page-table qwords the known requests go through: what an attacker aims at. */
    private final Set<Long> hot = new LinkedHashSet<>();
    final Set<Integer> vmids = new TreeSet<>();
    /** Every structure lies in [{@link #tablesStart}, {@link #top}); the queues lie below. */
    long tablesStart, top;
    private int contexts;
    private SmmuV3TestGuest.PageTable nestedS2;

    private SmmuV3FuzzGuest(final Map<String, Object> props) {
        m = new DirectMachine("arm-smmuv3", props, RAM);
        mem = m.memory();
        dev = (SmmuV3Device) m.device();
        cfg = dev.config();
        g = new SmmuV3TestGuest(m, HEAP);
    }

    /** Probes, resets and builds every stream the unit supports. */
    static SmmuV3FuzzGuest boot(final Map<String, Object> props) {
        final SmmuV3FuzzGuest f = new SmmuV3FuzzGuest(props);
        f.g.hwProbe();
        f.g.initStructures();
        f.tablesStart = f.g.strtab;
        f.g.deviceReset();
        f.streams();
        f.top = f.g.alloc(4096, 4096) + 4096;
        f.g.log.clear();
        return f;
    }

    long r64(final long a) {
        try { return mem.read64(a); } catch (GuestMemoryException e) { throw new IllegalStateException(e); }
    }

    void w64(final long a, final long v) {
        try { mem.write64(a, v); } catch (GuestMemoryException e) { throw new IllegalStateException(e); }
    }

    // ---------------------------------------------------------------- set-up

    private void streams() {
        final boolean s1 = g.s1p, s2 = g.s2p;
        final int ssidBits = g.ssidBits;
        final boolean ha = g.httu >= 1, hd = g.httu == 2;
        installSte(0x01, new long[] {1, 0, 0, 0, 0, 0, 0, 0});
        known.add(simple(0x01, VA, Kind.ABORT));
        installSte(0x02, bypassSte());
        known.add(simple(0x02, VA, Kind.BYPASS));
        if (s1) {
            vmids.add(0);
            // A stream with substreams: no-SSID traffic uses CD 0 (S1DSS=SSID0); two-level CD table when offered.
            final int cdMax = ssidBits == 0 ? 0 : Math.min(ssidBits, g.cd2l ? 8 : 4);
            final CdTable t10 = new CdTable(cdMax, cdMax >= 7 ? 1 : 0);
            final SmmuV3TestGuest.PageTable shared = s1Context(0x10, NO_PASID, t10, 1, 12, ha, hd, null);
            if (cdMax > 0) {
                s1Context(0x10, 1, t10, 2, 12, ha, hd, null);
                s1Context(0x10, cdMax >= 7 ? 0x41 : 3, t10, 3, 12, ha, hd, null);
            }
            ste(0x10, s1Ste(t10.base, cdMax, 2, t10.fmt), cfg.ats() ? 1L << 28 : 0);
            // Another stream (on another bus with a two-level stream table) attached to the same domain.
            final int other = g.sidBits > 8 ? 0x110 : 0x30;
            final CdTable tOther = new CdTable(0, 0);
            writeCd(tOther.cd(0), other, 0, s1Cd(1, shared.root, 12, 5, ha, hd));
            ste(other, s1Ste(tOther.base, 0, 0, 0), 0);
            addS1Known(other, NO_PASID, shared, 1, 0, Kind.S1, -1, tOther.cd(0), -1);
            if (ssidBits > 0) {
                final CdTable t11 = new CdTable(Math.min(ssidBits, 4), 0);
                s1Context(0x11, 3, t11, 4, 12, ha, hd, null);
                ste(0x11, s1Ste(t11.base, t11.cdMax, 1, 0), 0);                 // S1DSS=BYPASS
                known.add(simple(0x11, VA + 0x10, Kind.BYPASS));
                final CdTable t12 = new CdTable(Math.min(ssidBits, 4), 0);
                s1Context(0x12, 2, t12, 5, 12, ha, hd, null);
                ste(0x12, s1Ste(t12.base, t12.cdMax, 0, 0), 0);                 // S1DSS=TERMINATE
                known.add(simple(0x12, VA + 0x10, Kind.TERMINATED));
            }
            if (cfg.gran64k()) granuleStream(0x13, 16, 6, ha, hd);
            if (cfg.gran16k()) granuleStream(0x14, 14, 7, ha, hd);
        }
        if (s2) {
            vmids.add(VMID_S2);
            final SmmuV3TestGuest.PageTable pt = g.s2Table();
            final long out = DATA + (long) contexts++ * 0x10_0000;
            for (int i = 0; i < PAGES; i++) pt.map(VA + 4096L * i, out + 4096L * i, i % 3 != 0, false, i != 4, false);
            pt.mapBlock(VA_BLOCK, 0x20_0000L * contexts, 2);
            pt.mapBlock(VA_GIGA, 1L << 30, 1);
            ste(0x20, s2Ste(VMID_S2, pt.root, 5), stallBit(57));
            for (final long va : new long[] {VA, VA + 0x1000, VA + 0x4000, VA + 0x5000 + 0x18, VA_BLOCK + 0x1234, VA_GIGA + 0x12_3456}) {
                final List<Long> slots = new ArrayList<>();
                final int level = path(pt, va, slots);
                hot.addAll(slots);
                known.add(new Known(0x20, NO_PASID, va, Kind.S2, VMID_S2, -1, 12, -1, -1, va, level < 0 ? -1 : last(slots), level,
                        g.steAddr(0x20), stL1(0x20), -1, -1));
            }
            if (s1) nestedStreams(ssidBits, ha, hd);
        }
    }

    /** Two nested streams of one VM: one with substreams (two-level CD table when offered), one with S1DSS=BYPASS. */
    private void nestedStreams(final int ssidBits, final boolean ha, final boolean hd) {
        vmids.add(VMID_NESTED);
        nestedS2 = g.s2Table();
        for (long ipa = 0; ipa < IDENTITY; ipa += 2L << 20) nestedS2.mapBlock(ipa, ipa, 2);
        final int cdMax = ssidBits == 0 ? 0 : Math.min(ssidBits, g.cd2l ? 7 : 4);
        final CdTable t = new CdTable(cdMax, cdMax >= 7 ? 1 : 0);            // IPAs = PAs: inside the identity
        s1Context(0x21, NO_PASID, t, 8, 12, ha, hd, nestedS2);
        if (cdMax > 0) s1Context(0x21, cdMax >= 7 ? 0x41 : 1, t, 9, 12, ha, hd, nestedS2);
        ste(0x21, nestedSte(t.base, cdMax, 2, VMID_NESTED, nestedS2.root, 5), 0);
        if (ssidBits > 0) {
            final CdTable t2 = new CdTable(Math.min(ssidBits, 4), 0);
            s1Context(0x22, 2, t2, 10, 12, ha, hd, nestedS2);
            ste(0x22, nestedSte(t2.base, t2.cdMax, 1, VMID_NESTED, nestedS2.root, 5), 0);   // S1DSS=BYPASS: stage 2 only
            for (final long ipa : new long[] {NESTED_IPA + 0x10, NESTED_IPA + 0x1000}) {
                final List<Long> slots = new ArrayList<>();
                final int level = path(nestedS2, ipa, slots);
                hot.addAll(slots);
                known.add(new Known(0x22, NO_PASID, ipa, Kind.S2, VMID_NESTED, -1, 12, -1, -1, ipa, last(slots), level,
                        g.steAddr(0x22), stL1(0x22), -1, -1));
            }
        }
    }

    private void granuleStream(final int sid, final int granule, final int asid, final boolean ha, final boolean hd) {
        final CdTable t = new CdTable(0, 0);
        s1Context(sid, NO_PASID, t, asid, granule, ha, hd, null);
        ste(sid, s1Ste(t.base, 0, 0, 0), 0);
    }

    /** A request without a CD or table of its own: abort, bypass, or stage 1 terminated or bypassed by S1DSS. */
    private Known simple(final int sid, final long va, final Kind kind) {
        return new Known(sid, NO_PASID, va, kind, 0, -1, 12, -1, -1, va, -1, -1, g.steAddr(sid), stL1(sid), -1, -1);
    }

    private long stL1(final int sid) { return g.linearStrtab ? -1 : g.strtab + 8L * (sid >>> 8); }

    /**
     * A stage-1 context (CD {@code pasid}, 0 for no SSID): its own table mapping {@link #PAGES} pages (read-only,
     * writable, clean-writable with DBM when HD; one without AF, one privileged-only) and blocks, then the CD.
     * With {@code s2} (nested) the outputs are IPAs that stage 2 maps page by page.
     */
    private SmmuV3TestGuest.PageTable s1Context(final int sid, final int pasid, final CdTable t, final int asid,
                                                final int granule, final boolean ha, final boolean hd,
                                                final SmmuV3TestGuest.PageTable s2) {
        final SmmuV3TestGuest.PageTable pt = g.s1Table(granule);
        final int ctx = contexts++;
        final long step = 1L << granule;
        final long out = (s2 != null ? NESTED_IPA : DATA) + (long) ctx * 0x10_0000;
        for (int i = 0; i < PAGES; i++) {
            final boolean dbmClean = hd && i % 3 == 2;
            pt.map(VA + step * i, out + step * i, i % 3 == 1, i == 5, i != 4, dbmClean);
            if (s2 != null) s2.map(out + step * i, DATA + 0x80_0000L + (long) ctx * 0x10_0000 + step * i, true, false, true, false);
        }
        final int blockShift = granule + (granule - 3);
        final long blockOut = s2 != null ? NESTED_BLOCK_IPA + ((long) ctx << 21) : (long) (ctx + 1) << blockShift;
        pt.mapBlock(VA_BLOCK, blockOut, 2);
        if (s2 != null) s2.mapBlock(blockOut, 0x100_0000L, 2);
        if (granule == 12) {
            final long gigaOut = (long) (ctx + (s2 != null ? 8 : 1)) << 30;
            pt.mapBlock(VA_GIGA, gigaOut, 1);
            if (s2 != null) s2.mapBlock(gigaOut, 1L << 30, 1);
        }
        final long[] cd = s1Cd(asid, pt.root, granule, 5, ha, hd);
        if (cfg.stalls() && (asid & 1) == 0) cd[0] |= 1L << 44;                 // CD.S: stall its faults
        final int index = pasid == NO_PASID ? 0 : pasid;
        writeCd(t.cd(index), sid, index, cd);
        addS1Known(sid, pasid, pt, asid, s2 != null ? VMID_NESTED : 0, s2 != null ? Kind.NESTED : Kind.S1, granule,
                t.cd(index), t.l1(index));
        return pt;
    }

    /** The requests of one stage-1 context. Its STE is written after its CDs: its address is found here. */
    private void addS1Known(final int sid, final int pasid, final SmmuV3TestGuest.PageTable pt, final int asid,
                            final int vmid, final Kind kind, final int granule, final long cd, final long cdL1) {
        final int gr = granule < 0 ? pt.granule : granule;
        final long step = 1L << gr;
        final List<Long> vas = new ArrayList<>(List.of(VA + 0x10, VA + step + 0x20, VA + 2 * step, VA + 4 * step + 8,
                VA + 5 * step, VA_BLOCK + 0x1234));
        if (gr == 12) vas.add(VA_GIGA + 0x12_3456L);
        for (final long va : vas) {
            final List<Long> slots = new ArrayList<>();
            final int level = path(pt, va, slots);
            hot.addAll(slots);
            final long s1Leaf = level < 0 ? -1 : last(slots);
            long ipa = -1, s2Leaf = -1;
            int s2Level = -1;
            if (kind == Kind.NESTED && level >= 0) {
                final long desc = r64(s1Leaf);
                final long size = Known.leafSize(gr, level);
                ipa = (desc & 0x0000_FFFF_FFFF_F000L & -size) | (va & (size - 1));
                final List<Long> s2Slots = new ArrayList<>();
                s2Level = path(nestedS2, ipa, s2Slots);
                hot.addAll(s2Slots);
                if (s2Level >= 0) s2Leaf = last(s2Slots);
            }
            known.add(new Known(sid, pasid, va, kind, vmid, asid, gr, s1Leaf, level, ipa, s2Leaf, s2Level, g.steAddr(sid),
                    stL1(sid), cd, cdL1));
        }
    }

    private static long last(final List<Long> l) { return l.get(l.size() - 1); }

    private long stallBit(final int bit) { return cfg.stalls() ? 1L << bit : 0; }

    /**
     * Installs the STE (CFGI_STE) and notes its dwords; {@code extra} goes into dword 2 of a stage-2-only STE (S2S)
     * and into dword 1 of the others (EATS).
     */
    private void ste(final int sid, final long[] ste, final long extra) {
        if (extra != 0 && (ste[0] >>> 1 & 7) == 6) ste[2] |= extra;
        else ste[1] |= extra;
        installSte(sid, ste);
    }

    private void installSte(final int sid, final long[] ste) {
        if (!g.installSte(sid, ste)) throw new IllegalStateException("CFGI_STE failed during set-up");
        final long a = g.steAddr(sid);
        for (int i = 0; i < 4; i++) hot.add(a + 8L * i);
        if (!g.linearStrtab) hot.add(g.strtab + 8L * (sid >>> 8));
    }

    private void writeCd(final long cdAddr, final int sid, final int ssid, final long[] cd) {
        if (!g.installCd(cdAddr, sid, ssid, cd)) throw new IllegalStateException("CFGI_CD failed during set-up");
        for (int i = 0; i < 3; i++) hot.add(cdAddr + 8L * i);
    }

    /** A CD table: linear, or two-level with 64-CD leaf tables (S1Fmt = 1) allocated on first use. */
    private final class CdTable {
        final int cdMax, fmt;
        final long base;
        private final long[] l2;

        CdTable(final int cdMax, final int fmt) {
            this.cdMax = cdMax;
            this.fmt = fmt;
            if (fmt == 0) {
                base = g.alloc(64L << cdMax, 64);
                l2 = null;
            } else {
                base = g.alloc(8L << (cdMax - 6), 64);
                l2 = new long[1 << (cdMax - 6)];
            }
        }

        long cd(final int ssid) {
            if (fmt == 0) return base + 64L * ssid;
            final int i = ssid >>> 6;
            if (l2[i] == 0) {
                l2[i] = g.alloc(4096, 4096);
                w64(base + 8L * i, l2[i] | 1);
                hot.add(base + 8L * i);
            }
            return l2[i] + 64L * (ssid & 63);
        }

        /** The level-1 descriptor of {@code ssid}'s leaf table, or -1 for a linear table. */
        long l1(final int ssid) { return fmt == 0 ? -1 : base + 8L * (ssid >>> 6); }
    }

    /** The descriptor slots a walk of {@code ia} reads (the leaf last); the leaf's level, or -1 if there is none. */
    int path(final SmmuV3TestGuest.PageTable pt, final long ia, final List<Long> slots) {
        final int stride = pt.granule - 3;
        long table = pt.root;
        for (int level = pt.startLevel; ; level++) {
            final int lsb = pt.granule + (3 - level) * stride;
            final int bits = level == pt.startLevel ? pt.inputBits - lsb : stride;
            final long slot = table + 8 * ((ia >>> lsb) & ((1L << bits) - 1));
            slots.add(slot);
            final long d = r64(slot);
            if ((d & 1) == 0) return -1;
            if (level == 3 || (d & 2) == 0) return level;
            table = d & 0x0000_FFFF_FFFF_F000L & -(1L << pt.granule);
        }
    }

    // ---------------------------------------------------------------- the structures as the guest built them

    List<Long> hotQwords() { return new ArrayList<>(hot); }

    /** The leaf descriptors of the known requests, both stages. */
    List<Long> leaves() {
        final Set<Long> l = new LinkedHashSet<>();
        for (final Known k : known) {
            if (k.s1Leaf() >= 0) l.add(k.s1Leaf());
            if (k.s2Leaf() >= 0) l.add(k.s2Leaf());
        }
        return new ArrayList<>(l);
    }

    long[] read(final List<Long> qwords) {
        final long[] v = new long[qwords.size()];
        for (int i = 0; i < v.length; i++) v[i] = r64(qwords.get(i));
        return v;
    }

    /** Whether every structure qword but {@code except} and those in {@code leaves} still has its {@code clean} value. */
    boolean onlyLeavesDiffer(final byte[] clean, final long except, final Set<Long> leaves) {
        final byte[] now = snapshot();
        for (int o = 0; o < now.length; o += 8) {
            if (Arrays.equals(now, o, o + 8, clean, o, o + 8)) continue;
            final long a = tablesStart + o;
            if (a != except && !leaves.contains(a)) return false;
        }
        return true;
    }

    long randomStructureQword(final Random r) { return tablesStart + r.nextLong((top - tablesStart) / 8) * 8; }

    byte[] snapshot() {
        final byte[] b = new byte[(int) (top - tablesStart)];
        try { mem.read(tablesStart, b, 0, b.length); } catch (GuestMemoryException e) { throw new IllegalStateException(e); }
        return b;
    }

    void restore(final byte[] clean) {
        try { mem.write(tablesStart, clean, 0, clean.length); } catch (GuestMemoryException e) { throw new IllegalStateException(e); }
    }

    // ---------------------------------------------------------------- command queue

    /** The CMD_SYNC Linux ends a batch with: an MSI write of 0 to the sync entry itself (MSIPOLL), else SEV. */
    private long[] linuxSync() {
        final long at = g.cmdqBase + 16L * (g.cmdqProd & ((1 << g.cmdqShift) - 1));
        return g.msipoll ? new long[] {OP_CMD_SYNC | (long) CS_IRQ << 12 | 3L << 22 | 0xFL << 24, at}
                : new long[] {OP_CMD_SYNC | (long) CS_SEV << 12 | 3L << 22 | 0xFL << 24, 0};
    }

    /**
     * Puts the commands and Linux's CMD_SYNC at the guest's PROD and publishes it. True if the SMMU consumed all
     * of them without a command error; never waits, never throws.
     */
    boolean submit(final List<long[]> cmds) {
        for (final long[] c : cmds) g.put(c[0], c[1]);
        final long[] sync = linuxSync();
        g.put(sync[0], sync[1]);
        return ring();
    }

    /** Publishes the guest's PROD; true if the SMMU is now idle at it without an active command error. */
    boolean ring() {
        m.write32(CMDQ_PROD, g.cmdqProd);
        return !g.gerrorActive(GERROR_CMDQ_ERR) && ((m.read32(CMDQ_CONS) ^ g.cmdqProd) & ((2 << g.cmdqShift) - 1)) == 0;
    }

    /** {@link #submit} for a guest that set the SMMU up correctly: failing is the model's fault. */
    void mustSubmit(final List<long[]> cmds) {
        if (!submit(cmds)) {
            throw new AssertionError("commands not completed: CONS=0x" + Integer.toHexString(m.read32(CMDQ_CONS))
                    + " PROD=0x" + Integer.toHexString(g.cmdqProd) + " GERROR=0x" + Integer.toHexString(m.read32(GERROR))
                    + " GERRORN=0x" + Integer.toHexString(m.read32(GERRORN)));
        }
    }

    /** Everything an SMMU may cache goes: CFGI_ALL, TLBI_NSNH_ALL, TLBI_S12_VMALL per VMID in use, TLBI_EL2_ALL. */
    void globalInvalidation() {
        final List<long[]> c = new ArrayList<>();
        c.add(new long[] {OP_CFGI_ALL, 31});
        c.add(new long[] {OP_TLBI_NSNH_ALL, 0});
        for (final int vmid : vmids) c.add(new long[] {OP_TLBI_S12_VMALL | (long) vmid << 32, 0});
        if (g.hyp) c.add(new long[] {OP_TLBI_EL2_ALL, 0});
        mustSubmit(c);
    }

    /**
     * Brings the guest's own set-up back, as a driver re-initialising the SMMU does: SMMUEN and the queues off
     * (CR0/CR0ACK), every global error acknowledged, then arm_smmu_device_reset (bases, PROD/CONS, CFGI_ALL,
     * TLBI, queues and IRQs on, SMMUEN on).
     */
    void reprogram() {
        m.write32(CR0, 0);
        if (m.read32(CR0ACK) != 0) throw new AssertionError("CR0ACK did not follow CR0 = 0");
        if (stalledTransactions() != 0) throw new AssertionError("SMMUEN = 0 left stalled transactions (IHI0070 §3.12.2)");
        m.write32(GERRORN, m.read32(GERROR));
        g.deviceReset();
        g.log.clear();
    }

    // ---------------------------------------------------------------- event and PRI queues

    /**
     * Drains the PRI queue the way arm_smmu_priq_thread does, within one queue's worth of entries, and answers
     * each last request of a group with PRI_RESP {@code resp}; never throws.
     */
    void drainPriq(final int resp) {
        if (!g.pri) return;
        final int mask = (2 << g.priqShift) - 1;
        final int prod = m.read32(PRIQ_PROD);
        final List<long[]> responses = new ArrayList<>();
        for (int n = 0; n < 1 << g.priqShift && ((prod ^ g.priqCons) & mask) != 0; n++) {
            final long a = g.priqBase + 16L * (g.priqCons & ((1 << g.priqShift) - 1));
            final long d0 = r64(a), d1 = r64(a + 8);
            if ((d0 & 1L << 62) != 0) {
                responses.add(new long[] {OP_PRI_RESP | (d0 < 0 ? 1L << 11 : 0) | (d0 >>> 32 & 0xFFFFF) << 12 | (d0 & 0xFFFF_FFFFL) << 32,
                        (d1 & 0x1FF) | (long) resp << 12});
            }
            g.priqCons = (g.priqCons & Q_OVF) | ((g.priqCons + 1) & mask);
        }
        g.priqCons = (g.priqCons & mask) | (prod & Q_OVF);
        m.write32(PRIQ_CONS, g.priqCons);
        if (!responses.isEmpty()) submit(responses);
    }

    /** Translator-internal: transactions stalled and not yet resumed or terminated. */
    int stalledTransactions() { return ((Number) dev.translator.describeCaches().get("stalledTransactions")).intValue(); }

    /** Translator-internal: the descriptor updates HTTU has made so far. */
    long httuUpdates() { return ((Number) dev.translator.describeCaches().get("httuUpdates")).longValue(); }

    /** Drops every cache the model has (STE, CD, stream contexts, IOTLB), as if it had just been built. */
    void dropAllCaches() { dev.translator.invalidateAll(); }
}
