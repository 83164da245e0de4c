package dev.viommu.smmuv3;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.translate.AccessType;
import dev.viommu.smmuv3.spec.EventId;
import dev.viommu.smmuv3.spec.Evt;
import dev.viommu.smmuv3.spec.Pte;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.viommu.core.guest.GuestMachine.NO_PASID;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The R/W/INST attributes of a transaction against the page permissions (IHI0070 §13.1.2, §13.4): an instruction
 * fetch ({@code READ | EXEC}, as vmm-core's {@link AccessType#EXEC} marks it) needs execute permission only, so
 * execute-only pages can be fetched from; a write is Data even when marked Instruction, needs write permission
 * only and is recorded with InD = 0 (§7.3.16). Before, a fetch also needed read permission, and a write marked
 * Instruction also needed execute permission and was recorded with InD = 1.
 */
class InstructionFetchTest {
    private static final int R = AccessType.READ, W = AccessType.WRITE, X = AccessType.EXEC;
    private DirectMachine m;
    private SmmuV3TestGuest d;

    @BeforeEach
    void boot() {
        m = new DirectMachine("arm-smmuv3", Map.of(), 48L << 20);
        d = SmmuV3TestGuest.booted(m);
        m.attachEmulated("ep", 1);
    }

    @AfterEach
    void close() { m.close(); }

    private SmmuV3TestGuest.PageTable stage1Stream() {
        final SmmuV3TestGuest.PageTable pt = d.s1Table(12);
        final long cd = d.alloc(64, 64);
        assertTrue(d.installCd(cd, 1, 0, SmmuV3TestGuest.s1Cd(1, pt.root, 12, 5, true, true)));
        assertTrue(d.installSte(1, SmmuV3TestGuest.s1Ste(cd, 0, 0, 0)));
        return pt;
    }

    private int fault(final long va, final int access) { return m.translate(1, NO_PASID, va, access).faultCode(); }

    @Test
    void unprivilegedFetchFromAnExecuteOnlyStageOnePageSucceeds() {
        final SmmuV3TestGuest.PageTable pt = stage1Stream();
        pt.map(0x3000, 0x70_0000, false, true, true, false);   // AP[1] = 0, UXN = 0: EL0 execute-only
        assertTrue(m.translate(1, NO_PASID, 0x3000, R | X).ok(), "instruction fetch: execute permission only");
        assertEquals(EventId.F_PERMISSION, fault(0x3000, R), "a data read still needs AP[1]");
        assertTrue(m.translate(1, NO_PASID, 0x3000, R | X).ok(), "and the cached entry serves the fetch too");
    }

    @Test
    void fetchFromAnExecuteOnlyStageTwoPageSucceeds() throws Exception {
        final SmmuV3TestGuest.PageTable s2 = d.s2Table();
        final long slot = s2.map(0x5000, 0x75_0000, false, false, true, false);
        m.memory().write64(slot, m.memory().read64(slot) & ~Pte.S2AP_R.mask());   // S2AP = 0b00, XN = 0b00
        assertTrue(d.installSte(1, SmmuV3TestGuest.s2Ste(1, s2.root, 5)));
        assertTrue(m.translate(1, NO_PASID, 0x5000, R | X).ok(), "execute-only at stage 2");
        assertEquals(EventId.F_PERMISSION, fault(0x5000, R));
    }

    @Test
    void writeMarkedInstructionIsDataAndRecordedWithInstructionBitClear() throws Exception {
        final SmmuV3TestGuest.PageTable pt = stage1Stream();
        final long slot = pt.map(0x4000, 0x71_0000, true, false, true, false);
        m.memory().write64(slot, m.memory().read64(slot) | Pte.UXN.mask() | Pte.PXN.mask());   // never executable
        assertTrue(m.translate(1, NO_PASID, 0x4000, W | X).ok(), "a write needs write permission only");
        pt.map(0x6000, 0x72_0000, false, false, true, false);                              // read-only
        d.evtqThread();
        assertEquals(EventId.F_PERMISSION, fault(0x6000, W | X));
        assertEquals(EventId.F_PERMISSION, fault(0x4000, R | X), "a fetch from an execute-never page");
        final List<long[]> ev = d.evtqThread();
        assertEquals(2, ev.size());
        assertFalse(Evt.RNW.isSet(ev.get(0)[1]), "the write: RnW = 0");
        assertFalse(Evt.IND.isSet(ev.get(0)[1]), "InD = 0 when RnW = 0");
        assertTrue(Evt.RNW.isSet(ev.get(1)[1]), "the fetch: RnW = 1");
        assertTrue(Evt.IND.isSet(ev.get(1)[1]), "the fetch: InD = 1");
    }
}
