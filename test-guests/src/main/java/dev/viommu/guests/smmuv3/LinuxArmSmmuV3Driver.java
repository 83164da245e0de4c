package dev.viommu.guests.smmuv3;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.guests.Narrator;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A guest driver that does what Linux 7.3's arm-smmu-v3 driver does ({@code drivers/iommu/arm/arm-smmu-v3/
 * arm-smmu-v3.c}, with io-pgtable-arm for page tables), step by step, each step named after the Linux function it
 * mirrors and told to the {@link Narrator}. It is written only against {@link GuestMachine}: registers through
 * MMIO, everything else (queues, stream table, CD tables, page tables) in guest RAM from a bump allocator, as the
 * kernel keeps them. It keeps its own register and structure constants, as a guest kernel has its own header.
 * <p>
 * Behaviours taken from the kernel source: CMD_SYNC completion is awaited by MSI polling on the CMD_SYNC entry
 * itself when IDR0.MSI and coherent access (ARM_SMMU_OPT_MSIPOLL), else by polling CMDQ_CONS with CS = SEV
 * whether or not IDR0.SEV is set; STEs and CDs change through {@code arm_smmu_write_entry} (a breaking update
 * when more than one qword changes) with CFGI_STE/CFGI_CD + CMD_SYNC after each step, then PREFETCH_CONFIG;
 * the event and PRI queue threads notice overflow from PROD.OVFLG and acknowledge it through CONS.OVACKFLG.
 */
public final class LinuxArmSmmuV3Driver {
    // ARM_SMMU_* register offsets (arm-smmu-v3.h)
    public static final int IDR0 = 0x0, IDR1 = 0x4, IDR3 = 0xC, IDR5 = 0x14, CR0 = 0x20, CR0ACK = 0x24, CR1 = 0x28,
            CR2 = 0x2C, GBPA = 0x44, IRQ_CTRL = 0x50, IRQ_CTRLACK = 0x54, GERROR = 0x60, GERRORN = 0x64,
            GERROR_IRQ_CFG0 = 0x68, GERROR_IRQ_CFG1 = 0x70, GERROR_IRQ_CFG2 = 0x74, STRTAB_BASE = 0x80,
            STRTAB_BASE_CFG = 0x88, CMDQ_BASE = 0x90, CMDQ_PROD = 0x98, CMDQ_CONS = 0x9C, EVTQ_BASE = 0xA0,
            EVTQ_IRQ_CFG0 = 0xB0, EVTQ_IRQ_CFG1 = 0xB8, EVTQ_IRQ_CFG2 = 0xBC, PRIQ_BASE = 0xC0,
            PRIQ_IRQ_CFG0 = 0xD0, PRIQ_IRQ_CFG1 = 0xD8, PRIQ_IRQ_CFG2 = 0xDC;
    /** Page 1 (smmu->page1): the event and PRI queue PROD/CONS. */
    public static final int PAGE1 = 0x10000;
    public static final int EVTQ_PROD = PAGE1 + 0xA8, EVTQ_CONS = PAGE1 + 0xAC, PRIQ_PROD = PAGE1 + 0xC8,
            PRIQ_CONS = PAGE1 + 0xCC;
    public static final int CR0_SMMUEN = 1, CR0_PRIQEN = 2, CR0_EVTQEN = 4, CR0_CMDQEN = 8, CR0_ATSCHK = 16;
    public static final int GBPA_UPDATE = 1 << 31, GBPA_ABORT = 1 << 20;
    public static final int GERROR_CMDQ_ERR = 1, GERROR_ERR_MASK = 0x1FD;
    public static final int IRQ_CTRL_GERROR_IRQEN = 1, IRQ_CTRL_PRIQ_IRQEN = 2, IRQ_CTRL_EVTQ_IRQEN = 4;
    public static final int Q_OVF = 1 << 31;
    /** CMDQ_CONS.ERR codes (CMDQ_ERR_CERROR_*_IDX). */
    public static final int CERROR_NONE = 0, CERROR_ILL = 1, CERROR_ABT = 2, CERROR_ATC_INV = 3;

    // CMDQ_OP_*
    public static final int OP_PREFETCH_CFG = 0x1, OP_CFGI_STE = 0x3, OP_CFGI_ALL = 0x4, OP_CFGI_CD = 0x5,
            OP_TLBI_NH_ASID = 0x11, OP_TLBI_NH_VA = 0x12, OP_TLBI_EL2_ALL = 0x20, OP_TLBI_S12_VMALL = 0x28,
            OP_TLBI_S2_IPA = 0x2A, OP_TLBI_NSNH_ALL = 0x30, OP_PRI_RESP = 0x41, OP_CMD_SYNC = 0x46;
    public static final int CS_NONE = 0, CS_IRQ = 1, CS_SEV = 2;
    public static final int PRI_RESP_DENY = 0, PRI_RESP_FAIL = 1, PRI_RESP_SUCC = 2;
    // EVT_ID_*
    public static final int EVT_BAD_STREAMID = 0x02, EVT_BAD_STE = 0x04, EVT_BAD_SUBSTREAMID = 0x08,
            EVT_BAD_CD = 0x0A, EVT_TRANSLATION = 0x10, EVT_PERMISSION = 0x13;
    /** STRTAB_SPLIT, CTXDESC_L2_ENTRIES. */
    static final int STRTAB_SPLIT = 8, CTXDESC_L2_ENTRIES = 1024;
    /**
     * Q_MAX_SZ_SHIFT for 4 KiB pages with CONFIG_CMA_ALIGNMENT = 8 (arm64 defconfig): 20, so the queues are capped
     * at 2^16 commands, 2^15 events and 2^16 page requests (CMDQ/EVTQ/PRIQ_MAX_SZ_SHIFT).
     */
    static final int CMDQ_MAX_SZ_SHIFT = 16, EVTQ_MAX_SZ_SHIFT = 15, PRIQ_MAX_SZ_SHIFT = 16;
    /** ARM_SMMU_POLL_TIMEOUT_US (1 s), with slack for a loaded test machine. */
    static final long POLL_TIMEOUT_NS = 5_000_000_000L;

    /** Where the platform MSI domain points the SMMU's MSIs: a GIC ITS doorbell (GITS_TRANSLATER), not RAM. */
    public static final long ITS_DOORBELL = 0x0804_0040L;
    public static final int MSI_EVTQ = 0x21, MSI_GERROR = 0x22, MSI_PRIQ = 0x23;

    private final GuestMachine m;
    private final GuestMemory mem;
    private final Narrator n;
    private long brk;
    private final long limit;

    // arm_smmu_device_hw_probe results (smmu->features, options, sizes)
    public boolean twoLevelStrtab, twoLevelCdtab, pri, ats, sev, msi, hyp, ril, s1p, s2p, msipoll, stalls;
    public int sidBits, ssidBits, oas, httu;
    public int cmdqShift, evtqShift, priqShift;

    // Queues and the stream table
    public long cmdqBase, evtqBase, priqBase, strtab;
    private int cmdqProd;
    private int evtqProd, evtqCons, priqProd, priqCons;
    private long[] l2Strtabs;
    private int numL1Ents;
    /** Whether the last queue-thread run saw PROD.OVFLG move ("… overflow detected -- events lost"). */
    public boolean evtqOverflowSeen, priqOverflowSeen;

    public LinuxArmSmmuV3Driver(final GuestMachine m, final Narrator n, final long heapBase, final long heapLimit) {
        this.m = m;
        this.mem = m.memory();
        this.n = n;
        this.brk = heapBase;
        this.limit = heapLimit;
    }

    public GuestMachine machine() { return m; }

    // ---------------------------------------------------------------- guest memory (the kernel's own)

    /** dmam_alloc_coherent: zeroed, naturally aligned (at least to 64 bytes). */
    public long alloc(final long size, final long align) {
        final long a = Math.max(align, 64);
        final long p = (brk + a - 1) & -a;
        if (p + size > limit) throw new IllegalStateException("guest heap exhausted");
        brk = p + size;
        try {
            mem.fill(p, size, (byte) 0);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
        return p;
    }

    private long read64(final long gpa) {
        try {
            return mem.read64(gpa);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    private void write64(final long gpa, final long v) {
        try {
            mem.write64(gpa, v);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    // ---------------------------------------------------------------- probe

    /** arm_smmu_device_probe's order: hw_probe, init_structures, device_reset. */
    public void probe() {
        armSmmuDeviceHwProbe();
        armSmmuInitStructures();
        armSmmuDeviceReset();
    }

    /** arm_smmu_device_hw_probe: reads IDR0/1/3/5 into features and sizes. */
    public void armSmmuDeviceHwProbe() {
        final long idr0 = Integer.toUnsignedLong(m.read32(IDR0));
        twoLevelStrtab = ((idr0 >>> 27) & 3) == 1;                   // IDR0_ST_LVL_2LVL
        twoLevelCdtab = (idr0 & (1 << 19)) != 0;                     // IDR0_CD2L
        final int ttendian = (int) ((idr0 >>> 21) & 3);
        if (ttendian != 0 && ttendian != 2) throw new IllegalStateException("unknown/unsupported TT endianness!");
        pri = (idr0 & (1 << 16)) != 0;
        ats = (idr0 & (1 << 10)) != 0;
        sev = (idr0 & (1 << 14)) != 0;
        msi = (idr0 & (1 << 13)) != 0;
        final boolean coherent = (idr0 & (1 << 4)) != 0;             // the firmware agrees with IDR0.COHACC here
        msipoll = msi && coherent;                                   // ARM_SMMU_OPT_MSIPOLL
        hyp = (idr0 & (1 << 9)) != 0;
        httu = (int) ((idr0 >>> 6) & 3);                             // arm_smmu_get_httu
        final int stallModel = (int) ((idr0 >>> 24) & 3);
        stalls = stallModel == 0 || stallModel == 2;
        s1p = (idr0 & 2) != 0;
        s2p = (idr0 & 1) != 0;
        if (!s1p && !s2p) throw new IllegalStateException("no translation support!");
        if ((((idr0 >>> 2) & 3) & 2) == 0) throw new IllegalStateException("AArch64 table format not supported!");
        final long idr1 = Integer.toUnsignedLong(m.read32(IDR1));
        if ((idr1 & (7L << 28)) != 0) {                                 // TABLES_PRESET | QUEUES_PRESET | REL
            throw new IllegalStateException("embedded implementation not supported");
        }
        cmdqShift = (int) Math.min(CMDQ_MAX_SZ_SHIFT, (idr1 >>> 21) & 0x1F);
        if (cmdqShift <= 6) throw new IllegalStateException("command queue size <= 64 entries not supported");
        evtqShift = (int) Math.min(EVTQ_MAX_SZ_SHIFT, (idr1 >>> 16) & 0x1F);
        priqShift = (int) Math.min(PRIQ_MAX_SZ_SHIFT, (idr1 >>> 11) & 0x1F);
        ssidBits = (int) ((idr1 >>> 6) & 0x1F);
        sidBits = (int) (idr1 & 0x3F);
        if (sidBits <= STRTAB_SPLIT) twoLevelStrtab = false;         // fewer SIDs than one L2 table: linear
        final long idr3 = Integer.toUnsignedLong(m.read32(IDR3));
        ril = (idr3 & (1 << 10)) != 0;                               // ARM_SMMU_FEAT_RANGE_INV
        final long idr5 = Integer.toUnsignedLong(m.read32(IDR5));
        oas = switch ((int) (idr5 & 7)) {
            case 0 -> 32; case 1 -> 36; case 2 -> 40; case 3 -> 42; case 4 -> 44; case 6 -> 52; default -> 48;
        };
        n.step(String.format("arm_smmu_device_hw_probe: IDR0 0x%x IDR1 0x%x IDR3 0x%x IDR5 0x%x: oas %d-bit, sid_bits %d, "
                        + "ssid_bits %d, %s stream table%s%s%s%s%s", idr0, idr1, idr3, idr5, oas, sidBits, ssidBits,
                twoLevelStrtab ? "2-level" : "linear", s1p && s2p ? ", NESTING" : s1p ? ", S1 only" : ", S2 only",
                msipoll ? ", MSIPOLL" : msi ? ", MSI" : ", wired IRQs", ril ? ", RANGE_INV" : "", pri ? ", PRI" : "",
                ats ? ", ATS" : ""));
    }

    /** A smaller event queue, as arm_smmu_init_one_queue settles for when the full-size allocation fails. */
    public void shrinkEvtq(final int shift) {
        evtqShift = shift;
        n.step("arm_smmu_init_one_queue: the event queue allocation is retried smaller: " + (1 << shift) + " entries");
    }

    /** arm_smmu_init_structures: arm_smmu_init_queues then arm_smmu_init_strtab. */
    public void armSmmuInitStructures() {
        cmdqBase = alloc(16L << cmdqShift, 16L << cmdqShift);
        evtqBase = alloc(32L << evtqShift, 32L << evtqShift);
        if (pri) priqBase = alloc(16L << priqShift, 16L << priqShift);
        n.step(String.format("arm_smmu_init_queues: cmdq %d entries at 0x%x, evtq %d at 0x%x%s", 1 << cmdqShift, cmdqBase,
                1 << evtqShift, evtqBase, pri ? String.format(", priq %d at 0x%x", 1 << priqShift, priqBase) : ""));
        if (twoLevelStrtab) {
            final long lastSidIdx = ((1L << sidBits) - 1) >>> STRTAB_SPLIT;
            numL1Ents = (int) Math.min(lastSidIdx + 1, 1 << 17);     // STRTAB_MAX_L1_ENTRIES
            strtab = alloc(8L * numL1Ents, Math.max(64, Long.highestOneBit(8L * numL1Ents - 1) << 1));   // dmam_alloc_coherent: aligned to its size
            l2Strtabs = new long[numL1Ents];
            n.step("arm_smmu_init_strtab_2lvl: " + numL1Ents + " L1 descriptors at 0x" + Long.toHexString(strtab)
                    + ", L2 tables of 256 STEs allocated per SID on demand");
        } else {
            strtab = alloc(64L << sidBits, 64L << sidBits);
            for (int sid = 0; sid < 1 << sidBits; sid++) write64(strtab + 64L * sid, makeAbortSte()[0]);
            n.step("arm_smmu_init_strtab_linear: " + (1 << sidBits) + " STEs at 0x" + Long.toHexString(strtab)
                    + ", arm_smmu_init_initial_stes: all abort");
        }
    }

    /** arm_smmu_write_reg_sync: write, then poll the ACK register. */
    private void writeRegSync(final int reg, final int ack, final int val) {
        m.write32(reg, val);
        final long deadline = System.nanoTime() + POLL_TIMEOUT_NS;
        while (m.read32(ack) != val) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("register 0x" + Integer.toHexString(reg) + " not acknowledged");
        }
    }

    /** arm_smmu_update_gbpa: wait for UPDATE to clear, write the fields with UPDATE, wait again. */
    public void armSmmuUpdateGbpa(final int set, final int clr) {
        final long deadline = System.nanoTime() + POLL_TIMEOUT_NS;
        int reg;
        while (((reg = m.read32(GBPA)) & GBPA_UPDATE) != 0) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("GBPA busy");
        }
        m.write32(GBPA, (reg & ~clr) | set | GBPA_UPDATE);
        while ((m.read32(GBPA) & GBPA_UPDATE) != 0) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("GBPA not responding to update");
        }
        n.step("arm_smmu_update_gbpa: GBPA now 0x" + Integer.toHexString(m.read32(GBPA)));
    }

    /** arm_smmu_device_reset. */
    public void armSmmuDeviceReset() {
        if ((m.read32(CR0) & CR0_SMMUEN) != 0) {
            n.step("arm_smmu_device_reset: SMMU currently enabled! Resetting...");
            armSmmuUpdateGbpa(GBPA_ABORT, 0);
        }
        writeRegSync(CR0, CR0ACK, 0);
        n.step("arm_smmu_device_disable: CR0 = 0, CR0ACK follows");
        m.write32(CR1, (3 << 10) | (1 << 8) | (1 << 6) | (3 << 4) | (1 << 2) | 1);   // TABLE/QUEUE SH ISH, OC/IC WB
        m.write32(CR2, (1 << 2) | (1 << 1));                                          // PTM | RECINVSID
        n.step("arm_smmu_device_reset: CR1 = inner-shareable write-back tables and queues, CR2 = PTM | RECINVSID");
        armSmmuWriteStrtab();
        m.write64(CMDQ_BASE, (1L << 62) | cmdqBase | cmdqShift);          // Q_BASE_RWA
        m.write32(CMDQ_PROD, 0);
        m.write32(CMDQ_CONS, 0);
        cmdqProd = 0;
        int enables = CR0_CMDQEN;
        writeRegSync(CR0, CR0ACK, enables);
        n.step("arm_smmu_device_reset: command queue enabled (CR0.CMDQEN)");
        requireOk(issueCmdWithSync(OP_CFGI_ALL, 31), "CFGI_ALL");         // arm_smmu_make_cmd_cfgi_all: Range 31
        n.step("arm_smmu_cmdq_issue_cmd_with_sync(CFGI_ALL): invalidate any cached configuration");
        if (hyp) {
            requireOk(issueCmdWithSync(OP_TLBI_EL2_ALL, 0), "TLBI_EL2_ALL");
            n.step("arm_smmu_cmdq_issue_cmd_with_sync(TLBI_EL2_ALL)");
        }
        requireOk(issueCmdWithSync(OP_TLBI_NSNH_ALL, 0), "TLBI_NSNH_ALL");
        n.step("arm_smmu_cmdq_issue_cmd_with_sync(TLBI_NSNH_ALL): invalidate any stale TLB entries");
        m.write64(EVTQ_BASE, (1L << 62) | evtqBase | evtqShift);
        m.write32(EVTQ_PROD, 0);
        m.write32(EVTQ_CONS, 0);
        evtqProd = evtqCons = 0;
        enables |= CR0_EVTQEN;
        writeRegSync(CR0, CR0ACK, enables);
        n.step("arm_smmu_device_reset: event queue enabled (EVTQ_BASE, page-1 PROD/CONS, CR0.EVTQEN)");
        if (pri) {
            m.write64(PRIQ_BASE, (1L << 62) | priqBase | priqShift);
            m.write32(PRIQ_PROD, 0);
            m.write32(PRIQ_CONS, 0);
            priqProd = priqCons = 0;
            enables |= CR0_PRIQEN;
            writeRegSync(CR0, CR0ACK, enables);
            n.step("arm_smmu_device_reset: PRI queue enabled (CR0.PRIQEN)");
        }
        if (ats) {
            enables |= CR0_ATSCHK;
            writeRegSync(CR0, CR0ACK, enables);
            n.step("arm_smmu_device_reset: ATS check enabled (CR0.ATSCHK)");
        }
        armSmmuSetupIrqs();
        enables |= CR0_SMMUEN;
        writeRegSync(CR0, CR0ACK, enables);
        n.step("arm_smmu_device_reset: SMMU interface enabled, CR0ACK = 0x" + Integer.toHexString(m.read32(CR0ACK)));
    }

    private static void requireOk(final boolean ok, final String what) {
        if (!ok) throw new IllegalStateException(what + " failed during reset");
    }

    /** arm_smmu_write_strtab. */
    private void armSmmuWriteStrtab() {
        final int cfg = twoLevelStrtab
                ? (1 << 16) | ((Integer.numberOfTrailingZeros(Integer.highestOneBit(numL1Ents)) + STRTAB_SPLIT) & 0x3F) | (STRTAB_SPLIT << 6)
                : sidBits;
        m.write64(STRTAB_BASE, (1L << 62) | strtab);                          // STRTAB_BASE_RA
        m.write32(STRTAB_BASE_CFG, cfg);
        n.step(String.format("arm_smmu_write_strtab: STRTAB_BASE 0x%x, STRTAB_BASE_CFG 0x%x", strtab, cfg));
    }

    /** arm_smmu_setup_irqs, with arm_smmu_setup_msis / arm_smmu_write_msi_msg when IDR0.MSI. */
    private void armSmmuSetupIrqs() {
        writeRegSync(IRQ_CTRL, IRQ_CTRLACK, 0);
        if (msi) {
            m.write64(GERROR_IRQ_CFG0, 0);                                    // arm_smmu_setup_msis: clear first
            m.write64(EVTQ_IRQ_CFG0, 0);
            if (pri) m.write64(PRIQ_IRQ_CFG0, 0);
            m.write64(EVTQ_IRQ_CFG0, ITS_DOORBELL);
            m.write32(EVTQ_IRQ_CFG1, MSI_EVTQ);
            m.write32(EVTQ_IRQ_CFG2, 1);                                      // ARM_SMMU_MEMATTR_DEVICE_nGnRE
            m.write64(GERROR_IRQ_CFG0, ITS_DOORBELL);
            m.write32(GERROR_IRQ_CFG1, MSI_GERROR);
            m.write32(GERROR_IRQ_CFG2, 1);
            if (pri) {
                m.write64(PRIQ_IRQ_CFG0, ITS_DOORBELL);
                m.write32(PRIQ_IRQ_CFG1, MSI_PRIQ);
                m.write32(PRIQ_IRQ_CFG2, 1);
            }
            n.step("arm_smmu_setup_msis / arm_smmu_write_msi_msg: event, GERROR" + (pri ? ", PRI" : "")
                    + " MSIs to the ITS doorbell 0x" + Long.toHexString(ITS_DOORBELL));
        } else {
            n.step("arm_smmu_setup_unique_irqs: wired interrupts (no IDR0.MSI)");
        }
        final int irqen = IRQ_CTRL_EVTQ_IRQEN | IRQ_CTRL_GERROR_IRQEN | (pri ? IRQ_CTRL_PRIQ_IRQEN : 0);
        writeRegSync(IRQ_CTRL, IRQ_CTRLACK, irqen);
        n.step("arm_smmu_setup_irqs: IRQ_CTRL = 0x" + Integer.toHexString(irqen));
    }

    // ---------------------------------------------------------------- command queue

    /** arm_smmu_make_cmd_sync(cs, msiaddr): MSH = ISH, MSIAttr = OIWB, MSIData 0. */
    static long[] makeCmdSync(final int cs, final long msiAddr) {
        return new long[] {OP_CMD_SYNC | ((long) cs << 12) | (3L << 22) | (0xFL << 24), msiAddr & 0x000F_FFFF_FFFF_FFFCL};
    }

    /** arm_smmu_cmdq_issue_cmd_with_sync. */
    public boolean issueCmdWithSync(final long d0, final long d1) {
        return armSmmuCmdqIssueCmdlist(List.of(new long[] {d0, d1}), true);
    }

    /**
     * arm_smmu_cmdq_issue_cmdlist: writes the commands (arm_smmu_cmdq_write_entries), and with {@code sync} a
     * CMD_SYNC built by arm_smmu_cmdq_build_sync_cmd (CS = IRQ with MSIAddress = the CMD_SYNC entry itself under
     * MSIPOLL, else CS = SEV), publishes PROD, then waits as arm_smmu_cmdq_poll_until_sync does: on the entry's
     * first word turning 0 (__arm_smmu_cmdq_poll_until_msi) or on CONS passing it
     * (__arm_smmu_cmdq_poll_until_consumed). Returns false if the wait ended with the queue in error (the GERROR
     * interrupt handler's business) or timed out, as Linux's "CMD_SYNC timeout".
     */
    public boolean armSmmuCmdqIssueCmdlist(final List<long[]> cmds, final boolean sync) {
        final int room = (1 << cmdqShift) - 1;
        if (cmds.size() + (sync ? 1 : 0) > room) throw new IllegalArgumentException("batch larger than the queue");
        waitForSpace(cmds.size() + (sync ? 1 : 0));
        for (long[] c : cmds) put(c[0], c[1]);
        if (!sync) {
            m.write32(CMDQ_PROD, cmdqProd);
            return true;
        }
        final int syncIdx = cmdqProd & ((1 << cmdqShift) - 1);
        final long syncAddr = cmdqBase + 16L * syncIdx;
        final long[] s = makeCmdSync(msipoll ? CS_IRQ : CS_SEV, msipoll ? syncAddr : 0);
        put(s[0], s[1]);
        final int syncProd = cmdqProd;
        m.write32(CMDQ_PROD, cmdqProd);
        final long deadline = System.nanoTime() + POLL_TIMEOUT_NS;
        final int mask = (2 << cmdqShift) - 1;
        while (System.nanoTime() < deadline) {
            if (msipoll) {
                try {
                    if (mem.read32(syncAddr) == 0) return true;        // the SMMU's MSI wrote MSIData 0 over it
                } catch (GuestMemoryException e) {
                    throw new IllegalStateException(e);
                }
            } else {
                final int cons = m.read32(CMDQ_CONS);
                if (queueConsumed(cons & mask, (syncProd - 1) & mask)) return true;
            }
            // The GERROR interrupt would run arm_smmu_gerror_handler meanwhile; a guest script calls it itself.
            if (gerrorActive(GERROR_CMDQ_ERR)) return false;
            Thread.onSpinWait();
        }
        n.note("CMD_SYNC timeout at prod 0x" + Integer.toHexString(syncProd));
        return false;
    }

    /** queue_consumed: CONS has moved past {@code prod}. */
    private boolean queueConsumed(final int cons, final int prod) {
        final int idx = (1 << cmdqShift) - 1, wrp = 1 << cmdqShift;
        return ((cons & wrp) == (prod & wrp) && (cons & idx) > (prod & idx))
                || ((cons & wrp) != (prod & wrp) && (cons & idx) <= (prod & idx));
    }

    /** arm_smmu_cmdq_poll_until_not_full. */
    private void waitForSpace(final int entries) {
        final int mask = (2 << cmdqShift) - 1, size = 1 << cmdqShift;
        final long deadline = System.nanoTime() + POLL_TIMEOUT_NS;
        while (true) {
            final int cons = m.read32(CMDQ_CONS) & mask;
            final int used = (cmdqProd - cons) & mask;
            if (size - used >= entries) return;
            if (System.nanoTime() > deadline) throw new IllegalStateException("command queue full");
        }
    }

    /** queue_write at PROD, then queue_inc_prod_n. */
    private void put(final long d0, final long d1) {
        final long a = cmdqBase + 16L * (cmdqProd & ((1 << cmdqShift) - 1));
        write64(a, d0);
        write64(a + 8, d1);
        cmdqProd = (cmdqProd + 1) & ((2 << cmdqShift) - 1);
    }

    /** The local PROD (cmdq->q.llq.prod). */
    public int cmdqProd() { return cmdqProd; }

    public boolean gerrorActive(final int bit) { return ((m.read32(GERROR) ^ m.read32(GERRORN)) & bit) != 0; }

    /**
     * arm_smmu_gerror_handler: on CMDQ_ERR, arm_smmu_cmdq_skip_err reads CMDQ_CONS.ERR and, for CERROR_ILL,
     * rewrites the faulting command as a CMD_SYNC (CS = SEV); then GERRORN = GERROR acknowledges every error.
     * Returns the CERROR code found (-1 if no error was pending).
     */
    public int armSmmuGerrorHandler() {
        final int gerror = m.read32(GERROR), gerrorn = m.read32(GERRORN);
        final int active = gerror ^ gerrorn;
        if ((active & GERROR_ERR_MASK) == 0) return -1;
        n.step(String.format("arm_smmu_gerror_handler: unexpected global error reported (0x%08x), this could be serious", active));
        int err = CERROR_NONE;
        if ((active & GERROR_CMDQ_ERR) != 0) {
            final int cons = m.read32(CMDQ_CONS);
            err = (cons >>> 24) & 0x7F;
            n.step(String.format("arm_smmu_cmdq_skip_err: CMDQ error (cons 0x%08x): %s", cons,
                    switch (err) {
                        case CERROR_NONE -> "No error";
                        case CERROR_ILL -> "Illegal command";
                        case CERROR_ABT -> "Abort on command fetch";
                        case CERROR_ATC_INV -> "ATC invalidate timeout";
                        default -> "Unknown";
                    }));
            if (err == CERROR_ILL || err > CERROR_ATC_INV) {
                final long a = cmdqBase + 16L * (cons & ((1 << cmdqShift) - 1));
                final long[] s = makeCmdSync(CS_SEV, 0);
                n.step(String.format("arm_smmu_cmdq_skip_err: skipping command in error state: 0x%016x 0x%016x, now a CMD_SYNC",
                        read64(a), read64(a + 8)));
                write64(a, s[0]);
                write64(a + 8, s[1]);
            }
        }
        m.write32(GERRORN, gerror);
        n.step("arm_smmu_gerror_handler: GERRORN = GERROR (0x" + Integer.toHexString(gerror) + ")");
        return err;
    }

    // ---------------------------------------------------------------- event and PRI queues

    /** One event record as arm_smmu_decode_event reads it. */
    public record Event(int id, int sid, boolean ssv, int ssid, boolean stall, boolean s2, int clazz, long iova,
                        long ipa, boolean read) {
        static Event decode(final long[] e) {
            return new Event((int) (e[0] & 0xFF), (int) (e[0] >>> 32), (e[0] & (1 << 11)) != 0, (int) ((e[0] >>> 12) & 0xFFFFF),
                    (e[1] & (1L << 31)) != 0, (e[1] & (1L << 39)) != 0, (int) ((e[1] >>> 40) & 3), e[2],
                    e[3] & 0x000F_FFFF_FFFF_F000L, (e[1] & (1L << 35)) != 0);
        }

        public String describe() {
            return String.format("event 0x%02x sid 0x%x ssid 0x%x%s iova 0x%x ipa 0x%x%s class %d", id, sid, ssid,
                    ssv ? "" : " (none)", iova, ipa, s2 ? " s2" : " s1", clazz);
        }
    }

    /**
     * arm_smmu_evtq_thread: drains the event queue (queue_remove_raw, CONS written after each record), notices
     * overflow from PROD.OVFLG (queue_sync_prod_in: "EVTQ overflow detected -- events lost") and finally
     * acknowledges it through CONS.OVACKFLG (queue_sync_cons_ovf).
     */
    public List<Event> armSmmuEvtqThread() {
        final List<Event> events = new ArrayList<>();
        final int mask = (2 << evtqShift) - 1;
        evtqOverflowSeen = false;
        for (int round = 0; round <= 4; round++) {
            while (((evtqProd ^ evtqCons) & mask) != 0) {
                final long a = evtqBase + 32L * (evtqCons & ((1 << evtqShift) - 1));
                final long[] raw = {read64(a), read64(a + 8), read64(a + 16), read64(a + 24)};
                final Event e = Event.decode(raw);
                events.add(e);
                n.step("arm_smmu_evtq_thread / arm_smmu_dump_event: " + e.describe());
                evtqCons = (evtqCons & Q_OVF) | ((evtqCons + 1) & mask);
                m.write32(EVTQ_CONS, evtqCons);
            }
            final int prod = m.read32(EVTQ_PROD);                       // queue_sync_prod_in
            if (((prod ^ evtqProd) & Q_OVF) != 0) {
                evtqOverflowSeen = true;
                n.step("arm_smmu_evtq_thread: EVTQ overflow detected -- events lost");
            }
            evtqProd = prod;
            if (((evtqProd ^ evtqCons) & mask) == 0) break;
        }
        if (((evtqProd ^ evtqCons) & Q_OVF) != 0) {                      // queue_sync_cons_ovf
            evtqCons = (evtqProd & Q_OVF) | (evtqCons & mask);
            m.write32(EVTQ_CONS, evtqCons);
        }
        return events;
    }

    /** One page request as arm_smmu_handle_ppr decodes it. */
    public record PageRequest(int sid, boolean ssv, int ssid, int grpid, boolean last, boolean read, boolean write,
                              long addr) {}

    /**
     * arm_smmu_priq_thread / arm_smmu_handle_ppr: drains the PRI queue and answers each last request of a group
     * with PRI_RESP. Linux 7.3 answers every request with DENY ("unexpected PRI request received"); a guest that
     * serviced the fault (as the IOPF path of a PRI-capable kernel would) answers SUCC, so the response is given.
     */
    public List<PageRequest> armSmmuPriqThread(final int response) {
        final List<PageRequest> reqs = new ArrayList<>();
        final List<long[]> responses = new ArrayList<>();
        final int mask = (2 << priqShift) - 1;
        priqOverflowSeen = false;
        for (int round = 0; round <= 4; round++) {
            while (((priqProd ^ priqCons) & mask) != 0) {
                final long a = priqBase + 16L * (priqCons & ((1 << priqShift) - 1));
                final long d0 = read64(a), d1 = read64(a + 8);
                final PageRequest r = new PageRequest((int) d0, d0 < 0, (int) ((d0 >>> 32) & 0xFFFFF), (int) (d1 & 0x1FF),
                        (d0 & (1L << 62)) != 0, (d0 & (1L << 60)) != 0, (d0 & (1L << 61)) != 0, d1 & ~0xFFFL);
                reqs.add(r);
                n.step(String.format("arm_smmu_handle_ppr: sid 0x%08x.0x%05x: [%d%s] %s%s access at iova 0x%016x", r.sid(),
                        r.ssid(), r.grpid(), r.last() ? "L" : "", r.read() ? "R" : "", r.write() ? "W" : "", r.addr()));
                if (r.last()) {
                    // arm_smmu_make_cmd_pri_resp(sid, ssid, ssv, grpid, resp)
                    responses.add(new long[] {OP_PRI_RESP | (r.ssv() ? 1L << 11 : 0) | ((long) r.ssid() << 12) | ((long) r.sid() << 32),
                            r.grpid() | ((long) response << 12)});
                }
                priqCons = (priqCons & Q_OVF) | ((priqCons + 1) & mask);
                m.write32(PRIQ_CONS, priqCons);
            }
            final int prod = m.read32(PRIQ_PROD);
            if (((prod ^ priqProd) & Q_OVF) != 0) {
                priqOverflowSeen = true;
                n.step("arm_smmu_priq_thread: PRIQ overflow detected -- requests lost");
            }
            priqProd = prod;
            if (((priqProd ^ priqCons) & mask) == 0) break;
        }
        if (((priqProd ^ priqCons) & Q_OVF) != 0) {
            priqCons = (priqProd & Q_OVF) | (priqCons & mask);
            m.write32(PRIQ_CONS, priqCons);
        }
        if (!responses.isEmpty()) {
            // arm_smmu_cmdq_issue_cmd: PRI_RESP is "fire and forget", no CMD_SYNC.
            armSmmuCmdqIssueCmdlist(responses, false);
            n.step("arm_smmu_cmdq_issue_cmd(PRI_RESP " + switch (response) {
                case PRI_RESP_DENY -> "DENY"; case PRI_RESP_FAIL -> "FAIL"; default -> "SUCC";
            } + ") x" + responses.size());
        }
        return reqs;
    }

    // ---------------------------------------------------------------- stream table

    /** arm_smmu_get_step_for_sid, allocating the L2 table first (arm_smmu_init_l2_strtab). */
    public long steAddr(final int sid) {
        if (!twoLevelStrtab) return strtab + 64L * sid;
        final int l1 = sid >>> STRTAB_SPLIT;
        if (l2Strtabs[l1] == 0) {
            final long l2 = alloc(64L << STRTAB_SPLIT, 64L << STRTAB_SPLIT);
            for (int i = 0; i < 1 << STRTAB_SPLIT; i++) write64(l2 + 64L * i, makeAbortSte()[0]);
            l2Strtabs[l1] = l2;
            write64(strtab + 8L * l1, l2 | (STRTAB_SPLIT + 1));             // arm_smmu_write_strtab_l1_desc: Span 9
            n.step(String.format("arm_smmu_init_l2_strtab: L2 table for SIDs 0x%x-0x%x at 0x%x (abort STEs), L1[%d] = 0x%x",
                    l1 << STRTAB_SPLIT, ((l1 + 1) << STRTAB_SPLIT) - 1, l2, l1, l2 | (STRTAB_SPLIT + 1)));
        }
        return l2Strtabs[l1] + 64L * (sid & ((1 << STRTAB_SPLIT) - 1));
    }

    /** arm_smmu_make_abort_ste. */
    public static long[] makeAbortSte() { return new long[] {1, 0, 0, 0, 0, 0, 0, 0}; }

    /** arm_smmu_make_bypass_ste (no ATTR_TYPES_OVR). */
    public static long[] makeBypassSte() { return new long[] {1 | (4L << 1), 0, 0, 0, 0, 0, 0, 0}; }

    /** arm_smmu_make_cdtable_ste: S1 translate over a CD table, S1DSS, WBRA/ISH, STRW NS-EL1, VMID 0. */
    public long[] makeCdtableSte(final CdTable t, final int s1dss) {
        final long d0 = 1 | (5L << 1) | ((long) t.s1fmt << 4) | t.base | ((long) t.s1cdmax << 59);
        final long d1 = s1dss | (1L << 2) | (1L << 4) | (3L << 6) | (stalls ? 1L << 27 : 0);   // S1STALLD without stall_enabled
        return new long[] {d0, d1, 0, 0, 0, 0, 0, 0};
    }

    /**
     * arm_smmu_make_s2_domain_ste for io-pgtable-arm's stage-2 table of {@link #s2Table()}: 40-bit IPA (S2T0SZ 24),
     * 4 KiB granule, start level 1 (S2SL0 1, two concatenated tables), WBWA ISH, S2PS from the OAS, S2AA64,
     * S2PTW, S2R.
     */
    public long[] makeS2DomainSte(final int vmid, final IoPgtable s2) {
        final long vtcr = 24 | (1L << 6) | (1L << 8) | (1L << 10) | (3L << 12) | ((long) ipsFor(oas) << 16);
        final long d2 = vmid | (vtcr << 32) | (1L << 51) | (1L << 54) | (1L << 58);
        return new long[] {1 | (6L << 1), 0, d2, s2.root, 0, 0, 0, 0};
    }

    /**
     * A nested STE as arm_smmu_make_nested_cd_table_ste builds it for iommufd's nested domain: the guest's
     * stage-1 fields (Config S1+S2, S1ContextPtr an IPA) over the parent's stage 2.
     */
    public long[] makeNestedSte(final CdTable t, final int s1dss, final int vmid, final IoPgtable s2) {
        final long[] s1 = makeCdtableSte(t, s1dss);
        final long[] ste = makeS2DomainSte(vmid, s2);
        ste[0] = (s1[0] & ~0xEL) | (7L << 1);
        ste[1] = s1[1];
        return ste;
    }

    static int ipsFor(final int bits) {
        return switch (bits) { case 32 -> 0; case 36 -> 1; case 40 -> 2; case 42 -> 3; case 44 -> 4; case 52 -> 6; default -> 5; };
    }

    /**
     * arm_smmu_write_ste / arm_smmu_write_entry: if one qword changes, it is written alone; otherwise a breaking
     * update (V = 0, sync; qwords 1..7, sync; qword 0, sync). Each sync is arm_smmu_ste_writer_sync_entry
     * (CFGI_STE leaf + CMD_SYNC). Then PREFETCH_CONFIG, unsynced ("likely that we'll want to use the new STE
     * soon"). Returns false if a sync failed.
     */
    public boolean armSmmuWriteSte(final int sid, final long[] target) {
        final long a = steAddr(sid);
        final boolean ok = writeEntry(a, target, () -> issueCmdWithSync(OP_CFGI_STE | ((long) sid << 32), 1));
        armSmmuCmdqIssueCmdlist(List.<long[]>of(new long[] {OP_PREFETCH_CFG | ((long) sid << 32), 0}), false);
        n.step(String.format("arm_smmu_write_ste: SID 0x%x STE = %s; PREFETCH_CONFIG", sid, hexWords(target, 4)));
        return ok;
    }

    private boolean writeEntry(final long a, final long[] target, final java.util.function.BooleanSupplier sync) {
        int diff = 0, critical = -1;
        for (int i = 0; i < 8; i++) {
            if (read64(a + 8L * i) != target[i]) { diff++; critical = i; }
        }
        if (diff == 0) return true;
        if (diff == 1) {
            write64(a + 8L * critical, target[critical]);
            return sync.getAsBoolean();
        }
        write64(a, read64(a) & ~1L);
        boolean ok = sync.getAsBoolean();
        for (int i = 1; i < 8; i++) write64(a + 8L * i, target[i]);
        ok &= sync.getAsBoolean();
        write64(a, target[0]);
        return ok & sync.getAsBoolean();
    }

    private static String hexWords(final long[] w, final int count) {
        final StringBuilder b = new StringBuilder();
        for (int i = 0; i < count; i++) b.append(i == 0 ? "" : " ").append(String.format("0x%016x", w[i]));
        return b.toString();
    }

    // ---------------------------------------------------------------- context descriptors

    /** A master's CD table (struct arm_smmu_ctx_desc_cfg). */
    public final class CdTable {
        public final int s1cdmax, s1fmt;
        public final long base;
        private final long[] l2;

        CdTable(final int s1cdmax) {
            this.s1cdmax = s1cdmax;
            final int maxContexts = 1 << s1cdmax;
            if (!twoLevelCdtab || maxContexts <= CTXDESC_L2_ENTRIES) {
                s1fmt = 0;                                                   // STRTAB_STE_0_S1FMT_LINEAR
                base = alloc(64L * maxContexts, 64L * maxContexts);
                l2 = null;
            } else {
                s1fmt = 2;                                                   // STRTAB_STE_0_S1FMT_64K_L2
                final int l1 = (maxContexts + CTXDESC_L2_ENTRIES - 1) / CTXDESC_L2_ENTRIES;
                base = alloc(8L * l1, 64);
                l2 = new long[l1];
            }
        }

        /** arm_smmu_alloc_cd_ptr / arm_smmu_get_cd_ptr: the CD of {@code ssid}, allocating its leaf table. */
        public long cdPtr(final int ssid) {
            if (l2 == null) return base + 64L * ssid;
            final int i = ssid / CTXDESC_L2_ENTRIES;
            if (l2[i] == 0) {
                l2[i] = alloc(64L * CTXDESC_L2_ENTRIES, 64L * CTXDESC_L2_ENTRIES);
                write64(base + 8L * i, l2[i] | 1);                           // arm_smmu_write_cd_l1_desc: V
                n.step(String.format("arm_smmu_alloc_cd_ptr: CD leaf table %d at 0x%x (1024 CDs)", i, l2[i]));
            }
            return l2[i] + 64L * (ssid % CTXDESC_L2_ENTRIES);
        }
    }

    /** arm_smmu_alloc_cd_tables for a master with {@code ssidBits} PASID bits. */
    public CdTable armSmmuAllocCdTables(final int masterSsidBits) {
        final CdTable t = new CdTable(masterSsidBits);
        n.step(String.format("arm_smmu_alloc_cd_tables: S1CDMax %d, %s CD table at 0x%x", masterSsidBits,
                t.s1fmt == 0 ? "linear" : "2-level (64K leaves)", t.base));
        return t;
    }

    /**
     * arm_smmu_make_s1_cd for io-pgtable-arm's 48-bit stage-1 table: T0SZ 16, TG0 from the granule, WBWA ISH,
     * EPD1, V, IPS from the OAS, AA64, R, A, ASET, the ASID, TTB0, MAIR (0x0404ff: device nGnRE, WBWA,
     * non-cacheable). HA/HD only for a dirty-tracking domain.
     */
    public long[] makeS1Cd(final int asid, final IoPgtable s1, final boolean dirtyTracking) {
        final int tg0 = s1.granule == 12 ? 0 : s1.granule == 16 ? 1 : 2;
        long d0 = (64 - s1.inputBits) | ((long) tg0 << 6) | (1L << 8) | (1L << 10) | (3L << 12) | (1L << 30) | (1L << 31)
                | ((long) ipsFor(oas) << 32) | (1L << 41) | (1L << 45) | (1L << 46) | (1L << 47) | ((long) asid << 48);
        if (dirtyTracking) d0 |= (1L << 43) | (1L << 42);
        return new long[] {d0, s1.root & 0x000F_FFFF_FFFF_FFF0L, 0, 0x0404ffL, 0, 0, 0, 0};
    }

    /**
     * arm_smmu_write_cd_entry: arm_smmu_write_entry over the CD with arm_smmu_cd_writer_sync_entry, i.e.
     * arm_smmu_sync_cd: CFGI_CD (leaf) for each of the master's streams + CMD_SYNC.
     */
    public boolean armSmmuWriteCdEntry(final int sid, final int ssid, final long cdAddr, final long[] target) {
        final boolean ok = writeEntry(cdAddr, target,
                () -> issueCmdWithSync(OP_CFGI_CD | ((long) ssid << 12) | ((long) sid << 32), 1));
        n.step(String.format("arm_smmu_write_cd_entry: SID 0x%x SSID %d CD at 0x%x = %s", sid, ssid, cdAddr, hexWords(target, 2)));
        return ok;
    }

    // ---------------------------------------------------------------- TLB maintenance

    /** arm_smmu_tlb_inv_asid: TLBI_NH_ASID + CMD_SYNC. */
    public boolean armSmmuTlbInvAsid(final int asid) {
        n.step("arm_smmu_tlb_inv_asid: TLBI_NH_ASID " + asid + " + CMD_SYNC");
        return issueCmdWithSync(OP_TLBI_NH_ASID | ((long) asid << 48), 0);
    }

    /** arm_smmu_s2_tlb_inv_all-style TLBI_S12_VMALL for a VMID + CMD_SYNC. */
    public boolean armSmmuTlbInvVmall(final int vmid) {
        n.step("TLBI_S12_VMALL VMID " + vmid + " + CMD_SYNC");
        return issueCmdWithSync(OP_TLBI_S12_VMALL | ((long) vmid << 32), 0);
    }

    /**
     * arm_smmu_tlb_inv_range_asid → arm_smmu_cmdq_batch_add_range for a leaf unmap of [iova, iova + size) in
     * {@code granule}-sized leaves of a 4 KiB-granule table: without RIL one TLBI_NH_VA per leaf; with RIL range
     * commands, each covering (NUM + 1) · 2^SCALE pages, NUM and SCALE from the lowest set bits of the remaining
     * page count, TG = 4K, TTL from the leaf level. Then CMD_SYNC.
     */
    public boolean armSmmuTlbInvRangeAsid(final int asid, final long iova, final long size, final long granule) {
        final long d0 = OP_TLBI_NH_VA | ((long) asid << 48);
        final List<long[]> cmds = new ArrayList<>();
        final int tg = 12;
        final long end = iova + size;
        long va = iova;
        if (!ril) {
            for (; va < end; va += granule) cmds.add(new long[] {d0, 1 | (va & ~0xFFFL)});   // LEAF
        } else {
            long numPages = size >>> tg;
            final long tgEnc = (tg - 10) / 2;
            final long ttl = 4 - ((63 - Long.numberOfLeadingZeros(granule)) - 3) / (tg - 3);
            while (va < end) {
                final int scale = Long.numberOfTrailingZeros(numPages);
                final long num = (numPages >>> scale) & 31;                      // CMDQ_TLBI_RANGE_NUM_MAX
                cmds.add(new long[] {d0 | ((num - 1) << 12) | ((long) (scale & 0x1F) << 20),
                        1 | (ttl << 8) | (tgEnc << 10) | (va & ~0xFFFL)});
                va += num << (scale + tg);
                numPages -= num << scale;
            }
        }
        n.step(String.format("arm_smmu_tlb_inv_range_asid: ASID %d [0x%x, 0x%x): %d TLBI_NH_VA%s + CMD_SYNC", asid, iova, end,
                cmds.size(), ril ? " range command(s)" : ""));
        return armSmmuCmdqIssueCmdlist(cmds, true);
    }

    // ---------------------------------------------------------------- page tables (io-pgtable-arm)

    /** An io-pgtable-arm LPAE table: stage 1 or 2, pages only, as the kernel's map_pages builds it. */
    public final class IoPgtable {
        public final boolean stage2;
        public final int granule, inputBits, startLevel;
        public final long root;

        IoPgtable(final boolean stage2, final int granule, final int inputBits, final int startLevel) {
            this.stage2 = stage2;
            this.granule = granule;
            this.inputBits = inputBits;
            this.startLevel = startLevel;
            final int lsb = granule + (3 - startLevel) * (granule - 3);
            final long sz = Math.max(64, 8L << (inputBits - lsb));
            this.root = alloc(sz, Math.max(sz, 64));
        }

        /** The next-level table of {@code ia} at {@code level}, allocated on demand; 0 if absent and not allocating. */
        private long walkTo(final long ia, final int stopLevel, final boolean allocate) {
            long table = root;
            final int stride = granule - 3;
            for (int level = startLevel; level < stopLevel; level++) {
                final int lsb = granule + (3 - level) * stride;
                final int bits = level == startLevel ? inputBits - lsb : stride;
                final long slot = table + 8 * ((ia >>> lsb) & ((1L << bits) - 1));
                long desc = read64(slot);
                if ((desc & 1) == 0) {
                    if (!allocate) return 0;
                    desc = alloc(1L << granule, 1L << granule) | 3;
                    write64(slot, desc);
                }
                table = desc & 0x0000_FFFF_FFFF_F000L & -(1L << granule);
            }
            return table;
        }

        /**
         * arm_lpae_map_pages for one page: stage 1 gets AP[1] (unprivileged) unless {@code priv}, AP[2] read-only
         * without {@code write}, AF, nG, inner-shareable; stage 2 gets S2AP from read/write, AF, MemAttr WB.
         */
        public void map(final long ia, final long pa, final boolean write, final boolean priv) {
            final long table = walkTo(ia, 3, true);
            long desc = (pa & -(1L << granule)) | 3 | (3L << 8) | (1L << 10);
            if (stage2) desc |= (1L << 6) | (write ? 1L << 7 : 0) | (0xFL << 2);
            else desc |= (write ? 0 : 1L << 7) | (priv ? 0 : 1L << 6) | (1L << 11);
            write64(table + 8 * ((ia >>> granule) & ((1L << (granule - 3)) - 1)), desc);
        }

        /** arm_lpae_unmap_pages for one page: clears the leaf (the TLBI comes after). */
        public void unmap(final long ia) {
            final long table = walkTo(ia, 3, false);
            if (table != 0) write64(table + 8 * ((ia >>> granule) & ((1L << (granule - 3)) - 1)), 0);
        }
    }

    /** A 48-bit stage-1 table (arm_64_lpae_alloc_pgtable_s1) in a 4/16/64 KiB granule. */
    public IoPgtable s1Table(final int granuleShift) {
        final int stride = granuleShift - 3;
        final int levels = (48 - granuleShift + stride - 1) / stride;
        final IoPgtable t = new IoPgtable(false, granuleShift, 48, 4 - levels);
        n.step(String.format("alloc_io_pgtable_ops(ARM_64_LPAE_S1): %d KiB granule, %d levels, pgd at 0x%x",
                1 << (granuleShift - 10), levels, t.root));
        return t;
    }

    /** A 40-bit, 4 KiB stage-2 table (arm_64_lpae_alloc_pgtable_s2): start level 1, two concatenated tables. */
    public IoPgtable s2Table() {
        final IoPgtable t = new IoPgtable(true, 12, 40, 1);
        n.step(String.format("alloc_io_pgtable_ops(ARM_64_LPAE_S2): 40-bit IPA, 4 KiB granule, pgd (2 concatenated) at 0x%x", t.root));
        return t;
    }

    @Override public String toString() { return "LinuxArmSmmuV3Driver" + Arrays.toString(new long[] {cmdqBase, evtqBase, strtab}); }
}
