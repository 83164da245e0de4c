package dev.viommu.smmuv3;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.translate.AccessType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.viommu.core.guest.GuestMachine.NO_PASID;
import static dev.viommu.smmuv3.SmmuV3TestGuest.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Stalled transactions end and are reported as IHI0070 §3.12.2 and §7.2.1 say: clearing SMMUEN (and so a reset)
 * terminates every one still outstanding, and the record of a stall is never discarded: while the event queue is
 * full, disabled or has an unacknowledged EVENTQ_ABT_ERR it waits (without an overflow) and is written once the
 * queue is writable. Found by {@link SmmuV3StructuredHostileGuestTest}: before, stalls outlived SMMUEN and reset
 * (the table stayed full and no fault of a rebooted guest could stall), and a stall whose record found the queue
 * full or disabled was never reported, so its transaction could never be resumed.
 */
class SmmuV3StalledTransactionTest {
    private static final int SID = 1;
    private DirectMachine m;
    private final List<int[]> resumed = new ArrayList<>();

    @AfterEach
    void close() {
        if (m != null) m.close();
    }

    /** A stage-1 stream whose CD stalls its faults (CD.S), over an empty table: every access faults. */
    private SmmuV3TestGuest stallingStream(final int eventqs) {
        m = new DirectMachine("arm-smmuv3", Map.of("stall", "stall", "eventqs", eventqs), 48L << 20);
        final SmmuV3TestGuest d = new SmmuV3TestGuest(m, 1L << 20);
        d.hwProbe();
        d.initStructures();
        d.deviceReset();
        ((SmmuV3Device) m.device()).setStallListener((sid, stag, action) -> resumed.add(new int[] {sid, stag, action}));
        final SmmuV3TestGuest.PageTable pt = d.s1Table(12);
        final long[] cd = SmmuV3TestGuest.s1Cd(1, pt.root, 12, 5, false, false);
        cd[0] |= 1L << 44;                                                          // CD.S
        final long cdAddr = d.alloc(64, 64);
        assertTrue(d.installCd(cdAddr, SID, 0, cd));
        assertTrue(d.installSte(SID, SmmuV3TestGuest.s1Ste(cdAddr, 0, 0, 0)));
        return d;
    }

    private void fault(final int n) {
        for (int i = 0; i < n; i++) assertFalse(m.translate(SID, NO_PASID, 0x1000L * (i + 1), AccessType.READ).ok());
    }

    /** The STAGs of the stall records the guest reads now (arm_smmu_evtq_thread). */
    private static List<Integer> stallRecords(final SmmuV3TestGuest d) {
        final List<Integer> stags = new ArrayList<>();
        for (final long[] e : d.evtqThread()) {
            assertTrue((e[1] & 1L << 31) != 0, "Stall = 1");
            assertEquals(SID, (int) (e[0] >>> 32));
            stags.add((int) (e[1] & 0xFFFF));
        }
        return stags;
    }

    private int stalled() {
        return ((Number) ((SmmuV3Device) m.device()).translator.describeCaches().get("stalledTransactions")).intValue();
    }

    private static long[] resume(final int stag) { return new long[] {0x44 | (long) SID << 32 | 1L << 12, stag}; }

    @Test
    void clearingSmmuenTerminatesEveryStalledTransaction() {
        final SmmuV3TestGuest d = stallingStream(7);
        fault(3);
        final List<Integer> stags = stallRecords(d);
        assertEquals(3, stags.size());
        m.write32(CR0, m.read32(CR0) & ~CR0_SMMUEN);
        assertEquals(0, stalled());
        assertEquals(3, resumed.size());
        for (final int[] r : resumed) {
            assertEquals(SID, r[0]);
            assertTrue(stags.contains(r[1]));
            assertEquals(0, r[2], "terminated");
        }
        m.write32(CR0, m.read32(CR0) | CR0_SMMUEN);
        assertTrue(d.issue(List.of(resume(stags.get(0)))));
        assertEquals(3, resumed.size(), "a RESUME now finds nothing to resume");
    }

    @Test
    void resetTerminatesStalledTransactionsSoTheNextBootCanStallAgain() {
        final SmmuV3TestGuest d = stallingStream(7);
        fault(SmmuV3Config.STALL_MAX);
        assertEquals(SmmuV3Config.STALL_MAX, stalled());
        m.device().reset();
        assertEquals(0, stalled());
        assertEquals(SmmuV3Config.STALL_MAX, resumed.size(), "every endpoint hears its transaction ended");
        d.deviceReset();
        fault(1);
        assertEquals(1, stallRecords(d).size(), "a fault stalls again after the reboot");
        assertEquals(1, stalled());
    }

    @Test
    void stallRecordsWaitForRoomInAFullEventQueueWithoutAnOverflow() {
        final SmmuV3TestGuest d = stallingStream(1);                              // two records fit
        fault(5);
        assertEquals(0, m.read32(EVTQ_PROD) & Q_OVF, "no overflow: stall records are not discarded");
        final Set<Integer> stags = new HashSet<>(stallRecords(d));                 // each CONS write makes room
        assertEquals(5, stags.size(), "every stall is reported once");
        assertFalse(d.evtqOverflowSeen);
        final List<long[]> resumes = new ArrayList<>();
        for (final int stag : stags) resumes.add(resume(stag));
        assertTrue(d.issue(resumes));
        assertEquals(0, stalled());
        assertEquals(5, resumed.size());
    }

    @Test
    void aStallKeptBackAcrossAnInvalidationIsRetriedInsteadOfReported() {
        // IHI0070 §7.2.1: a stalled transaction whose record could not be written and that is affected by an
        // invalidation and CMD_SYNC must be retried once the queue is writable. Before: its original record was
        // written, reporting a fault the new configuration might not have.
        final SmmuV3TestGuest d = stallingStream(1);                              // two records fit
        fault(3);                                                                 // the third waits
        assertEquals(3, stalled());
        assertTrue(d.issue(List.of(SmmuV3TestGuest.cmd(OP_CFGI_STE, (long) SID << 32))));
        assertTrue(resumed.isEmpty(), "not while the queue is still full");
        final List<Integer> reported = stallRecords(d);                           // room: the retry happens
        assertEquals(2, reported.size(), "only the two records written before");
        assertEquals(1, resumed.size());
        assertEquals(SID, resumed.get(0)[0]);
        assertFalse(reported.contains(resumed.get(0)[1]));
        assertEquals(1, resumed.get(0)[2], "released with Retry");
        assertEquals(2, stalled());
    }

    @Test
    void aStallKeptBackWithoutAnInvalidationIsReportedAsItWas() {
        final SmmuV3TestGuest d = stallingStream(1);
        fault(3);
        assertTrue(d.issue(List.of()));                                           // a CMD_SYNC alone
        assertEquals(3, new HashSet<>(stallRecords(d)).size());
        assertTrue(resumed.isEmpty());
    }

    @Test
    void stallRecordsWaitWhileEventqenIsZero() {
        final SmmuV3TestGuest d = stallingStream(7);
        m.write32(CR0, m.read32(CR0) & ~CR0_EVTQEN);
        fault(3);
        assertEquals(3, stalled());
        m.write32(CR0, m.read32(CR0) | CR0_EVTQEN);
        assertEquals(3, new HashSet<>(stallRecords(d)).size(), "written once the queue is enabled");
    }

    @Test
    void stallRecordsWaitForAnEventqAbortToBeAcknowledged() {
        final SmmuV3TestGuest d = stallingStream(7);
        final int enabled = m.read32(CR0);
        m.write32(CR0, enabled & ~CR0_EVTQEN);
        m.write64(EVTQ_BASE, 0x4000_0000L | d.evtqShift);                          // outside RAM
        m.write32(CR0, enabled);
        fault(1);                                                                 // its record aborts: lost (§7.2.2)
        assertTrue(d.gerrorActive(1 << 2), "GERROR.EVENTQ_ABT_ERR");
        m.write32(CR0, enabled & ~CR0_EVTQEN);
        m.write64(EVTQ_BASE, (1L << 62) | d.evtqBase | d.evtqShift);
        m.write32(EVTQ_PROD, 0);
        m.write32(EVTQ_CONS, 0);
        m.write32(CR0, enabled);
        final int stagBefore = stalled();
        fault(2);
        assertEquals(stagBefore + 2, stalled());
        assertEquals(0, m.read32(EVTQ_PROD), "no record while the abort is unacknowledged");
        m.write32(GERRORN, m.read32(GERROR));
        assertEquals(2, stallRecords(d).size(), "written once it is acknowledged");
    }
}
