package dev.viommu.smmuv3;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.host.HostDeviceRef;
import dev.viommu.core.spi.Endpoint;
import dev.viommu.core.translate.AccessType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SmmuV3CommandQueueTest {
    private DirectMachine m;

    private SmmuV3TestGuest boot(final Map<String, ?> props) {
        m = new DirectMachine("arm-smmuv3", props, 64L << 20);
        final SmmuV3TestGuest d = new SmmuV3TestGuest(m, 1L << 20);
        d.hwProbe();
        d.initStructures();
        d.deviceReset();
        m.takeInterrupts(0);
        return d;
    }

    @AfterEach
    void close() {
        if (m != null) m.close();
    }

    /** Records what the host side is told. */
    static final class RecordingDispatcher implements HostDispatcher {
        final List<Object> events = new ArrayList<>();
        SyncStatus answer = SyncStatus.COMPLETE;

        @Override public void steChanged(final int sid, final long[] words, final StreamConfig config) {
            events.add("STE " + sid + " " + config.getClass().getSimpleName());
        }

        @Override public SyncStatus dispatch(final CommandBatch batch) {
            events.add(batch);
            return batch.sync() == null ? SyncStatus.COMPLETE : answer;
        }
    }

    @Test
    void shouldHandTheDispatcherDecodedStesAndBatchesAndHoldSyncUntilItCompletes() throws Exception {
        final SmmuV3TestGuest d = boot(Map.of());
        final SmmuV3Device dev = (SmmuV3Device) m.device();
        dev.attachEndpoint(new Endpoint("vfio0", Endpoint.Kind.PASSTHROUGH, 0x10, Optional.of(HostDeviceRef.path("/dev/vfio/devices/vfio0"))));
        m.attachEmulated("emu", 0x11);
        final RecordingDispatcher host = new RecordingDispatcher();
        host.answer = HostDispatcher.SyncStatus.PENDING;
        dev.setDispatcher(host);
        d.writeSte(0x10, SmmuV3TestGuest.s1Ste(0x8000, 0, 0, 0));
        final int first = d.cmdqProd;
        d.put(0x11 | (5L << 48), 0);                            // TLBI_NH_ASID 5: broadcast
        d.put(0x3 | (0x10L << 32), 1);                          // CFGI_STE passthrough SID
        d.put(0x3 | (0x11L << 32), 1);                          // CFGI_STE emulated SID: stays local
        d.put(0x40 | (0x11L << 32), 52);                        // ATC_INV is illegal without ATS: not sent
        final int syncIndex = d.cmdqProd;
        final long syncAddr = d.cmdqBase + 16L * syncIndex;
        d.put(0x46 | (1L << 12), syncAddr);                     // CMD_SYNC, MSI to itself
        m.write32(SmmuV3TestGuest.CMDQ_PROD, d.cmdqProd);
        // ATC_INV (illegal: no ATS) stops the queue before the sync.
        assertEquals(1, (m.read32(SmmuV3TestGuest.CMDQ_CONS) >>> 24) & 0x7F);
        assertEquals(2, host.events.size(), host.events::toString);
        final HostDispatcher.CommandBatch b1 = (HostDispatcher.CommandBatch) host.events.get(0);
        assertEquals(2, b1.commands().size(), "TLBI and the passthrough CFGI_STE, flushed before the STE event");
        assertInstanceOf(Command.TlbiNhAsid.class, b1.commands().get(0).command());
        assertEquals(first, b1.commands().get(0).queueIndex());
        assertNull(b1.sync());
        assertEquals("STE 16 Translate", host.events.get(1));
        // The error boundary flushes nothing more (the emulated CFGI_STE never reaches the host).
        d.gerrorHandler();                                     // the bad entry becomes a CMD_SYNC
        final HostDispatcher.CommandBatch held = (HostDispatcher.CommandBatch) host.events.get(host.events.size() - 1);
        assertTrue(held.sync() != null);
        assertTrue(m.memory().read32(syncAddr) != 0 || (m.read32(SmmuV3TestGuest.CMDQ_CONS) & 0xFF) != ((syncIndex + 1) & 0xFF),
                "the held CMD_SYNC has not completed");
        // Complete every held sync: CONS passes the guest's CMD_SYNC and its MSI write lands.
        for (int i = 0; i < 4 && m.memory().read32(syncAddr) != 0; i++) dev.completeSync(false);
        assertEquals(0, m.memory().read32(syncAddr));
        assertEquals(d.cmdqProd, m.read32(SmmuV3TestGuest.CMDQ_CONS) & 0x1FF);
    }

    @Test
    void shouldRaiseCerrorAtcInvSyncWhenTheHostReportsAFailedAtcInvalidation() throws Exception {
        final SmmuV3TestGuest d = boot(Map.of("ats", true));
        final SmmuV3Device dev = (SmmuV3Device) m.device();
        dev.attachEndpoint(new Endpoint("vfio0", Endpoint.Kind.PASSTHROUGH, 0x10, Optional.of(HostDeviceRef.path("x"))));
        final RecordingDispatcher host = new RecordingDispatcher();
        host.answer = HostDispatcher.SyncStatus.ATC_INV_FAILED;
        dev.setDispatcher(host);
        assertFalse(d.issue(List.of(new long[] {0x40 | (0x10L << 32), 52})));
        assertEquals(3, (m.read32(SmmuV3TestGuest.CMDQ_CONS) >>> 24) & 0x7F, "CERROR_ATC_INV_SYNC");
        final HostDispatcher.CommandBatch b = (HostDispatcher.CommandBatch) host.events.get(0);
        assertInstanceOf(Command.AtcInv.class, b.commands().get(0).command());
    }

    @Test
    void shouldNotCallTheDispatcherWithoutPassthroughEndpoints() {
        final SmmuV3TestGuest d = boot(Map.of());
        final RecordingDispatcher host = new RecordingDispatcher();
        ((SmmuV3Device) m.device()).setDispatcher(host);
        m.attachEmulated("emu", 1);
        assertTrue(d.tlbiAsid(0, 1));
        assertTrue(d.issue(List.of(new long[] {0x3 | (1L << 32), 0})));
        assertTrue(host.events.isEmpty());
    }

    @Test
    void shouldRejectEl2CommandsWithoutHypAndAcceptThemWithIt() {
        SmmuV3TestGuest d = boot(Map.of());
        assertFalse(d.issue(List.of(new long[] {0x20, 0})));
        assertEquals(1, d.gerrorHandler());
        m.close();
        d = boot(Map.of("hyp", true));
        assertTrue(d.hyp);
        assertTrue(d.issue(List.of(new long[] {0x20, 0}, new long[] {0x21 | (3L << 48), 0})));
    }

    @Test
    void shouldSendCmdSyncMsiOutsideRamToTheInterruptSink() {
        final SmmuV3TestGuest d = boot(Map.of());
        d.put(0x46 | (1L << 12) | (0xBEEFL << 32), SmmuV3TestGuest.MSI_DOORBELL + 0x100);
        m.write32(SmmuV3TestGuest.CMDQ_PROD, d.cmdqProd);
        assertTrue(m.takeInterrupts(0).contains(new GuestMachine.Interrupt.Msi(SmmuV3TestGuest.MSI_DOORBELL + 0x100, 0xBEEF)));
    }

    @Test
    void shouldPulseTheCmdSyncLineWithoutMsi() {
        final SmmuV3TestGuest d = boot(Map.of("msi", false));
        d.put(0x46 | (1L << 12), 0);
        m.write32(SmmuV3TestGuest.CMDQ_PROD, d.cmdqProd);
        final List<GuestMachine.Interrupt> irqs = m.takeInterrupts(0);
        assertEquals(List.of(new GuestMachine.Interrupt.Line(SmmuV3Device.LINE_CMD_SYNC, true),
                new GuestMachine.Interrupt.Line(SmmuV3Device.LINE_CMD_SYNC, false)), irqs);
    }

    @Test
    void shouldCompleteSevSyncWithoutIdr0SevAsLinuxIssuesIt() {
        final SmmuV3TestGuest d = boot(Map.of("msi", false, "sev", false));
        assertFalse(d.msipoll);
        d.put(0x46 | (2L << 12) | (3L << 22) | (0xFL << 24), 0);   // arm_smmu_make_cmd_sync(CS_SEV, 0)
        m.write32(SmmuV3TestGuest.CMDQ_PROD, d.cmdqProd);
        assertEquals(d.cmdqProd, m.read32(SmmuV3TestGuest.CMDQ_CONS), "consumed, no CERROR");
        assertFalse(d.gerrorActive(SmmuV3TestGuest.GERROR_CMDQ_ERR));
    }

    @Test
    void shouldOverflowThePriQueueAndAnswerDroppedGroupsAutomatically() {
        final SmmuV3TestGuest d = boot(Map.of("pri", true, "ats", true));
        final SmmuV3Device dev = (SmmuV3Device) m.device();
        final List<int[]> responses = new ArrayList<>();
        dev.setPriResponseListener((sid, pasid, grp, resp, auto) -> responses.add(new int[] {grp, resp, auto ? 1 : 0}));
        final int slots = 1 << d.priqShift;
        for (int i = 0; i < slots; i++) assertTrue(dev.injectPageRequest(1, -1, 0x1000L * i, AccessType.READ, i, true));
        assertFalse(dev.injectPageRequest(1, -1, 0, AccessType.READ, 0x1FF, true));
        assertTrue(m.read32(SmmuV3TestGuest.PRIQ_PROD) < 0, "PRIQ_PROD.OVFLG");
        assertEquals(1, responses.size());
        assertEquals(1, responses.get(0)[2], "automatic");
        assertEquals(slots, d.priqThread(SmmuV3TestGuest.PRI_RESP_DENY).size());
        assertTrue(d.priqOverflowSeen);
        assertEquals(slots + 1, responses.size());
    }

    @Test
    void shouldDecodeRangeTlbiAsLinuxEncodesIt() {
        final Commands c = new Commands(config(Map.of()));
        // NUM = 2 (3 chunks), SCALE = 3, TG = 4K: 24 pages from 0x10000.
        final Command cmd = c.decode(0x12 | (2L << 12) | (3L << 20) | (7L << 48), 0x10000 | (1L << 10) | 1);
        final Command.TlbiNhVa va = assertInstanceOf(Command.TlbiNhVa.class, cmd);
        assertEquals(0x10000, va.range().start());
        assertEquals(24 * 4096, va.range().length());
        assertEquals(7, va.asid());
        final Commands noRil = new Commands(config(Map.of("ril", false)));
        assertEquals(1, ((Command.TlbiNhVa) noRil.decode(0x12 | (2L << 12), 0x10000 | (1L << 10))).range().length());
    }

    @Test
    void shouldKeepThePriQueueClosedWhileAnOverflowIsUnacknowledged() {
        // IHI0070 §8.1: an active overflow condition inhibits new entries (unlike the event queue); requests that
        // end a group are answered Success, keeping the PASID (IDR3.PPS). Before: entries were written again as
        // soon as there was room.
        final SmmuV3TestGuest d = boot(Map.of("pri", true, "ats", true));
        final SmmuV3Device dev = (SmmuV3Device) m.device();
        final List<int[]> responses = new ArrayList<>();
        dev.setPriResponseListener((sid, pasid, grp, resp, auto) -> responses.add(new int[] {pasid, grp, resp, auto ? 1 : 0}));
        final int slots = 1 << d.priqShift;
        for (int i = 0; i < slots; i++) assertTrue(dev.injectPageRequest(1, -1, 0x1000L * i, AccessType.READ, i, true));
        assertFalse(dev.injectPageRequest(1, 5, 0, AccessType.READ, 0x1FF, true));   // overflows
        final int prod = m.read32(SmmuV3TestGuest.PRIQ_PROD);
        m.write32(SmmuV3TestGuest.PRIQ_CONS, 1);                                     // one consumed, not acknowledged
        assertFalse(dev.injectPageRequest(1, 6, 0, AccessType.READ, 0x1FE, true), "still in overflow");
        assertFalse(dev.injectPageRequest(1, 6, 0, AccessType.READ, 0x1FD, false));
        assertEquals(prod, m.read32(SmmuV3TestGuest.PRIQ_PROD), "nothing written, OVFLG not toggled again");
        assertEquals(List.of("5/511/2/1", "6/510/2/1"), responses.stream().map(r -> r[0] + "/" + r[1] + "/" + r[2] + "/" + r[3]).toList(),
                "Last = 1 only, Success with the PASID");
        m.write32(SmmuV3TestGuest.PRIQ_CONS, 1 | (prod & SmmuV3TestGuest.Q_OVF));     // OVACKFLG = OVFLG
        assertTrue(dev.injectPageRequest(1, -1, 0, AccessType.READ, 0x1FC, true), "acknowledged: written again");
    }

    @Test
    void shouldAnswerEveryPageRequestWithFailureWhilePriqenIsZero() {
        // IHI0070 §8.2: PRIQEN = 0 (or PRIQ_ABT_ERR): no entry, an automatic Response Failure for every request,
        // without a PASID. Before: only Last = 1 requests were answered, with Success and the PASID.
        final SmmuV3TestGuest d = boot(Map.of("pri", true, "ats", true));
        final SmmuV3Device dev = (SmmuV3Device) m.device();
        final List<int[]> responses = new ArrayList<>();
        dev.setPriResponseListener((sid, pasid, grp, resp, auto) -> responses.add(new int[] {pasid, grp, resp, auto ? 1 : 0}));
        m.write32(SmmuV3TestGuest.CR0, m.read32(SmmuV3TestGuest.CR0) & ~SmmuV3TestGuest.CR0_PRIQEN);
        assertFalse(dev.injectPageRequest(1, 5, 0, AccessType.READ, 3, false));
        assertFalse(dev.injectPageRequest(1, 5, 0, AccessType.READ, 3, true));
        assertEquals(List.of("-1/3/1/1", "-1/3/1/1"), responses.stream().map(r -> r[0] + "/" + r[1] + "/" + r[2] + "/" + r[3]).toList());
        assertEquals(0, m.read32(SmmuV3TestGuest.PRIQ_PROD) & ((2 << d.priqShift) - 1));
    }

    @Test
    void shouldDecodeEveryOpcodeAndCallTheRestIllegal() {
        final Commands c = new Commands(config(Map.of("hyp", true, "ats", true, "pri", true, "stall", "stall")));
        final int[] legal = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x10, 0x11, 0x12, 0x13, 0x20, 0x21, 0x22, 0x23, 0x28,
                0x2A, 0x30, 0x40, 0x41, 0x44, 0x45, 0x46};
        for (int op = 0; op < 256; op++) {
            final Command cmd = c.decode(op, 0);
            boolean isLegal = false;
            for (int l : legal) isLegal |= l == op;
            assertEquals(isLegal, !(cmd instanceof Command.Illegal), "opcode 0x" + Integer.toHexString(op));
        }
        assertInstanceOf(Command.CfgiAll.class, c.decode(0x04, 31));
        assertInstanceOf(Command.Illegal.class, c.decode(0x46 | (3L << 12), 0), "CS = 3");
        assertInstanceOf(Command.Illegal.class, c.decode(0x41, 3L << 12), "PRI_RESP Resp = 3");
        assertInstanceOf(Command.Illegal.class, c.decode(0x11 | (1L << 10), 0), "SSec");
    }

    @Test
    void shouldTreatResumeWithAbortAndRetryAsRetry() {
        // IHI0070 §4.7.1: Action Ac (bit 12) = 1 retries and Ab (bit 13) is then IGNORED. Before: CERROR_ILL.
        final Commands c = new Commands(config(Map.of("stall", "stall")));
        assertEquals(1, ((Command.Resume) c.decode(0x44 | (3L << 12) | (7L << 32), 5)).action());
        assertEquals(2, ((Command.Resume) c.decode(0x44 | (2L << 12) | (7L << 32), 5)).action(), "terminate, abort");
        final Commands terminateOnly = new Commands(config(Map.of()));
        assertInstanceOf(Command.Illegal.class, terminateOnly.decode(0x44 | (1L << 12), 5), "§4.7.1 with STALL_MODEL 0b01");
        assertInstanceOf(Command.Illegal.class, terminateOnly.decode(0x45, 0), "§4.7.2 with STALL_MODEL 0b01");
    }

    private static SmmuV3Config config(final Map<String, ?> raw) {
        try {
            return SmmuV3Config.from(dev.viommu.core.spi.Properties.parse("arm-smmuv3", SmmuV3Config.properties(), raw));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
