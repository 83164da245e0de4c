package dev.viommu.smmuv3.guest;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.translate.AccessType;
import dev.viommu.smmuv3.SmmuV3Device;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.viommu.core.guest.GuestMachine.NO_PASID;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Guest scripts: the Linux-like driver boots the SMMU and programs it, emulated endpoints do DMA. Written only
 * against {@link GuestMachine}; run here through {@link DirectMachine}.
 */
class SmmuV3GuestScriptsTest {
    static final long RAM = 64L << 20;
    static final long HEAP = 1L << 20;
    static final int F_TRANSLATION = 0x10, F_PERMISSION = 0x13, C_BAD_STE = 0x04, C_BAD_CD = 0x0A, C_BAD_SUBSTREAMID = 0x08;

    private DirectMachine machine;

    private SmmuV3GuestDriver boot(final Map<String, Object> props) { return boot(props, -1); }

    private SmmuV3GuestDriver boot(final Map<String, Object> props, final int evtqShift) {
        machine = new DirectMachine("arm-smmuv3", props, RAM);
        final SmmuV3GuestDriver d = new SmmuV3GuestDriver(machine, HEAP);
        d.hwProbe();
        if (evtqShift >= 0) d.evtqShift(evtqShift);
        d.initStructures();
        d.deviceReset();
        machine.takeInterrupts(0);
        return d;
    }

    @AfterEach
    void close() {
        if (machine != null) machine.close();
    }

    /** A stage-1 stream with one CD (no substreams) and a 4 KiB table; returns the table. */
    private SmmuV3GuestDriver.PageTable s1Stream(final SmmuV3GuestDriver d, final int sid, final int asid) {
        final SmmuV3GuestDriver.PageTable pt = d.s1Table(12);
        final long cd = d.alloc(64, 64);
        assertTrue(d.installCd(cd, sid, 0, SmmuV3GuestDriver.s1Cd(asid, pt.root, 12, 5, true, true)));
        assertTrue(d.installSte(sid, SmmuV3GuestDriver.s1Ste(cd, 0, 0, 0)));
        return pt;
    }

    @Test
    void shouldBootWithLinearStreamTableAndTranslateStage1() {
        final SmmuV3GuestDriver d = boot(Map.of("sidsize", 8));
        assertTrue(d.linearStrtab);
        assertEquals(SmmuV3GuestDriver.CR0_CMDQEN | SmmuV3GuestDriver.CR0_EVTQEN | SmmuV3GuestDriver.CR0_SMMUEN,
                machine.read32(SmmuV3GuestDriver.CR0ACK));
        assertTrue(d.msipoll, "IDR0.MSI + COHACC: Linux waits for CMD_SYNC with MSIPOLL");
        machine.attachEmulated("ep0", 5);
        final SmmuV3GuestDriver.PageTable pt = s1Stream(d, 5, 1);
        pt.map(0x40_0000, 0x200_0000, true, false, true, false);
        final GuestMachine.Translated t = machine.translate(5, NO_PASID, 0x40_0123, AccessType.READ);
        assertTrue(t.ok(), machine::describe);
        assertEquals(0x200_0123, t.outputAddress());
        assertEquals(0, machine.dmaWrite(5, NO_PASID, 0x40_0010, new byte[] {1, 2, 3}));
        final byte[] back = new byte[3];
        assertEquals(0, machine.dmaRead(5, NO_PASID, 0x40_0010, back));
        assertArrayEquals(new byte[] {1, 2, 3}, back);
        // Another SID still aborts (the initial STEs).
        assertFalse(machine.translate(6, NO_PASID, 0x40_0000, AccessType.READ).ok());
    }

    @Test
    void shouldBootWithTwoLevelStreamTable() {
        final SmmuV3GuestDriver d = boot(Map.of("sidsize", 16));
        assertFalse(d.linearStrtab);
        machine.attachEmulated("ep0", 0x1234);
        final SmmuV3GuestDriver.PageTable pt = s1Stream(d, 0x1234, 7);
        pt.map(0x1000, 0x30_0000, true, false, true, false);
        final GuestMachine.Translated t = machine.translate(0x1234, NO_PASID, 0x1008, AccessType.WRITE);
        assertTrue(t.ok(), machine::describe);
        assertEquals(0x30_0008, t.outputAddress());
        // A SID whose L1 descriptor is still invalid: C_BAD_STREAMID recorded (CR2.RECINVSID).
        assertFalse(machine.translate(0x4000, NO_PASID, 0, AccessType.READ).ok());
        final List<long[]> ev = d.evtqThread();
        assertEquals(1, ev.size());
        assertEquals(0x02, ev.get(0)[0] & 0xFF);
        assertEquals(0x4000, ev.get(0)[0] >>> 32);
    }

    @Test
    void shouldTranslateStage1WithSubstreamIds() {
        final SmmuV3GuestDriver d = boot(Map.of());
        machine.attachEmulated("ep0", 3);
        // Linear CD table of 4 CDs, S1DSS = SSID0: no-PASID traffic uses CD 0.
        final long cds = d.alloc(4 * 64, 4 * 64);
        final SmmuV3GuestDriver.PageTable pt0 = d.s1Table(12), pt1 = d.s1Table(12), pt2 = d.s1Table(12);
        pt0.map(0x8000, 0x100_0000, true, false, true, false);
        pt1.map(0x8000, 0x110_0000, true, false, true, false);
        pt2.map(0x8000, 0x120_0000, false, false, true, false);
        assertTrue(d.installCd(cds, 3, 0, SmmuV3GuestDriver.s1Cd(10, pt0.root, 12, 5, true, true)));
        assertTrue(d.installCd(cds + 64, 3, 1, SmmuV3GuestDriver.s1Cd(11, pt1.root, 12, 5, true, true)));
        assertTrue(d.installCd(cds + 128, 3, 2, SmmuV3GuestDriver.s1Cd(12, pt2.root, 12, 5, true, true)));
        assertTrue(d.installSte(3, SmmuV3GuestDriver.s1Ste(cds, 2, 2, 0)));
        assertEquals(0x100_0000, machine.translate(3, NO_PASID, 0x8000, AccessType.READ).outputAddress());
        assertEquals(0x110_0000, machine.translate(3, 1, 0x8000, AccessType.READ).outputAddress());
        assertEquals(0x120_0000, machine.translate(3, 2, 0x8000, AccessType.READ).outputAddress());
        final GuestMachine.Translated ro = machine.translate(3, 2, 0x8000, AccessType.WRITE);
        assertFalse(ro.ok());
        assertEquals(F_PERMISSION, ro.faultCode());
        assertEquals(C_BAD_CD, machine.translate(3, 3, 0x8000, AccessType.READ).faultCode());          // CD 3: V = 0
        assertEquals(C_BAD_SUBSTREAMID, machine.translate(3, 4, 0x8000, AccessType.READ).faultCode()); // ≥ 2^S1CDMax
        assertEquals(C_BAD_SUBSTREAMID, machine.translate(3, 0, 0x8000, AccessType.READ).faultCode()); // SSID0 mode
        final List<long[]> ev = d.evtqThread();
        assertEquals(4, ev.size(), machine::describe);
        assertEquals(F_PERMISSION, ev.get(0)[0] & 0xFF);
        assertEquals(2, (ev.get(0)[0] >>> 12) & 0xFFFFF);      // SSID in the record
        assertTrue((ev.get(0)[0] & (1 << 11)) != 0);          // SSV
    }

    @Test
    void shouldTranslateThroughTwoLevelCdTable() {
        final SmmuV3GuestDriver d = boot(Map.of());
        machine.attachEmulated("ep0", 9);
        final long l1 = d.alloc(8 * 4, 64);
        final long l2 = d.alloc(64 * 64, 4096);                     // S1Fmt = 1: 64 CDs per leaf table
        final SmmuV3GuestDriver.PageTable pt = d.s1Table(12);
        pt.map(0x2000, 0x150_0000, true, false, true, false);
        final int ssid = 64 + 5;                                    // L1 index 1, L2 index 5
        machine.memory();
        try {
            machine.memory().write64(l1 + 8, l2 | 1);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        assertTrue(d.installCd(l2 + 5 * 64, 9, ssid, SmmuV3GuestDriver.s1Cd(3, pt.root, 12, 5, false, false)));
        assertTrue(d.installSte(9, SmmuV3GuestDriver.s1Ste(l1, 8, 1, 1)));
        assertEquals(0x150_0000, machine.translate(9, ssid, 0x2000, AccessType.READ).outputAddress());
        assertEquals(C_BAD_SUBSTREAMID, machine.translate(9, 200, 0x2000, AccessType.READ).faultCode());   // L1 V = 0
    }

    @Test
    void shouldTranslateStage2Only() {
        final SmmuV3GuestDriver d = boot(Map.of());
        machine.attachEmulated("ep0", 4);
        final SmmuV3GuestDriver.PageTable s2 = d.s2Table();
        s2.map(0x1000_0000L, 0x300_0000, true, true, true, false);
        assertTrue(d.installSte(4, SmmuV3GuestDriver.s2Ste(9, s2.root, 5)));
        final GuestMachine.Translated t = machine.translate(4, NO_PASID, 0x1000_0040L, AccessType.WRITE);
        assertTrue(t.ok(), machine::describe);
        assertEquals(0x300_0040, t.outputAddress());
        final GuestMachine.Translated miss = machine.translate(4, NO_PASID, 0x2000_0000L, AccessType.READ);
        assertEquals(F_TRANSLATION, miss.faultCode());
        final long[] ev = d.evtqThread().get(0);
        assertTrue((ev[1] & (1L << 39)) != 0, "S2 bit");
        assertEquals(0x2000_0000L, ev[3] & 0x000F_FFFF_FFFF_F000L, "IPA");
    }

    @Test
    void shouldTranslateNestedThroughStage2ForEveryStage1Table() {
        final SmmuV3GuestDriver d = boot(Map.of());
        machine.attachEmulated("ep0", 8);
        final long heapStart = d.alloc(0, 4096);
        final SmmuV3GuestDriver.PageTable s1 = d.s1Table(12);
        final long ipaOut = 0x5000_0000L;
        s1.map(0x7000, ipaOut, true, false, true, false);
        final long cd = d.alloc(64, 64);
        final long heapEnd = d.alloc(0, 4096);
        final SmmuV3GuestDriver.PageTable s2 = d.s2Table();
        for (long p = heapStart; p < heapEnd; p += 4096) s2.map(p, p, true, true, true, false);   // identity for tables
        s2.map(ipaOut, 0x380_0000, true, true, true, false);
        try {
            for (int i = 7; i >= 0; i--) machine.memory().write64(cd + 8L * i, SmmuV3GuestDriver.s1Cd(5, s1.root, 12, 5, true, true)[i]);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        assertTrue(d.installSte(8, SmmuV3GuestDriver.nestedSte(cd, 0, 0, 2, s2.root, 5)));
        final GuestMachine.Translated t = machine.translate(8, NO_PASID, 0x7abc, AccessType.READ);
        assertTrue(t.ok(), machine::describe);
        assertEquals(0x380_0abc, t.outputAddress());
        // Remove the stage-2 mapping of the stage-1 root table: a stage-2 fault while walking stage 1 (CLASS = TT).
        s2.unmap(s1.root & ~0xFFFL);
        assertTrue(d.issue(List.of(new long[] {SmmuV3GuestDriver.OP_TLBI_S12_VMALL | (2L << 32), 0})));
        final GuestMachine.Translated f = machine.translate(8, NO_PASID, 0x7abc, AccessType.READ);
        assertEquals(F_TRANSLATION, f.faultCode());
        final long[] ev = d.evtqThread().get(0);
        assertTrue((ev[1] & (1L << 39)) != 0, "S2");
        assertEquals(1, (ev[1] >>> 40) & 3, "CLASS = TT");
        assertEquals(0x7abc, ev[2], "InputAddr is the transaction's VA");
    }

    @Test
    void shouldFaultAfterTlbiByVa() {
        final SmmuV3GuestDriver d = boot(Map.of());
        machine.attachEmulated("ep0", 2);
        final SmmuV3GuestDriver.PageTable pt = s1Stream(d, 2, 33);
        pt.map(0x9000, 0x210_0000, true, false, true, false);
        assertTrue(machine.translate(2, NO_PASID, 0x9000, AccessType.READ).ok());
        pt.unmap(0x9000);
        assertTrue(machine.translate(2, NO_PASID, 0x9000, AccessType.READ).ok(), "still cached in the IOTLB");
        machine.takeInvalidations();
        assertTrue(d.tlbiVa(0, 33, 0x9000));
        assertFalse(machine.takeInvalidations().isEmpty(), "translation consumers were told");
        final GuestMachine.Translated t = machine.translate(2, NO_PASID, 0x9000, AccessType.READ);
        assertEquals(F_TRANSLATION, t.faultCode());
        final long[] ev = d.evtqThread().get(0);
        assertEquals(F_TRANSLATION, ev[0] & 0xFF);
        assertEquals(2, ev[0] >>> 32);
        assertEquals(0x9000, ev[2]);
    }

    @Test
    void shouldFaultAfterTlbiByRange() {
        final SmmuV3GuestDriver d = boot(Map.of());
        assertTrue(d.ril);
        machine.attachEmulated("ep0", 2);
        final SmmuV3GuestDriver.PageTable pt = s1Stream(d, 2, 34);
        for (int i = 0; i < 20; i++) pt.map(0x10_0000 + 4096L * i, 0x220_0000 + 4096L * i, true, false, true, false);
        for (int i = 0; i < 20; i++) assertTrue(machine.translate(2, NO_PASID, 0x10_0000 + 4096L * i, AccessType.READ).ok());
        for (int i = 0; i < 20; i++) pt.unmap(0x10_0000 + 4096L * i);
        assertTrue(d.tlbiRange(0, 34, 0x10_0000, 19 * 4096L));      // 19 pages: two range commands
        for (int i = 0; i < 19; i++) {
            assertEquals(F_TRANSLATION, machine.translate(2, NO_PASID, 0x10_0000 + 4096L * i, AccessType.READ).faultCode(), "page " + i);
        }
        assertTrue(machine.translate(2, NO_PASID, 0x10_0000 + 4096L * 19, AccessType.READ).ok(), "outside the range: still cached");
        assertEquals(19, d.evtqThread().size());
    }

    @Test
    void shouldRaiseCBadSteForIllegalSte() {
        final SmmuV3GuestDriver d = boot(Map.of("ssidsize", 8));
        machine.attachEmulated("ep0", 11);
        final long[] ste = SmmuV3GuestDriver.s1Ste(d.alloc(64, 64), 9, 0, 0);   // S1CDMax above SSIDSIZE
        assertTrue(d.installSte(11, ste));
        assertEquals(C_BAD_STE, machine.translate(11, NO_PASID, 0, AccessType.READ).faultCode());
        final List<long[]> ev = d.evtqThread();
        assertEquals(1, ev.size());
        assertEquals(C_BAD_STE, ev.get(0)[0] & 0xFF);
        assertEquals(11, ev.get(0)[0] >>> 32);
        // Fixing the STE (and CFGI_STE) recovers: invalid STEs are never cached.
        assertTrue(d.installSte(11, SmmuV3GuestDriver.bypassSte()));
        assertEquals(0x1234, machine.translate(11, NO_PASID, 0x1234, AccessType.READ).outputAddress());
    }

    @Test
    void shouldRaiseCerrorIllForIllegalCommandThenRecover() {
        final SmmuV3GuestDriver d = boot(Map.of());
        final List<long[]> bad = new ArrayList<>();
        bad.add(new long[] {0x7F, 0});                                            // no such opcode
        assertFalse(d.issue(bad));
        assertEquals(1, (machine.read32(SmmuV3GuestDriver.CMDQ_CONS) >>> 24) & 0x7F, "CMDQ_CONS.ERR = CERROR_ILL");
        assertTrue(d.gerrorActive(SmmuV3GuestDriver.GERROR_CMDQ_ERR));
        assertTrue(machine.takeInterrupts(0).contains(new GuestMachine.Interrupt.Msi(SmmuV3GuestDriver.MSI_DOORBELL, SmmuV3GuestDriver.MSI_GERROR)));
        assertEquals(1, d.gerrorHandler());                                       // skip_err + GERRORN
        assertFalse(d.gerrorActive(SmmuV3GuestDriver.GERROR_CMDQ_ERR));
        final int mask = (2 << d.cmdqShift) - 1;
        assertEquals(d.cmdqProd & mask, machine.read32(SmmuV3GuestDriver.CMDQ_CONS) & mask, "queue drained after recovery");
        assertTrue(d.tlbiAsid(0, 1), "the queue works again");
    }

    @Test
    void shouldOverflowEventQueueAndSignalOvflg() {
        final SmmuV3GuestDriver d = boot(Map.of(), 2);                           // 4 event slots
        machine.attachEmulated("ep0", 1);
        s1Stream(d, 1, 1);
        for (int i = 0; i < 6; i++) assertFalse(machine.translate(1, NO_PASID, 0x100_0000L + i * 4096L, AccessType.READ).ok());
        final int prod = machine.read32(SmmuV3GuestDriver.EVTQ_PROD);
        assertTrue(prod < 0, "PROD.OVFLG toggled");
        final long msis = machine.takeInterrupts(0).stream()
                .filter(i -> i.equals(new GuestMachine.Interrupt.Msi(SmmuV3GuestDriver.MSI_DOORBELL, SmmuV3GuestDriver.MSI_EVTQ))).count();
        assertEquals(5, msis, "one per record written plus one for the overflow");
        final List<long[]> ev = d.evtqThread();
        assertEquals(4, ev.size());
        assertTrue(d.evtqOverflowSeen);
        assertEquals(0, (machine.read32(SmmuV3GuestDriver.EVTQ_CONS) ^ machine.read32(SmmuV3GuestDriver.EVTQ_PROD)) & SmmuV3GuestDriver.Q_OVF,
                "OVACKFLG matches OVFLG");
        // After acknowledgement, new events are recorded normally and no new overflow is flagged.
        assertFalse(machine.translate(1, NO_PASID, 0x200_0000L, AccessType.READ).ok());
        d.evtqOverflowSeen = false;
        assertEquals(1, d.evtqThread().size());
        assertFalse(d.evtqOverflowSeen);
    }

    @Test
    void shouldAnswerPageRequestWithPriResp() {
        final SmmuV3GuestDriver d = boot(Map.of("pri", true, "ats", true));
        assertTrue(d.pri);
        final SmmuV3Device dev = (SmmuV3Device) machine.device();
        final List<int[]> responses = new ArrayList<>();
        dev.setPriResponseListener((sid, pasid, grp, resp, auto) -> responses.add(new int[] {sid, pasid, grp, resp, auto ? 1 : 0}));
        assertTrue(dev.injectPageRequest(0x42, 7, 0xdead_0000L, AccessType.READ | AccessType.WRITE, 0x15, true));
        assertTrue(machine.takeInterrupts(0).contains(new GuestMachine.Interrupt.Msi(SmmuV3GuestDriver.MSI_DOORBELL, SmmuV3GuestDriver.MSI_PRIQ)));
        final List<SmmuV3GuestDriver.PageRequest> reqs = d.priqThread(SmmuV3GuestDriver.PRI_RESP_SUCC);
        assertEquals(1, reqs.size());
        assertEquals(0x42, reqs.get(0).sid());
        assertEquals(7, reqs.get(0).ssid());
        assertEquals(0xdead_0000L, reqs.get(0).addr());
        assertEquals(1, responses.size());
        assertArrayEquals(new int[] {0x42, 7, 0x15, 2, 0}, responses.get(0));
        // A forged response for a group that is not outstanding is ignored.
        assertTrue(d.issue(List.of(new long[] {SmmuV3GuestDriver.OP_PRI_RESP | (0x42L << 32), 0x15 | (2L << 12)})));
        assertEquals(1, responses.size());
    }

    @Test
    void shouldCompleteCmdSyncByPollingConsWithoutMsi() {
        final Map<String, Object> p = new HashMap<>();
        p.put("msi", false);
        final SmmuV3GuestDriver d = boot(p);
        assertFalse(d.msipoll);
        machine.attachEmulated("ep0", 1);
        s1Stream(d, 1, 1);
        assertFalse(machine.translate(1, NO_PASID, 0x5000, AccessType.READ).ok());
        final List<GuestMachine.Interrupt> irqs = machine.takeInterrupts(0);
        assertTrue(irqs.contains(new GuestMachine.Interrupt.Line(SmmuV3Device.LINE_EVENTQ, true)), irqs::toString);
        assertEquals(1, d.evtqThread().size());
    }
}
