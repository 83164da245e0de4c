package dev.viommu.smmuv3;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;

import java.util.ArrayList;
import java.util.List;

/**
 * A test fixture for this module's unit tests: a minimal Linux-like SMMUv3 guest (probe, reset, queues, STEs, CDs,
 * page tables) written against {@link GuestMachine}, for tests that also reach into device internals (the
 * dispatcher, PRI listeners). The guest driver that mirrors Linux step by step, and the guest scripts, live in
 * test-guests ({@code dev.viommu.guests.smmuv3}).
 */
public final class SmmuV3TestGuest {
    // Registers (arm-smmu-v3.h)
    public static final int IDR0 = 0x0, IDR1 = 0x4, IDR3 = 0xC, IDR5 = 0x14, IIDR = 0x18, CR0 = 0x20, CR0ACK = 0x24,
            CR1 = 0x28, CR2 = 0x2C, GBPA = 0x44, IRQ_CTRL = 0x50, IRQ_CTRLACK = 0x54, GERROR = 0x60, GERRORN = 0x64,
            GERROR_IRQ_CFG0 = 0x68, GERROR_IRQ_CFG1 = 0x70, GERROR_IRQ_CFG2 = 0x74, STRTAB_BASE = 0x80,
            STRTAB_BASE_CFG = 0x88, CMDQ_BASE = 0x90, CMDQ_PROD = 0x98, CMDQ_CONS = 0x9C, EVTQ_BASE = 0xA0,
            EVTQ_IRQ_CFG0 = 0xB0, EVTQ_IRQ_CFG1 = 0xB8, EVTQ_IRQ_CFG2 = 0xBC, PRIQ_BASE = 0xC0,
            PRIQ_IRQ_CFG0 = 0xD0, PRIQ_IRQ_CFG1 = 0xD8, PRIQ_IRQ_CFG2 = 0xDC;
    public static final int PAGE1 = 0x10000;
    public static final int EVTQ_PROD = PAGE1 + 0xA8, EVTQ_CONS = PAGE1 + 0xAC, PRIQ_PROD = PAGE1 + 0xC8,
            PRIQ_CONS = PAGE1 + 0xCC;
    public static final int CR0_SMMUEN = 1, CR0_PRIQEN = 2, CR0_EVTQEN = 4, CR0_CMDQEN = 8, CR0_ATSCHK = 16;
    public static final int GERROR_CMDQ_ERR = 1;
    public static final int Q_OVF = 1 << 31;

    // Commands
    public static final int OP_PREFETCH_CFG = 0x1, OP_CFGI_STE = 0x3, OP_CFGI_ALL = 0x4, OP_CFGI_CD = 0x5,
            OP_CFGI_CD_ALL = 0x6, OP_TLBI_NH_ALL = 0x10, OP_TLBI_NH_ASID = 0x11, OP_TLBI_NH_VA = 0x12,
            OP_TLBI_EL2_ALL = 0x20, OP_TLBI_S12_VMALL = 0x28, OP_TLBI_S2_IPA = 0x2A, OP_TLBI_NSNH_ALL = 0x30,
            OP_ATC_INV = 0x40, OP_PRI_RESP = 0x41, OP_CMD_SYNC = 0x46;
    public static final int CS_NONE = 0, CS_IRQ = 1, CS_SEV = 2;
    public static final int PRI_RESP_DENY = 0, PRI_RESP_FAIL = 1, PRI_RESP_SUCC = 2;

    /** MSI doorbells outside RAM, as a GIC ITS would be. */
    public static final long MSI_DOORBELL = 0x0800_0040L;
    public static final int MSI_EVTQ = 0x21, MSI_GERROR = 0x22, MSI_PRIQ = 0x23;

    private final GuestMachine m;
    private final GuestMemory mem;
    private long brk;

    // arm_smmu_device_hw_probe results
    public long idr0, idr1, idr3, idr5;
    public boolean twoLevelStrtab, cd2l, pri, ats, sev, msi, hyp, ril, s1p, s2p, msipoll;
    public int sidBits, ssidBits, cmdqShift, evtqShift, priqShift, oas, httu;

    // Queues and tables
    public long strtab, cmdqBase, evtqBase, priqBase;
    public int cmdqProd;
    public int evtqCons, priqCons;
    public boolean linearStrtab;
    /** CR2.E2H at reset: Linux sets it with IDR0.HYP on a VHE host (ARM_SMMU_FEAT_E2H), then uses STRW = EL2. */
    public boolean e2h;
    public int strtabLog2;
    private long[] l2Tables;
    public final List<String> log = new ArrayList<>();
    public boolean evtqOverflowSeen, priqOverflowSeen;

    public SmmuV3TestGuest(final GuestMachine machine, final long heapBase) {
        this.m = machine;
        this.mem = machine.memory();
        this.brk = heapBase;
    }

    /**
     * A guest whose SMMU is probed, set up and reset as Linux's probe does (arm_smmu_device_hw_probe,
     * arm_smmu_init_structures, arm_smmu_device_reset), its heap at 1 MiB.
     */
    public static SmmuV3TestGuest booted(final GuestMachine machine) {
        final SmmuV3TestGuest d = new SmmuV3TestGuest(machine, 1L << 20);
        d.hwProbe();
        d.initStructures();
        d.deviceReset();
        return d;
    }

    public GuestMachine machine() { return m; }

    /** A zeroed, naturally aligned guest allocation (dmam_alloc_coherent). */
    public long alloc(final long size, final long align) {
        final long a = Math.max(align, 8);
        brk = (brk + a - 1) & -a;
        final long p = brk;
        brk += size;
        try {
            mem.fill(p, size, (byte) 0);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException("guest out of memory", e);
        }
        return p;
    }

    // ---------------------------------------------------------------- probe and reset

    /** arm_smmu_device_hw_probe. */
    public void hwProbe() {
        idr0 = Integer.toUnsignedLong(m.read32(IDR0));
        twoLevelStrtab = ((idr0 >>> 27) & 3) == 1;
        cd2l = (idr0 & (1 << 19)) != 0;
        if (((idr0 >>> 21) & 3) != 2 && ((idr0 >>> 21) & 3) != 0) throw new IllegalStateException("unsupported TT endianness");
        pri = (idr0 & (1 << 16)) != 0;
        ats = (idr0 & (1 << 10)) != 0;
        sev = (idr0 & (1 << 14)) != 0;
        msi = (idr0 & (1 << 13)) != 0;
        final boolean coherent = (idr0 & (1 << 4)) != 0;
        msipoll = msi && coherent;                     // ARM_SMMU_OPT_MSIPOLL
        hyp = (idr0 & (1 << 9)) != 0;
        httu = (int) ((idr0 >>> 6) & 3);
        s1p = (idr0 & 2) != 0;
        s2p = (idr0 & 1) != 0;
        if (!s1p && !s2p) throw new IllegalStateException("no translation support!");
        if ((((idr0 >>> 2) & 3) & 2) == 0) throw new IllegalStateException("AArch64 table format not supported!");
        idr1 = Integer.toUnsignedLong(m.read32(IDR1));
        if ((idr1 & (7L << 28)) != 0) throw new IllegalStateException("embedded implementation not supported");
        cmdqShift = (int) Math.min(8, (idr1 >>> 21) & 0x1F);
        evtqShift = (int) Math.min(7, (idr1 >>> 16) & 0x1F);
        priqShift = (int) Math.min(5, (idr1 >>> 11) & 0x1F);
        ssidBits = (int) ((idr1 >>> 6) & 0x1F);
        sidBits = (int) (idr1 & 0x3F);
        if (sidBits <= 8) twoLevelStrtab = false;      // fewer SIDs than one L2 table: linear
        idr3 = Integer.toUnsignedLong(m.read32(IDR3));
        ril = (idr3 & (1 << 10)) != 0;
        idr5 = Integer.toUnsignedLong(m.read32(IDR5));
        oas = switch ((int) (idr5 & 7)) {
            case 0 -> 32; case 1 -> 36; case 2 -> 40; case 3 -> 42; case 4 -> 44; case 6 -> 52; default -> 48;
        };
        log.add("probe: idr0=0x" + Long.toHexString(idr0) + " idr1=0x" + Long.toHexString(idr1) + " oas=" + oas);
    }

    /** Sizes the event queue below the probe default (for overflow scripts). */
    public void evtqShift(final int shift) { evtqShift = shift; }

    /** arm_smmu_init_structures: queues (arm_smmu_init_queues) and the stream table (arm_smmu_init_strtab). */
    public void initStructures() {
        cmdqBase = alloc(16L << cmdqShift, 16L << cmdqShift);
        evtqBase = alloc(32L << evtqShift, 32L << evtqShift);
        if (pri) priqBase = alloc(16L << priqShift, 16L << priqShift);
        if (twoLevelStrtab) {
            // arm_smmu_init_strtab_2lvl: SPLIT 8, L1 covers sid_bits, L2 tables allocated per bus on demand.
            strtabLog2 = Math.min(sidBits, 8 + 17);
            final int l1 = 1 << (strtabLog2 - 8);
            strtab = alloc(8L * l1, Math.max(64, Long.highestOneBit(8L * l1 - 1) << 1));   // naturally aligned, as Linux's dmam_alloc_coherent
            l2Tables = new long[l1];
            linearStrtab = false;
        } else {
            // arm_smmu_init_strtab_linear: every STE present, initialised to abort (arm_smmu_init_initial_stes).
            strtabLog2 = sidBits;
            strtab = alloc(64L << sidBits, 64L << sidBits);
            linearStrtab = true;
            for (int sid = 0; sid < 1 << sidBits; sid++) writeSte(sid, new long[] {1, 0, 0, 0, 0, 0, 0, 0});
        }
    }

    private void writeSyncReg(final int reg, final int ack, final int val) {
        m.write32(reg, val);
        for (int i = 0; i < 100; i++) if (m.read32(ack) == val) return;   // arm_smmu_write_reg_sync
        throw new IllegalStateException("register 0x" + Integer.toHexString(reg) + " not acknowledged");
    }

    /** arm_smmu_update_gbpa. */
    public void updateGbpa(final int set, final int clr) {
        int reg = m.read32(GBPA);
        if (reg < 0) throw new IllegalStateException("GBPA busy");
        reg = (reg & ~clr) | set;
        m.write32(GBPA, reg | (1 << 31));
        for (int i = 0; i < 100; i++) if (m.read32(GBPA) >= 0) return;
        throw new IllegalStateException("GBPA not responding to update");
    }

    /** arm_smmu_device_reset, with arm_smmu_setup_irqs (MSIs when IDR0.MSI). */
    public void deviceReset() {
        if ((m.read32(CR0) & CR0_SMMUEN) != 0) updateGbpa(1 << 20, 0);
        writeSyncReg(CR0, CR0ACK, 0);                              // arm_smmu_device_disable
        m.write32(CR1, 0xD75);                                     // ISH, WB/WB for tables and queues
        m.write32(CR2, 0x6 | (e2h ? 1 : 0));                       // PTM | RECINVSID, E2H with FEAT_E2H
        m.write64(STRTAB_BASE, (1L << 62) | strtab);               // arm_smmu_write_strtab
        m.write32(STRTAB_BASE_CFG, linearStrtab ? strtabLog2 : (1 << 16) | (8 << 6) | strtabLog2);
        m.write64(CMDQ_BASE, (1L << 62) | cmdqBase | cmdqShift);
        m.write32(CMDQ_PROD, 0);
        m.write32(CMDQ_CONS, 0);
        cmdqProd = 0;
        int enables = CR0_CMDQEN;
        writeSyncReg(CR0, CR0ACK, enables);
        issueWithSync(cmd(OP_CFGI_ALL, 0), 31);                    // CFGI_ALL = opcode 4, Range 31
        if (hyp) issueWithSync(cmd(OP_TLBI_EL2_ALL, 0), 0);
        issueWithSync(cmd(OP_TLBI_NSNH_ALL, 0), 0);
        m.write64(EVTQ_BASE, (1L << 62) | evtqBase | evtqShift);
        m.write32(EVTQ_PROD, 0);
        m.write32(EVTQ_CONS, 0);
        evtqCons = 0;
        enables |= CR0_EVTQEN;
        writeSyncReg(CR0, CR0ACK, enables);
        if (pri) {
            m.write64(PRIQ_BASE, (1L << 62) | priqBase | priqShift);
            m.write32(PRIQ_PROD, 0);
            m.write32(PRIQ_CONS, 0);
            priqCons = 0;
            enables |= CR0_PRIQEN;
            writeSyncReg(CR0, CR0ACK, enables);
        }
        if (ats) {
            enables |= CR0_ATSCHK;
            writeSyncReg(CR0, CR0ACK, enables);
        }
        setupIrqs();
        enables |= CR0_SMMUEN;
        writeSyncReg(CR0, CR0ACK, enables);
        log.add("reset: CR0ACK=0x" + Integer.toHexString(m.read32(CR0ACK)));
    }

    /** arm_smmu_setup_irqs / arm_smmu_setup_msis / arm_smmu_write_msi_msg. */
    private void setupIrqs() {
        writeSyncReg(IRQ_CTRL, IRQ_CTRLACK, 0);
        m.write64(GERROR_IRQ_CFG0, 0);
        m.write64(EVTQ_IRQ_CFG0, 0);
        if (pri) m.write64(PRIQ_IRQ_CFG0, 0);
        if (msi) {
            m.write64(EVTQ_IRQ_CFG0, MSI_DOORBELL);
            m.write32(EVTQ_IRQ_CFG1, MSI_EVTQ);
            m.write32(EVTQ_IRQ_CFG2, 1);
            m.write64(GERROR_IRQ_CFG0, MSI_DOORBELL);
            m.write32(GERROR_IRQ_CFG1, MSI_GERROR);
            m.write32(GERROR_IRQ_CFG2, 1);
            if (pri) {
                m.write64(PRIQ_IRQ_CFG0, MSI_DOORBELL);
                m.write32(PRIQ_IRQ_CFG1, MSI_PRIQ);
                m.write32(PRIQ_IRQ_CFG2, 1);
            }
        }
        writeSyncReg(IRQ_CTRL, IRQ_CTRLACK, 1 | 4 | (pri ? 2 : 0));  // GERROR | EVTQ | PRIQ
    }

    // ---------------------------------------------------------------- command queue

    public static long[] cmd(final int op, final long d0Fields) { return new long[] {op | d0Fields, 0}; }

    private void issueWithSync(final long[] c, final long d1) {
        c[1] = d1;
        if (!issue(List.of(c))) throw new IllegalStateException("command failed during reset");
    }

    /**
     * arm_smmu_cmdq_issue_cmdlist with sync: writes the commands and a CMD_SYNC, publishes PROD, then waits as
     * Linux does: on the CMD_SYNC entry itself when MSIPOLL (__arm_smmu_cmdq_poll_until_msi), else on CONS
     * (__arm_smmu_cmdq_poll_until_consumed). Returns false if the queue stopped with an error.
     */
    public boolean issue(final List<long[]> cmds) {
        final int mask = (2 << cmdqShift) - 1;
        for (long[] c : cmds) put(c[0], c[1]);
        final long syncAddr = cmdqBase + 16L * (cmdqProd & ((1 << cmdqShift) - 1));
        if (msipoll) {
            // MSIAddress = the CMD_SYNC entry; MSIData 0 clears its first word (arm_smmu_make_cmd_sync).
            put(OP_CMD_SYNC | ((long) CS_IRQ << 12) | (3L << 22) | (0xFL << 24), syncAddr);
        } else {
            put(OP_CMD_SYNC | ((long) CS_SEV << 12) | (3L << 22) | (0xFL << 24), 0);
        }
        m.write32(CMDQ_PROD, cmdqProd);
        for (int i = 0; i < 1000; i++) {
            if (gerrorActive(GERROR_CMDQ_ERR)) return false;
            if (msipoll) {
                try {
                    if (mem.read32(syncAddr) == 0) return true;
                } catch (GuestMemoryException e) {
                    throw new IllegalStateException(e);
                }
            } else {
                final int cons = m.read32(CMDQ_CONS);
                if (((cons ^ cmdqProd) & mask) == 0) return true;
            }
        }
        throw new IllegalStateException("CMD_SYNC timeout");
    }

    /** Writes one command at PROD (queue_write) and advances the local PROD; assumes the queue has room. */
    public void put(final long d0, final long d1) {
        final long a = cmdqBase + 16L * (cmdqProd & ((1 << cmdqShift) - 1));
        try {
            mem.write64(a, d0);
            mem.write64(a + 8, d1);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
        cmdqProd = (cmdqProd + 1) & ((2 << cmdqShift) - 1);
    }

    public boolean gerrorActive(final int bit) { return ((m.read32(GERROR) ^ m.read32(GERRORN)) & bit) != 0; }

    /**
     * arm_smmu_gerror_handler: on CMDQ_ERR, arm_smmu_cmdq_skip_err turns the faulting command into a CMD_SYNC;
     * then GERRORN = GERROR acknowledges every error. Returns the CERROR code found (0 if none).
     */
    public int gerrorHandler() {
        final int gerror = m.read32(GERROR), gerrorn = m.read32(GERRORN);
        final int active = gerror ^ gerrorn;
        if ((active & 0x1FD) == 0) return 0;
        int err = 0;
        if ((active & GERROR_CMDQ_ERR) != 0) {
            final int cons = m.read32(CMDQ_CONS);
            err = (cons >>> 24) & 0x7F;
            log.add("CMDQ error " + err + " at CONS 0x" + Integer.toHexString(cons & 0xFFFFF));
            final long a = cmdqBase + 16L * (cons & ((1 << cmdqShift) - 1));
            try {
                mem.write64(a, OP_CMD_SYNC | ((long) CS_SEV << 12) | (3L << 22) | (0xFL << 24));
                mem.write64(a + 8, 0);
            } catch (GuestMemoryException e) {
                throw new IllegalStateException(e);
            }
        }
        m.write32(GERRORN, gerror);
        return err;
    }

    // ---------------------------------------------------------------- event and PRI queues

    /**
     * arm_smmu_evtq_thread: drains the event queue (queue_remove_raw), notices overflow from PROD.OVFLG
     * (queue_sync_prod_in) and acknowledges it through CONS.OVACKFLG (queue_sync_cons_ovf).
     */
    public List<long[]> evtqThread() {
        final List<long[]> events = new ArrayList<>();
        final int mask = (2 << evtqShift) - 1;
        for (int round = 0; round < 4; round++) {
            final int prod = m.read32(EVTQ_PROD);
            if (((prod ^ evtqCons) & Q_OVF) != 0) {
                evtqOverflowSeen = true;
                log.add("EVTQ overflow detected -- events lost");
            }
            while (((prod ^ evtqCons) & mask) != 0) {
                final long a = evtqBase + 32L * (evtqCons & ((1 << evtqShift) - 1));
                try {
                    events.add(new long[] {mem.read64(a), mem.read64(a + 8), mem.read64(a + 16), mem.read64(a + 24)});
                } catch (GuestMemoryException e) {
                    throw new IllegalStateException(e);
                }
                evtqCons = (evtqCons & Q_OVF) | ((evtqCons + 1) & mask);
                m.write32(EVTQ_CONS, evtqCons);
            }
            evtqCons = (evtqCons & mask) | (prod & Q_OVF);          // we are up to speed
            m.write32(EVTQ_CONS, evtqCons);
            if (((m.read32(EVTQ_PROD) ^ evtqCons) & mask) == 0) break;
        }
        return events;
    }

    /** One page request as arm_smmu_handle_ppr decodes it. */
    public record PageRequest(int sid, int ssid, boolean ssv, int grpid, boolean last, long addr, long raw0) {}

    /**
     * arm_smmu_priq_thread / arm_smmu_handle_ppr: drains the PRI queue and answers each last request of a group
     * with PRI_RESP ({@code response}; Linux itself always answers DENY).
     */
    public List<PageRequest> priqThread(final int response) {
        final List<PageRequest> reqs = new ArrayList<>();
        final int mask = (2 << priqShift) - 1;
        final int prod = m.read32(PRIQ_PROD);
        if (((prod ^ priqCons) & Q_OVF) != 0) {
            priqOverflowSeen = true;
            log.add("PRIQ overflow detected -- requests lost");
        }
        final List<long[]> responses = new ArrayList<>();
        while (((prod ^ priqCons) & mask) != 0) {
            final long a = priqBase + 16L * (priqCons & ((1 << priqShift) - 1));
            final long d0, d1;
            try {
                d0 = mem.read64(a);
                d1 = mem.read64(a + 8);
            } catch (GuestMemoryException e) {
                throw new IllegalStateException(e);
            }
            final boolean ssv = d0 < 0;
            final PageRequest r = new PageRequest((int) d0, (int) ((d0 >>> 32) & 0xFFFFF), ssv, (int) (d1 & 0x1FF),
                    (d0 & (1L << 62)) != 0, d1 & ~0xFFFL, d0);
            reqs.add(r);
            if (r.last()) {
                responses.add(new long[] {OP_PRI_RESP | (ssv ? 1L << 11 : 0) | ((long) r.ssid() << 12) | ((long) r.sid() << 32),
                        r.grpid() | ((long) response << 12)});
            }
            priqCons = (priqCons & Q_OVF) | ((priqCons + 1) & mask);
            m.write32(PRIQ_CONS, priqCons);
        }
        priqCons = (priqCons & mask) | (prod & Q_OVF);
        m.write32(PRIQ_CONS, priqCons);
        if (!responses.isEmpty() && !issue(responses)) throw new IllegalStateException("PRI_RESP failed");
        return reqs;
    }

    // ---------------------------------------------------------------- stream table and CDs

    /** The STE address of {@code sid}, allocating its L2 table first (arm_smmu_init_l2_strtab). */
    public long steAddr(final int sid) {
        if (linearStrtab) return strtab + 64L * sid;
        final int l1 = sid >>> 8;
        if (l2Tables[l1] == 0) {
            final long l2 = alloc(64L * 256, 64L * 256);
            for (int i = 0; i < 256; i++) writeSteAt(l2 + 64L * i, new long[] {1, 0, 0, 0, 0, 0, 0, 0});
            l2Tables[l1] = l2;
            try {
                mem.write64(strtab + 8L * l1, l2 | 9);   // Span = SPLIT + 1
            } catch (GuestMemoryException e) {
                throw new IllegalStateException(e);
            }
        }
        return l2Tables[l1] + 64L * (sid & 0xFF);
    }

    public void writeSte(final int sid, final long[] ste) { writeSteAt(steAddr(sid), ste); }

    private void writeSteAt(final long a, final long[] ste) {
        try {
            // arm_smmu_write_ste: dwords 1..7 first, dword 0 (with V) last.
            for (int i = 7; i >= 0; i--) mem.write64(a + 8L * i, ste[i]);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes an STE and tells the SMMU (arm_smmu_write_ste + CFGI_STE + CMD_SYNC, then PREFETCH_CONFIG). */
    public boolean installSte(final int sid, final long[] ste) {
        writeSte(sid, ste);
        return issue(List.of(new long[] {OP_CFGI_STE | ((long) sid << 32), 1}))
                && issue(List.of(new long[] {OP_PREFETCH_CFG | ((long) sid << 32), 0}));
    }

    /** STE for stage 1 (arm_smmu_make_cdtable_ste): CD table at {@code cdTable}, S1CDMax, S1DSS, S1Fmt. */
    public static long[] s1Ste(final long cdTable, final int cdMax, final int s1dss, final int s1fmt) {
        final long d0 = 1 | (5L << 1) | ((long) s1fmt << 4) | cdTable | ((long) cdMax << 59);
        final long d1 = s1dss | (1L << 2) | (1L << 4) | (3L << 6);
        return new long[] {d0, d1, 0, 0, 0, 0, 0, 0};
    }

    /** STE for stage 2 (arm_smmu_make_s2_domain_ste) over a 4 KiB-granule table: IPA 40 bits, SL0 = 1 (L1). */
    public static long[] s2Ste(final int vmid, final long s2ttb, final int ps) {
        final long vtcr = 24 | (1L << 6) | (1L << 8) | (1L << 10) | (3L << 12) | ((long) ps << 16);
        final long d2 = vmid | (vtcr << 32) | (1L << 51) | (1L << 58);   // S2AA64, S2R
        return new long[] {1 | (6L << 1), 0, d2, s2ttb, 0, 0, 0, 0};
    }

    /** Nested STE: stage-1 CD table (an IPA) over the stage 2 of {@link #s2Ste}. */
    public static long[] nestedSte(final long cdTableIpa, final int cdMax, final int s1dss, final int vmid, final long s2ttb, final int ps) {
        final long[] s1 = s1Ste(cdTableIpa, cdMax, s1dss, 0);
        final long[] s2 = s2Ste(vmid, s2ttb, ps);
        s2[0] = (s1[0] & ~0xEL) | (7L << 1);
        s2[1] = s1[1];
        return s2;
    }

    public static long[] bypassSte() { return new long[] {1 | (4L << 1), 1L << 44, 0, 0, 0, 0, 0, 0}; }

    /**
     * A stage-1 CD (arm_smmu_make_s1_cd): T0SZ for a 48-bit VA, TG0 from the granule, IRGN/ORGN WBWA, SH ISH,
     * EPD1, V, IPS, AA64, R, A, ASET, HA/HD per {@code httu}, TTB0.
     */
    public static long[] s1Cd(final int asid, final long ttb0, final int granuleShift, final int ips, final boolean ha, final boolean hd) {
        final int tg0 = granuleShift == 12 ? 0 : granuleShift == 16 ? 1 : 2;
        long d0 = 16 | ((long) tg0 << 6) | (1L << 8) | (1L << 10) | (3L << 12) | (1L << 30) | (1L << 31)
                | ((long) ips << 32) | (1L << 41) | (1L << 45) | (1L << 46) | (1L << 47) | ((long) asid << 48);
        if (ha) d0 |= 1L << 43;
        if (hd) d0 |= 1L << 42;
        return new long[] {d0, ttb0, 0, 0, 0, 0, 0, 0};
    }

    /** Writes a CD and invalidates it (arm_smmu_write_cd_entry + CFGI_CD + CMD_SYNC). */
    public boolean installCd(final long cdAddr, final int sid, final int ssid, final long[] cd) {
        try {
            for (int i = 7; i >= 0; i--) mem.write64(cdAddr + 8L * i, cd[i]);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
        return issue(List.of(new long[] {OP_CFGI_CD | ((long) ssid << 12) | ((long) sid << 32), 1}));
    }

    // ---------------------------------------------------------------- invalidation helpers

    /** arm_smmu_tlb_inv_asid: TLBI_NH_ASID + CMD_SYNC. */
    public boolean tlbiAsid(final int vmid, final int asid) {
        return issue(List.of(new long[] {OP_TLBI_NH_ASID | ((long) vmid << 32) | ((long) asid << 48), 0}));
    }

    /** One TLBI_NH_VA without a range (TG = 0). */
    public boolean tlbiVa(final int vmid, final int asid, final long va) {
        return issue(List.of(new long[] {OP_TLBI_NH_VA | ((long) vmid << 32) | ((long) asid << 48), (va & ~0xFFFL) | 1}));
    }

    /** arm_smmu_cmdq_batch_add_range for [iova, iova+size) in 4 KiB pages: range TLBIs when RIL is on. */
    public boolean tlbiRange(final int vmid, final int asid, final long iova, final long size) {
        final List<long[]> cmds = new ArrayList<>();
        final long d0 = OP_TLBI_NH_VA | ((long) vmid << 32) | ((long) asid << 48);
        if (!ril) {
            for (long a = iova; a < iova + size; a += 4096) cmds.add(new long[] {d0, a | 1});
            return issue(cmds);
        }
        long numPages = size >>> 12, va = iova;
        final int tg = 12, tgEnc = 1, ttl = 3;
        while (numPages > 0) {
            final int scale = Long.numberOfTrailingZeros(numPages);
            final long num = (numPages >>> scale) & 31;
            cmds.add(new long[] {d0 | ((num - 1) << 12) | ((long) (scale & 0x1F) << 20),
                    1 | ((long) ttl << 8) | ((long) tgEnc << 10) | (va & ~0xFFFL)});
            va += num << (scale + tg);
            numPages -= num << scale;
        }
        return issue(cmds);
    }

    // ---------------------------------------------------------------- page tables

    /** A VMSAv8-64 table a guest OS builds (io-pgtable-arm): stage 1 or 2, any granule, pages only. */
    public final class PageTable {
        public final boolean stage2;
        public final int granule, inputBits, startLevel;
        public final long root;

        public PageTable(final boolean stage2, final int granuleShift, final int inputBits, final int startLevel) {
            this.stage2 = stage2;
            this.granule = granuleShift;
            this.inputBits = inputBits;
            this.startLevel = startLevel;
            final int lsb = granuleShift + (3 - startLevel) * (granuleShift - 3);
            final long size = Math.max(64, 8L << (inputBits - lsb));
            this.root = alloc(size, Math.max(size, 64));
        }

        /**
         * Maps one page; {@code write} and {@code privOnly} set AP (S1: io-pgtable-arm sets AP[1] "UNPRIV" unless
         * IOMMU_PRIV) or S2AP; {@code af} the access flag; DBM optional.
         */
        public long map(final long ia, final long pa, final boolean write, final boolean privOnly, final boolean af, final boolean dbm) {
            long table = root;
            final int stride = granule - 3;
            try {
                for (int level = startLevel; level < 3; level++) {
                    final int lsb = granule + (3 - level) * stride;
                    final int bits = level == startLevel ? inputBits - lsb : stride;
                    final long slot = table + 8 * ((ia >>> lsb) & ((1L << bits) - 1));
                    long desc = mem.read64(slot);
                    if ((desc & 1) == 0) {
                        final long next = alloc(1L << granule, 1L << granule);
                        desc = next | 3;
                        mem.write64(slot, desc);
                    }
                    table = desc & 0x0000_FFFF_FFFF_F000L & -(1L << granule);
                }
                final long slot = table + 8 * ((ia >>> granule) & ((1L << stride) - 1));
                long desc = (pa & -(1L << granule)) | 3 | (3L << 8) | (af ? 1L << 10 : 0) | (dbm ? 1L << 51 : 0);
                if (stage2) desc |= (1L << 6) | (write ? 1L << 7 : 0) | (0xFL << 2);
                else desc |= (write ? 0 : 1L << 7) | (privOnly ? 0 : 1L << 6) | (1L << 11);
                mem.write64(slot, desc);
                return slot;
            } catch (GuestMemoryException e) {
                throw new IllegalStateException(e);
            }
        }

        /** Maps a block at {@code level} (1 or 2 with 4 KiB, 2 with 16/64 KiB), read-write, AF set. */
        public void mapBlock(final long ia, final long pa, final int blockLevel) {
            long table = root;
            final int stride = granule - 3;
            try {
                for (int level = startLevel; level < blockLevel; level++) {
                    final int lsb = granule + (3 - level) * stride;
                    final int bits = level == startLevel ? inputBits - lsb : stride;
                    final long slot = table + 8 * ((ia >>> lsb) & ((1L << bits) - 1));
                    long desc = mem.read64(slot);
                    if ((desc & 1) == 0) {
                        desc = alloc(1L << granule, 1L << granule) | 3;
                        mem.write64(slot, desc);
                    }
                    table = desc & 0x0000_FFFF_FFFF_F000L & -(1L << granule);
                }
                final int lsb = granule + (3 - blockLevel) * stride;
                final int bits = blockLevel == startLevel ? inputBits - lsb : stride;
                long desc = (pa & -(1L << lsb)) | 1 | (3L << 8) | (1L << 10);
                desc |= stage2 ? (3L << 6) | (0xFL << 2) : (1L << 6) | (1L << 11);
                mem.write64(table + 8 * ((ia >>> lsb) & ((1L << bits) - 1)), desc);
            } catch (GuestMemoryException e) {
                throw new IllegalStateException(e);
            }
        }

        /** Clears the leaf of {@code ia} (an unmap before its TLBI). */
        public void unmap(final long ia) {
            long table = root;
            final int stride = granule - 3;
            try {
                for (int level = startLevel; level < 3; level++) {
                    final int lsb = granule + (3 - level) * stride;
                    final int bits = level == startLevel ? inputBits - lsb : stride;
                    final long slot = table + 8 * ((ia >>> lsb) & ((1L << bits) - 1));
                    final long desc = mem.read64(slot);
                    if ((desc & 1) == 0) return;
                    if ((desc & 2) == 0) { mem.write64(slot, 0); return; }   // a block
                    table = desc & 0x0000_FFFF_FFFF_F000L & -(1L << granule);
                }
                mem.write64(table + 8 * ((ia >>> granule) & ((1L << stride) - 1)), 0);
            } catch (GuestMemoryException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /** A 48-bit stage-1 table in the given granule (start level per VMSAv8-64). */
    public PageTable s1Table(final int granuleShift) {
        final int stride = granuleShift - 3;
        final int levels = (48 - granuleShift + stride - 1) / stride;
        return new PageTable(false, granuleShift, 48, 4 - levels);
    }

    /** The 40-bit, 4 KiB-granule stage-2 table of {@link #s2Ste} (start level 1, two concatenated tables). */
    public PageTable s2Table() { return new PageTable(true, 12, 40, 1); }
}
