package dev.viommu.smmuv3;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.translate.AccessType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.viommu.core.guest.GuestMachine.NO_PASID;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Walk, fault and cache behaviour, driven through MMIO and guest memory by the guest driver. */
class SmmuV3TranslationTest {
    private DirectMachine m;

    private SmmuV3TestGuest boot(final Map<String, ?> props) {
        m = new DirectMachine("arm-smmuv3", props, 48L << 20);
        final SmmuV3TestGuest d = new SmmuV3TestGuest(m, 1L << 20);
        d.hwProbe();
        d.initStructures();
        d.deviceReset();
        return d;
    }

    @AfterEach
    void close() {
        if (m != null) m.close();
    }

    private SmmuV3TestGuest.PageTable stream(final SmmuV3TestGuest d, final int sid, final int granule, final long[] cdWords) {
        m.attachEmulated("ep" + sid, sid);
        final SmmuV3TestGuest.PageTable pt = d.s1Table(granule);
        final long cd = d.alloc(64, 64);
        // HA/HD only as IDR0.HTTU offers them (arm_smmu_make_s1_cd; beyond HTTU they are ILLEGAL, §5.4 HA).
        final long[] c = cdWords != null ? cdWords : SmmuV3TestGuest.s1Cd(1, pt.root, granule, 5, d.httu >= 1, d.httu == 2);
        c[1] = pt.root;
        assertTrue(d.installCd(cd, sid, 0, c));
        assertTrue(d.installSte(sid, SmmuV3TestGuest.s1Ste(cd, 0, 0, 0)));
        return pt;
    }

    @Test
    void shouldWalkSixteenAndSixtyFourKiloByteGranules() {
        final SmmuV3TestGuest d = boot(Map.of());
        final SmmuV3TestGuest.PageTable p16 = stream(d, 1, 14, null);
        assertEquals(0, p16.startLevel, "48-bit VA with 16K: start at level 0");
        p16.map(0x1234_4000L, 0x80_8000, true, false, true, false);
        final GuestMachine.Translated t16 = m.translate(1, NO_PASID, 0x1234_4abcL, AccessType.READ);
        assertEquals(0x80_8abc, t16.outputAddress(), m::describe);
        assertEquals(16 * 1024, t16.pageSize());
        final SmmuV3TestGuest.PageTable p64 = stream(d, 2, 16, null);
        assertEquals(1, p64.startLevel, "48-bit VA with 64K: start at level 1");
        p64.map(0x5_0001_0000L, 0xA0_0000, true, false, true, false);
        final GuestMachine.Translated t64 = m.translate(2, NO_PASID, 0x5_0001_fff0L, AccessType.READ);
        assertEquals(0xA0_fff0, t64.outputAddress(), m::describe);
        assertEquals(64 * 1024, t64.pageSize());
    }

    @Test
    void shouldTranslateBlockMappings() {
        final SmmuV3TestGuest d = boot(Map.of());
        final SmmuV3TestGuest.PageTable pt = stream(d, 1, 12, null);
        pt.mapBlock(0x4000_0000L, 0x200_0000, 2);                      // 2 MiB block
        final GuestMachine.Translated t = m.translate(1, NO_PASID, 0x4012_3456L, AccessType.WRITE);
        assertEquals(0x212_3456, t.outputAddress(), m::describe);
        assertEquals(2 << 20, t.pageSize());
        // A TLBI by any address inside the block drops every cached 4 KiB piece of it.
        assertTrue(m.translate(1, NO_PASID, 0x4000_0000L, AccessType.READ).ok());
        pt.unmap(0x4000_0000L);
        assertTrue(d.tlbiVa(0, 1, 0x401F_F000L));
        assertFalse(m.translate(1, NO_PASID, 0x4012_3456L, AccessType.READ).ok());
    }

    @Test
    void shouldSetAccessFlagAndDirtyStateWithHttu() throws Exception {
        final SmmuV3TestGuest d = boot(Map.of());
        final SmmuV3TestGuest.PageTable pt = stream(d, 1, 12, null);
        // A writable-clean page: AP[2] = 1 with DBM, AF = 0.
        final long slot = pt.map(0x7000, 0x90_0000, false, false, false, true);
        assertTrue(m.translate(1, NO_PASID, 0x7000, AccessType.READ).ok());
        long pte = m.memory().read64(slot);
        assertTrue((pte & (1L << 10)) != 0, "AF set by HTTU");
        assertTrue((pte & (1L << 7)) != 0, "still clean after a read");
        final GuestMachine.Translated w = m.translate(1, NO_PASID, 0x7008, AccessType.WRITE);
        assertTrue(w.ok(), "a write to a DBM page is not a permission fault");
        pte = m.memory().read64(slot);
        assertEquals(0, pte & (1L << 7), "dirty: AP[2] cleared");
    }

    @Test
    void shouldRaiseAccessFaultWithoutHttu() {
        final SmmuV3TestGuest d = boot(Map.of("httu", "none"));
        final SmmuV3TestGuest.PageTable pt = stream(d, 1, 12, null);
        pt.map(0x7000, 0x90_0000, true, false, false, false);
        assertEquals(0x12, m.translate(1, NO_PASID, 0x7000, AccessType.READ).faultCode(), "F_ACCESS");
        pt.map(0x8000, 0x91_0000, false, false, true, true);           // DBM without HD: read-only
        assertEquals(0x13, m.translate(1, NO_PASID, 0x8000, AccessType.WRITE).faultCode(), "F_PERMISSION");
    }

    @Test
    void shouldEnforcePrivilegeAndExecutePermissions() {
        final SmmuV3TestGuest d = boot(Map.of());
        final SmmuV3TestGuest.PageTable pt = stream(d, 1, 12, null);
        pt.map(0x3000, 0x70_0000, true, true, true, false);            // privileged only (no AP[1])
        assertEquals(0x13, m.translate(1, NO_PASID, 0x3000, AccessType.READ).faultCode());
        assertTrue(m.translate(1, NO_PASID, 0x3000, AccessType.READ | AccessType.PRIV).ok());
        // EL0-writable memory is never privileged-executable.
        pt.map(0x4000, 0x71_0000, true, false, true, false);
        assertEquals(0x13, m.translate(1, NO_PASID, 0x4000, AccessType.EXEC | AccessType.PRIV).faultCode());
        assertTrue(m.translate(1, NO_PASID, 0x4000, AccessType.EXEC).ok());
    }

    @Test
    void shouldRaiseAddressSizeFaultForOutputAboveIps() {
        final SmmuV3TestGuest d = boot(Map.of());
        final SmmuV3TestGuest.PageTable pt = d.s1Table(12);
        m.attachEmulated("ep", 1);
        final long cd = d.alloc(64, 64);
        assertTrue(d.installCd(cd, 1, 0, SmmuV3TestGuest.s1Cd(1, pt.root, 12, 0, true, true)));   // IPS 32 bits
        assertTrue(d.installSte(1, SmmuV3TestGuest.s1Ste(cd, 0, 0, 0)));
        pt.map(0x1000, 0x1_0000_0000L, true, false, true, false);
        assertEquals(0x11, m.translate(1, NO_PASID, 0x1000, AccessType.READ).faultCode(), "F_ADDR_SIZE");
        assertEquals(0x10, m.translate(1, NO_PASID, 0x1_0000_0000_0000L, AccessType.READ).faultCode(), "above T0SZ");
    }

    @Test
    void shouldNotRecordStageOneFaultsWhenCdRIsClear() {
        final SmmuV3TestGuest d = boot(Map.of());
        final long[] cd = SmmuV3TestGuest.s1Cd(1, 0, 12, 5, true, true);
        cd[0] &= ~(1L << 45);                                          // R = 0
        stream(d, 1, 12, cd);
        assertEquals(0x10, m.translate(1, NO_PASID, 0x1000, AccessType.READ).faultCode());
        assertTrue(d.evtqThread().isEmpty());
    }

    @Test
    void shouldRecordBadStreamIdOnlyWithRecinvsid() {
        final SmmuV3TestGuest d = boot(Map.of("sidsize", 8));
        assertEquals(0x02, m.translate(0x300, NO_PASID, 0, AccessType.READ).faultCode());
        assertEquals(1, d.evtqThread().size());
        m.write32(SmmuV3TestGuest.CR0, m.read32(SmmuV3TestGuest.CR0) & ~SmmuV3TestGuest.CR0_SMMUEN);
        m.write32(SmmuV3TestGuest.CR2, 0x4);                         // PTM only; CR2 is RO while SMMUEN = 1
        m.write32(SmmuV3TestGuest.CR0, m.read32(SmmuV3TestGuest.CR0) | SmmuV3TestGuest.CR0_SMMUEN);
        assertEquals(0x02, m.translate(0x300, NO_PASID, 0, AccessType.READ).faultCode());
        assertTrue(d.evtqThread().isEmpty());
    }

    @Test
    void shouldApplyS1dssTerminateAndBypass() {
        final SmmuV3TestGuest d = boot(Map.of());
        m.attachEmulated("ep", 1);
        final SmmuV3TestGuest.PageTable pt = d.s1Table(12);
        final long cds = d.alloc(128, 128);
        assertTrue(d.installCd(cds + 64, 1, 1, SmmuV3TestGuest.s1Cd(1, pt.root, 12, 5, true, true)));
        assertTrue(d.installSte(1, SmmuV3TestGuest.s1Ste(cds, 1, 0, 0)));                  // terminate
        assertEquals(0x06, m.translate(1, NO_PASID, 0x1000, AccessType.READ).faultCode(), "F_STREAM_DISABLED");
        assertTrue(d.installSte(1, SmmuV3TestGuest.s1Ste(cds, 1, 1, 0)));                  // bypass
        assertEquals(0x1000, m.translate(1, NO_PASID, 0x1000, AccessType.READ).outputAddress());
    }

    @Test
    void shouldDisableSubstreamZeroWhenItServesTrafficWithoutSubstream() {
        // S1DSS = 0b10: no-SSID traffic uses CD 0, and SSID 0 itself is terminated with F_STREAM_DISABLED
        // (IHI0070 §5.2 S1DSS). Before: C_BAD_SUBSTREAMID.
        final SmmuV3TestGuest d = boot(Map.of());
        m.attachEmulated("ep", 1);
        final SmmuV3TestGuest.PageTable pt = d.s1Table(12);
        pt.map(0x1000, 0x70_0000, true, false, true, false);
        final long cds = d.alloc(128, 128);
        assertTrue(d.installCd(cds, 1, 0, SmmuV3TestGuest.s1Cd(1, pt.root, 12, 5, true, true)));
        assertTrue(d.installCd(cds + 64, 1, 1, SmmuV3TestGuest.s1Cd(2, pt.root, 12, 5, true, true)));
        assertTrue(d.installSte(1, SmmuV3TestGuest.s1Ste(cds, 1, 2, 0)));
        assertEquals(0x70_0000, m.translate(1, NO_PASID, 0x1000, AccessType.READ).outputAddress(), "CD 0");
        assertEquals(0x70_0000, m.translate(1, 1, 0x1000, AccessType.READ).outputAddress(), "CD 1");
        assertEquals(0x06, m.translate(1, 0, 0x1000, AccessType.READ).faultCode(), "F_STREAM_DISABLED");
        final List<long[]> ev = d.evtqThread();
        assertEquals(1, ev.size());
        assertEquals(0x06, ev.get(0)[0] & 0xFF);
        assertEquals(0x08, m.translate(1, 2, 0x1000, AccessType.READ).faultCode(), "SSID 2 ≥ 2^S1CDMax: C_BAD_SUBSTREAMID");
    }

    @Test
    void shouldRejectASubstreamOnAStreamWithoutStageOne() {
        // IHI0070 §5.2 S1Fmt: with stage 1 disabled, a SubstreamID terminates the transaction with C_BAD_SUBSTREAMID.
        final SmmuV3TestGuest d = boot(Map.of());
        assertTrue(d.installSte(3, SmmuV3TestGuest.bypassSte()));
        assertTrue(m.translate(3, NO_PASID, 0x1000, AccessType.READ).ok());
        assertEquals(0x08, m.translate(3, 1, 0x1000, AccessType.READ).faultCode(), "bypass STE (before: bypassed)");
        final SmmuV3TestGuest.PageTable s2 = d.s2Table();
        s2.map(0x1000, 0x70_0000, true, false, true, false);
        assertTrue(d.installSte(4, SmmuV3TestGuest.s2Ste(7, s2.root, 5)));
        assertEquals(0x70_0000, m.translate(4, NO_PASID, 0x1000, AccessType.READ).outputAddress());
        assertEquals(0x08, m.translate(4, 1, 0x1000, AccessType.READ).faultCode());
    }

    @Test
    void shouldStallAndResumeWhenStallModelAllows() {
        final SmmuV3TestGuest d = boot(Map.of("stall", "stall"));
        final long[] cd = SmmuV3TestGuest.s1Cd(1, 0, 12, 5, true, true);
        cd[0] |= 1L << 44;                                             // CD.S
        stream(d, 1, 12, cd);
        final List<int[]> resumed = new ArrayList<>();
        ((SmmuV3Device) m.device()).setStallListener((sid, stag, action) -> resumed.add(new int[] {sid, stag, action}));
        assertFalse(m.translate(1, NO_PASID, 0x1000, AccessType.WRITE).ok());
        final long[] ev = d.evtqThread().get(0);
        assertTrue((ev[1] & (1L << 31)) != 0, "Stall bit");
        final int stag = (int) (ev[1] & 0xFFFF);
        assertTrue(d.issue(List.of(new long[] {0x44 | (1L << 32) | (1L << 12), stag})));   // RESUME retry
        assertEquals(1, resumed.size());
        assertEquals(1, resumed.get(0)[2]);
    }

    @Test
    void shouldDropConfigAndTlbEntriesOnCfgiSte() {
        final SmmuV3TestGuest d = boot(Map.of());
        final SmmuV3TestGuest.PageTable pt = stream(d, 1, 12, null);
        pt.map(0x1000, 0x60_0000, true, false, true, false);
        assertTrue(m.translate(1, NO_PASID, 0x1000, AccessType.READ).ok());
        d.writeSte(1, SmmuV3TestGuest.bypassSte());
        assertEquals(0x60_0000, m.translate(1, NO_PASID, 0x1000, AccessType.READ).outputAddress(), "cached until CFGI");
        assertTrue(d.issue(List.of(new long[] {0x3 | (1L << 32), 0})));
        assertEquals(0x1000, m.translate(1, NO_PASID, 0x1000, AccessType.READ).outputAddress());
    }

    @Test
    void shouldInvalidateStageTwoByIpaAndByVmid() {
        final SmmuV3TestGuest d = boot(Map.of());
        m.attachEmulated("ep", 4);
        final SmmuV3TestGuest.PageTable s2 = d.s2Table();
        s2.map(0x1000_0000L, 0x300_0000, true, true, true, false);
        s2.map(0x1000_1000L, 0x300_1000, true, true, true, false);
        assertTrue(d.installSte(4, SmmuV3TestGuest.s2Ste(9, s2.root, 5)));
        assertTrue(m.translate(4, NO_PASID, 0x1000_0000L, AccessType.READ).ok());
        assertTrue(m.translate(4, NO_PASID, 0x1000_1000L, AccessType.READ).ok());
        s2.unmap(0x1000_0000L);
        s2.unmap(0x1000_1000L);
        assertTrue(d.issue(List.of(new long[] {0x2A | (8L << 32), 0x1000_0000L})));      // other VMID: no effect
        assertTrue(m.translate(4, NO_PASID, 0x1000_0000L, AccessType.READ).ok());
        assertTrue(d.issue(List.of(new long[] {0x2A | (9L << 32), 0x1000_0000L})));      // TLBI_S2_IPA
        assertFalse(m.translate(4, NO_PASID, 0x1000_0000L, AccessType.READ).ok());
        assertTrue(m.translate(4, NO_PASID, 0x1000_1000L, AccessType.READ).ok());
        assertTrue(d.issue(List.of(new long[] {0x28 | (9L << 32), 0})));                // TLBI_S12_VMALL
        assertFalse(m.translate(4, NO_PASID, 0x1000_1000L, AccessType.READ).ok());
    }

    @Test
    void shouldRaiseEventqAbortErrWhenTheEventQueueIsOutsideRam() {
        final SmmuV3TestGuest d = boot(Map.of());
        m.write32(SmmuV3TestGuest.CR0, 0x8 | 0x1);                                     // EVENTQEN off
        m.write64(SmmuV3TestGuest.EVTQ_BASE, 0xF_0000_0000L | 4);
        m.write32(SmmuV3TestGuest.CR0, 0x8 | 0x4 | 0x1);
        assertFalse(m.translate(0x7777, NO_PASID, 0, AccessType.READ).ok());          // C_BAD_STREAMID, recorded
        assertTrue(d.gerrorActive(1 << 2), "GERROR.EVENTQ_ABT_ERR");
    }

    @Test
    void shouldRaiseFetchAbortsForStructuresOutsideRam() {
        final SmmuV3TestGuest d = boot(Map.of());
        m.attachEmulated("a", 1);
        m.attachEmulated("b", 2);
        final long outside = 0x10_0000_0000L;
        assertTrue(d.installSte(1, SmmuV3TestGuest.s1Ste(outside, 0, 0, 0)));          // CD table outside RAM
        assertEquals(0x09, m.translate(1, NO_PASID, 0, AccessType.READ).faultCode(), "F_CD_FETCH");
        final long cd = d.alloc(64, 64);
        assertTrue(d.installCd(cd, 2, 0, SmmuV3TestGuest.s1Cd(1, outside, 12, 5, true, true)));   // TTB0 outside RAM
        assertTrue(d.installSte(2, SmmuV3TestGuest.s1Ste(cd, 0, 0, 0)));
        assertEquals(0x0B, m.translate(2, NO_PASID, 0, AccessType.READ).faultCode(), "F_WALK_EABT");
        final List<long[]> ev = d.evtqThread();
        assertEquals(2, ev.size());
        assertEquals(outside, ev.get(0)[3] & 0x000F_FFFF_FFFF_FFF8L, "FetchAddr");
        assertEquals(outside, ev.get(1)[3] & 0x000F_FFFF_FFFF_FFF8L, "FetchAddr");
        // The L1 stream-table descriptor pointing outside RAM: F_STE_FETCH.
        try {
            m.memory().write64(d.strtab + 8L * 0x50, outside | 9);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        assertEquals(0x03, m.translate(0x5000, NO_PASID, 0, AccessType.READ).faultCode(), "F_STE_FETCH");
    }
}
