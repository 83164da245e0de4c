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
 * Atomics (READ | WRITE) are checked as a data read and a write, write first, and their F_PERMISSION records
 * say which failed (IHI0070 §13.1.1, SMMUv3.1 and later): RnW = 1 when the page may be written (writable-clean
 * included) but not read; RnW = 0 without write permission, and for every other event. InD = 0 (atomics are
 * Data, §13.1.2). Before, an atomic's event always had RnW = 0.
 */
class AtomicAccessTest {
    private static final int R = AccessType.READ, W = AccessType.WRITE, ATOMIC = R | W;
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

    /** A stage-2-only stream (SID 1) with S2HA/S2HD; returns its table. */
    private SmmuV3TestGuest.PageTable stage2Stream() {
        final SmmuV3TestGuest.PageTable s2 = d.s2Table();
        final long[] ste = SmmuV3TestGuest.s2Ste(1, s2.root, 5);
        ste[2] |= 1L << 55 | 1L << 56;                                          // S2HD, S2HA
        assertTrue(d.installSte(1, ste));
        return s2;
    }

    /** Maps a stage-2 page with S2AP[0] (read) cleared: {@code write} gives S2AP = 0b10, else 0b00. */
    private long mapUnreadable(final SmmuV3TestGuest.PageTable s2, final long ipa, final boolean write,
                               final boolean dbm) throws Exception {
        final long slot = s2.map(ipa, 0x70_0000 + ipa, write, false, true, dbm);
        m.memory().write64(slot, m.memory().read64(slot) & ~Pte.S2AP_R.mask());
        return slot;
    }

    /** The single event the access raised, after checking it is F_PERMISSION. */
    private long permissionRecord(final long addr, final int access) {
        d.evtqThread();
        assertEquals(EventId.F_PERMISSION, m.translate(1, NO_PASID, addr, access).faultCode());
        final List<long[]> ev = d.evtqThread();
        assertEquals(1, ev.size());
        assertEquals(EventId.F_PERMISSION, (int) Evt.ID.get(ev.get(0)[0]));
        return ev.get(0)[1];
    }

    @Test
    void atomicToAWriteOnlyPageIsRecordedAsARead() throws Exception {
        final SmmuV3TestGuest.PageTable s2 = stage2Stream();
        mapUnreadable(s2, 0x3000, true, false);                                 // S2AP = 0b10
        assertTrue(m.translate(1, NO_PASID, 0x3000, W).ok(), "a plain write may");
        final long dw1 = permissionRecord(0x3000, ATOMIC);                    // from the cached entry: walked again
        assertTrue(Evt.RNW.isSet(dw1), "write permitted, read refused: RnW = 1");
        assertFalse(Evt.IND.isSet(dw1), "Data");
        assertTrue(Evt.S2.isSet(dw1));
        assertEquals(Evt.CLASS_IN, (int) Evt.CLASS.get(dw1));
    }

    @Test
    void atomicToAWritableCleanUnreadablePageIsRecordedAsAReadAndLeavesItClean() throws Exception {
        final SmmuV3TestGuest.PageTable s2 = stage2Stream();
        final long slot = mapUnreadable(s2, 0x4000, false, true);              // S2AP = 0b00, DBM: writable-clean
        final long before = m.memory().read64(slot);
        assertTrue(Evt.RNW.isSet(permissionRecord(0x4000, ATOMIC)), "§13.1.1: writable-clean counts as write access");
        assertEquals(before, m.memory().read64(slot), "a faulting access makes no dirty-state update");
    }

    @Test
    void atomicWithoutWritePermissionIsRecordedAsAWrite() throws Exception {
        final SmmuV3TestGuest.PageTable s2 = stage2Stream();
        s2.map(0x5000, 0x75_0000, false, false, true, false);                  // S2AP = 0b01: read-only
        mapUnreadable(s2, 0x6000, false, false);                                // S2AP = 0b00: no access
        assertFalse(Evt.RNW.isSet(permissionRecord(0x5000, ATOMIC)), "no write access: RnW = 0");
        assertFalse(Evt.RNW.isSet(permissionRecord(0x6000, ATOMIC)), "no access: write is checked first, RnW = 0");
        assertTrue(Evt.RNW.isSet(permissionRecord(0x6000, R)), "a plain read stays RnW = 1");
    }

    @Test
    void atomicToAReadOnlyStageOnePageIsRecordedAsAWrite() {
        // Stage 1 has no write-only permission: an atomic there fails on write, RnW = 0.
        final SmmuV3TestGuest.PageTable pt = d.s1Table(12);
        final long cd = d.alloc(64, 64);
        assertTrue(d.installCd(cd, 1, 0, SmmuV3TestGuest.s1Cd(1, pt.root, 12, 5, false, false)));
        assertTrue(d.installSte(1, SmmuV3TestGuest.s1Ste(cd, 0, 0, 0)));
        pt.map(0x7000, 0x77_0000, false, false, true, false);
        final long dw1 = permissionRecord(0x7000, ATOMIC);
        assertFalse(Evt.RNW.isSet(dw1));
        assertFalse(Evt.S2.isSet(dw1));
    }
}
