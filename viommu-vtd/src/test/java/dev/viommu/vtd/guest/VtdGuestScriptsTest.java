package dev.viommu.vtd.guest;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.translate.AccessType;
import dev.viommu.vtd.InterruptRemapping;
import dev.viommu.vtd.VtdDevice;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The guest scripts of issue 4, run through {@link DirectMachine}; the driver sees only {@link GuestMachine}. */
class VtdGuestScriptsTest {
    static final long RAM = 64L << 20;
    static final long HEAP = 0x100000;
    static final int SID = 0x0010;     // 00:02.0

    static DirectMachine machine(final Map<String, ?> props) { return new DirectMachine("intel-iommu", props, RAM); }

    @Test
    void shouldBootInLegacyMode() {
        try (DirectMachine m = machine(Map.of("caching-mode", true))) {
            final LinuxVtdDriver d = new LinuxVtdDriver(m, HEAP);
            d.boot(false, true);
            final int gsts = m.read32(LinuxVtdDriver.GSTS);
            assertEquals(LinuxVtdDriver.TE | LinuxVtdDriver.SRTP | LinuxVtdDriver.QIE | LinuxVtdDriver.IRE | LinuxVtdDriver.SIRTP, gsts);
            assertEquals(0, m.read32(LinuxVtdDriver.FSTS), m.describe());
            assertTrue(m.takeInterrupts(0).isEmpty());
        }
    }

    @Test
    void shouldBootInScalableMode() {
        try (DirectMachine m = machine(Map.of("x-scalable-mode", true, "x-flts", true, "x-pasid-mode", true,
                "device-iotlb", true, "svm", true))) {
            final LinuxVtdDriver d = new LinuxVtdDriver(m, HEAP);
            d.boot(true, true);
            assertTrue(d.sm);
            assertEquals(0, m.read32(LinuxVtdDriver.FSTS), m.describe());
            assertEquals(1L << 10, m.read64(LinuxVtdDriver.RTADDR) & 0xC00);
            assertEquals(0x30, m.read32(LinuxVtdDriver.VER));
        }
    }

    @Test
    void shouldTranslateDmaThroughGuestMappedSecondStagePages() {
        try (DirectMachine m = machine(Map.of("caching-mode", true))) {
            final LinuxVtdDriver d = new LinuxVtdDriver(m, HEAP);
            d.boot(false, false);
            final int did = d.allocDid();
            final LinuxVtdDriver.PageTable pt = d.newSecondStage();
            d.attachLegacy(SID, did, pt);
            final long buf = d.allocPage();
            pt.map(0x4000_0000L, buf, true);
            d.flushIotlbPages(did, 0x4000_0000L, 0, false);      // CM = 1: flush on map
            m.attachEmulated("nic0", SID);
            final byte[] data = "hello dma".getBytes();
            assertEquals(0, m.dmaWrite(SID, GuestMachine.NO_PASID, 0x4000_0010L, data));
            final byte[] back = new byte[data.length];
            assertEquals(0, m.dmaRead(SID, GuestMachine.NO_PASID, 0x4000_0010L, back));
            assertArrayEquals(data, back);
            final GuestMachine.Translated t = m.translate(SID, GuestMachine.NO_PASID, 0x4000_0123L, AccessType.READ);
            assertEquals(buf + 0x123, t.outputAddress());
        }
    }

    @Test
    void shouldFaultAfterUnmapWithPageSelectiveInvalidation() {
        try (DirectMachine m = machine(Map.of("caching-mode", true))) {
            final LinuxVtdDriver d = new LinuxVtdDriver(m, HEAP);
            d.boot(false, false);
            final int did = d.allocDid();
            final LinuxVtdDriver.PageTable pt = d.newSecondStage();
            d.attachLegacy(SID, did, pt);
            pt.map(0x8000L, d.allocPage(), true);
            m.attachEmulated("nic0", SID);
            assertTrue(m.translate(SID, GuestMachine.NO_PASID, 0x8000L, AccessType.WRITE).ok());   // now in the IOTLB
            pt.unmap(0x8000L);
            assertTrue(m.translate(SID, GuestMachine.NO_PASID, 0x8000L, AccessType.WRITE).ok(), "stale until invalidated");
            m.takeInvalidations();
            d.flushIotlbPages(did, 0x8000L, 0, true);               // unmap: PSI with IH = 1
            assertEquals(List.of(new GuestMachine.Invalidation(-1, -2, 0x8000L, 4096)), m.takeInvalidations());
            final GuestMachine.Translated t = m.translate(SID, GuestMachine.NO_PASID, 0x8000L, AccessType.WRITE);
            assertFalse(t.ok());
            assertEquals(0x05, t.faultCode());
            assertEquals(List.of(new GuestMachine.Interrupt.Msi(LinuxVtdDriver.FAULT_MSI_ADDR, LinuxVtdDriver.FAULT_MSI_DATA)),
                    m.takeInterrupts(0));
            final List<LinuxVtdDriver.Fault> f = d.dmarFault();
            assertEquals(List.of(new LinuxVtdDriver.Fault(0x05, SID, 0x8000L, false, false, 0)), f);
            assertEquals(0, m.read32(LinuxVtdDriver.FSTS) & 3);
        }
    }

    @Test
    void shouldTranslatePasidTaggedFirstStageRequests() throws Exception {
        try (DirectMachine m = machine(Map.of("x-scalable-mode", true, "x-flts", true, "x-pasid-mode", true))) {
            final LinuxVtdDriver d = new LinuxVtdDriver(m, HEAP);
            d.boot(true, false);
            final long dir = d.scalableContext(SID, true, false);
            final int did = d.allocDid();
            final LinuxVtdDriver.PageTable fs = d.newFirstStage();
            final long buf = d.allocPage();
            fs.map(0x7000_1000L, buf, false);
            final long leaf = fs.entry(0x7000_1000L, false);
            m.memory().write64(leaf, m.memory().read64(leaf) & ~0x60L | 2);   // RW, A and D clear
            d.setPasidEntry(dir, 5, did, 1, null, fs);
            m.attachEmulated("acc0", SID);
            final GuestMachine.Translated t = m.translate(SID, 5, 0x7000_1234L, AccessType.WRITE);
            assertTrue(t.ok(), m.describe());
            assertEquals(buf + 0x234, t.outputAddress());
            assertEquals(0x60L, m.memory().read64(leaf) & 0x60L, "A and D set by compare-and-set");
            final GuestMachine.Translated other = m.translate(SID, 6, 0x7000_1234L, AccessType.READ);
            assertFalse(other.ok());
            assertEquals(0x59, other.faultCode());              // PASID entry not present
            final GuestMachine.Translated noPasid = m.translate(SID, GuestMachine.NO_PASID, 0x7000_1234L, AccessType.READ);
            assertFalse(noPasid.ok());
        }
    }

    @Test
    void shouldAnswerAPageRequestWithAPageGroupResponse() {
        try (DirectMachine m = machine(Map.of("x-scalable-mode", true, "x-flts", true, "x-pasid-mode", true,
                "device-iotlb", true, "svm", true))) {
            final LinuxVtdDriver d = new LinuxVtdDriver(m, HEAP);
            d.boot(true, false);
            d.scalableContext(SID, true, true);
            m.attachEmulated("gpu0", SID);
            final VtdDevice dev = (VtdDevice) m.device();            // the emulated endpoint's PRI
            final List<int[]> responses = new ArrayList<>();
            final int r = dev.injectPageRequest(SID, 9, 0x5555_5000L, true, true, false, true, 17,
                    (s, p, g, c) -> responses.add(new int[] {s, p, g, c}));
            assertEquals(-1, r);
            assertEquals(List.of(new GuestMachine.Interrupt.Msi(LinuxVtdDriver.PRQ_MSI_ADDR, LinuxVtdDriver.PRQ_MSI_DATA)),
                    m.takeInterrupts(0));
            final List<LinuxVtdDriver.PageReq> reqs = d.prqEvent();
            assertEquals(List.of(new LinuxVtdDriver.PageReq(SID, true, 9, 0x5555_5000L, true, true, true, 17)), reqs);
            d.pageGroupResponse(reqs.get(0), 0);
            assertEquals(1, responses.size());
            assertArrayEquals(new int[] {SID, 9, 17, 0}, responses.get(0));
        }
    }

    @Test
    void shouldRaiseIqeForAMalformedDescriptor() {
        try (DirectMachine m = machine(Map.of())) {
            final LinuxVtdDriver d = new LinuxVtdDriver(m, HEAP);
            d.boot(false, false);
            m.takeInterrupts(0);
            final long head = m.read64(LinuxVtdDriver.IQH);
            d.qiSubmitRaw(0x1 | 1 << 4 | 1L << 7, 0);              // context-cache with reserved bit 7
            assertEquals(0x10, m.read32(LinuxVtdDriver.FSTS) & 0x10);
            assertEquals(head, m.read64(LinuxVtdDriver.IQH), "IQH stays at the bad descriptor");
            assertEquals(List.of(new GuestMachine.Interrupt.Msi(LinuxVtdDriver.FAULT_MSI_ADDR, LinuxVtdDriver.FAULT_MSI_DATA)),
                    m.takeInterrupts(0));
            d.qiSubmitRaw(0x2 | 1 << 4, 0);                         // queued behind the error: not processed
            assertEquals(head, m.read64(LinuxVtdDriver.IQH));
            assertEquals(4, d.recoverFromIqe());
            assertEquals(0, m.read32(LinuxVtdDriver.FSTS) & 0x10);
            assertEquals(m.read64(LinuxVtdDriver.IQT), m.read64(LinuxVtdDriver.IQH), "resumed after IQE was cleared");
            d.flushIotlbGlobal();
            assertEquals(0, m.read32(LinuxVtdDriver.FSTS));
        }
    }

    @Test
    void shouldRemapAnMsiThroughTheInterruptRemappingTable() {
        try (DirectMachine m = machine(Map.of("eim", true))) {
            final LinuxVtdDriver d = new LinuxVtdDriver(m, HEAP);
            d.boot(false, true);
            d.setIrte(37, 0x61, 0x103, SID);
            final InterruptRemapping ir = ((VtdDevice) m.device()).interruptRemapping();
            final InterruptRemapping.Result ok = ir.remap(SID, LinuxVtdDriver.remappableMsiAddress(37), 0);
            final InterruptRemapping.Result.Deliver del = assertInstanceOf(InterruptRemapping.Result.Deliver.class, ok);
            assertEquals(0x61, del.vector());
            assertEquals(0x103, del.destination());
            final InterruptRemapping.Result bad = ir.remap(SID + 1, LinuxVtdDriver.remappableMsiAddress(37), 0);
            assertEquals(0x26, assertInstanceOf(InterruptRemapping.Result.Blocked.class, bad).faultReason());
            assertEquals(0x26, d.dmarFault().get(0).reason());
        }
    }
}
