package dev.viommu.virtio.transport;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.guest.virtio.GuestAllocator;
import dev.viommu.core.guest.virtio.VirtioMmioGuest;
import dev.viommu.core.guest.virtio.SplitVirtqueue;
import dev.viommu.virtio.fixture.DeviceTestDriver;
import dev.viommu.virtio.iommu.VirtioIommuDevice;
import dev.viommu.virtio.spec.VirtioMmioReg;
import dev.viommu.virtio.spec.VirtioStatus;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.viommu.core.guest.virtio.ViommuRequests.*;
import static dev.viommu.virtio.fixture.DeviceTestDriver.*;
import static org.junit.jupiter.api.Assertions.*;

/** virtio-mmio transport and split-virtqueue behaviour, driven through MMIO and guest RAM like a guest. */
class VirtioTransportTest {
    static final long RAM = 64L << 20;

    private static DirectMachine mmio(final Map<String, ?> props) {
        final DirectMachine m = new DirectMachine("virtio-iommu-device", props, RAM);
        m.attachEmulated("ep", 8);
        return m;
    }

    private static DeviceTestDriver driver(final GuestMachine m) {
        return new DeviceTestDriver(m, new VirtioMmioGuest(m, 0), new GuestAllocator(0x10_0000, 0x100_0000));
    }

    private static int status(final GuestMachine m) { return m.read32(VirtioMmioReg.STATUS); }

    @Test
    void shouldPresentVirtioMmioVersion2IdentityAndConfig() {
        try (DirectMachine m = mmio(Map.of())) {
            assertEquals(0x74726976, m.read32(VirtioMmioReg.MAGIC_VALUE));
            assertEquals(2, m.read32(VirtioMmioReg.VERSION));
            assertEquals(23, m.read32(VirtioMmioReg.DEVICE_ID));
            assertEquals(256, new VirtioMmioGuest(m, 0).queueMax(0));
            assertEquals(-4096L, m.mmioRead(0, 0x100, 8), "page_size_mask");
            assertEquals(512, m.mmioRead(0, 0x100 + 32, 4), "probe_size");
            assertEquals(1, m.mmioRead(0, 0x100 + 36, 1), "bypass (boot-bypass)");
            assertEquals(0, m.mmioRead(0, VirtioMmioReg.STATUS, 2), "sub-word access to a register reads 0");
        }
    }

    @Test
    void shouldRefuseFeaturesOkForUnofferedFeaturesOrWithoutVersion1() {
        try (DirectMachine m = mmio(Map.of())) {
            final DeviceTestDriver d = driver(m);
            final VirtioMmioGuest t = new VirtioMmioGuest(m, 0);
            t.reset();
            t.setStatus(3);
            t.finalizeFeatures(1L << 40 | 1L << 32);
            t.setStatus(3 | VirtioStatus.FEATURES_OK);
            assertEquals(0, status(m) & VirtioStatus.FEATURES_OK, "bit 40 was never offered");
            t.reset();
            t.setStatus(3);
            t.finalizeFeatures(1L << F_MAP_UNMAP);
            t.setStatus(3 | VirtioStatus.FEATURES_OK);
            assertEquals(0, status(m) & VirtioStatus.FEATURES_OK, "legacy (no VERSION_1) is refused");
            assertEquals(-ENODEV, d.probe(LINUX_FEATURES & ~(1L << F_VERSION_1), true));
            // after FEATURES_OK the driver features are frozen
            assertEquals(0, d.probe());
            t.finalizeFeatures(0);
            assertTrue(m.describe().contains("driver-features=0x" + Long.toHexString(d.features())), m.describe());
        }
    }

    @Test
    void shouldNotProcessQueuesBeforeDriverOk() throws Exception {
        try (DirectMachine m = mmio(Map.of())) {
            final VirtioMmioGuest t = new VirtioMmioGuest(m, 0);
            final GuestAllocator a = new GuestAllocator(0x10_0000, 0x100_0000);
            t.reset();
            t.setStatus(3);
            t.finalizeFeatures(1L << F_VERSION_1 | 1L << F_MAP_UNMAP);
            t.setStatus(3 | 8);
            final SplitVirtqueue vq = new SplitVirtqueue(m.memory(), a, 0, 256, false, false);
            assertTrue(t.setupQueue(0, 256, vq.desc, vq.avail, vq.used));
            final long buf = a.alloc(64, 8);
            m.memory().write(buf, attachReq(1, 8, 0), 0, 20);
            vq.addSgs(new long[][] {{buf, 20}}, new long[][] {{buf + 20, 4}}, "x");
            t.notify(0);
            assertNull(vq.getBuf(), "no buffers used before DRIVER_OK");
            t.setStatus(3 | 8 | 4);
            final SplitVirtqueue.Used u = vq.getBuf();
            assertNotNull(u, "DRIVER_OK consumed what was already available");
            assertEquals(4, u.len());
            assertEquals(0, m.memory().read8(buf + 20));
        }
    }

    @Test
    void shouldSetDeviceNeedsResetWhenTheAvailIndexRunsAheadOfTheRing() throws Exception {
        try (DirectMachine m = mmio(Map.of())) {
            final DeviceTestDriver d = driver(m);
            assertEquals(0, d.probe());
            d.handleInterrupts(0);
            d.requestQueue().setAvailIdxRaw(257);            // idx - last_avail > size
            m.doorbell(0);
            assertEquals(VirtioStatus.DEVICE_NEEDS_RESET, status(m) & VirtioStatus.DEVICE_NEEDS_RESET);
            assertEquals(2, m.read32(VirtioMmioReg.INTERRUPT_STATUS) & 2, "configuration change notification");
            assertTrue(m.describe().contains("ahead of last_avail"), m.describe());
            assertEquals("VIRTIO_DEVICE_NEEDS_RESET", m.events().get(0).getKey(), "a QMP event for the management layer");
            // the device stays stopped until reset, then works again
            m.doorbell(0);
            assertEquals(0, d.probe());
            assertEquals(0, status(m) & VirtioStatus.DEVICE_NEEDS_RESET);
            assertEquals(0, d.sendReqSync(attachReq(1, 8, 0)));
        }
    }

    @Test
    void shouldSetDeviceNeedsResetOnADescriptorLoop() throws Exception {
        try (DirectMachine m = mmio(Map.of())) {
            final DeviceTestDriver d = driver(m);
            assertEquals(0, d.probe(LINUX_FEATURES & ~(1L << F_INDIRECT_DESC), true));
            final SplitVirtqueue vq = d.requestQueue();
            final GuestMemory mem = m.memory();
            // descriptors 0 -> 1 -> 0 with NEXT set: a loop the TTL must stop
            mem.write64(vq.desc, 0x20_0000);
            mem.write32(vq.desc + 8, 16);
            mem.write16(vq.desc + 12, 1);
            mem.write16(vq.desc + 14, 1);
            mem.write64(vq.desc + 16, 0x20_0000);
            mem.write32(vq.desc + 24, 16);
            mem.write16(vq.desc + 28, 1);
            mem.write16(vq.desc + 30, 0);
            vq.publishRaw(0);
            m.doorbell(0);
            assertEquals(VirtioStatus.DEVICE_NEEDS_RESET, status(m) & VirtioStatus.DEVICE_NEEDS_RESET);
            assertTrue(m.describe().contains("longer than the queue size"), m.describe());
        }
    }

    @Test
    void shouldRejectNestedIndirectTablesAndIndirectWithoutTheFeature() throws Exception {
        for (boolean negotiated : new boolean[] {true, false}) {
            try (DirectMachine m = mmio(Map.of())) {
                final DeviceTestDriver d = driver(m);
                assertEquals(0, d.probe(negotiated ? LINUX_FEATURES : LINUX_FEATURES & ~(1L << F_INDIRECT_DESC), true));
                final SplitVirtqueue vq = d.requestQueue();
                final GuestMemory mem = m.memory();
                final long table = 0x30_0000;
                mem.write64(table, 0x30_1000);                 // an indirect descriptor inside the indirect table
                mem.write32(table + 8, 32);
                mem.write16(table + 12, 4);
                mem.write64(vq.desc, table);
                mem.write32(vq.desc + 8, 16);
                mem.write16(vq.desc + 12, 4);
                vq.publishRaw(0);
                m.doorbell(0);
                assertEquals(VirtioStatus.DEVICE_NEEDS_RESET, status(m) & VirtioStatus.DEVICE_NEEDS_RESET);
                assertTrue(m.describe().contains(negotiated ? "nested indirect" : "without VIRTIO_F_INDIRECT_DESC"), m.describe());
            }
        }
    }

    @Test
    void shouldRejectAReadableDescriptorAfterAWritableOne() throws Exception {
        try (DirectMachine m = mmio(Map.of())) {
            final DeviceTestDriver d = driver(m);
            assertEquals(0, d.probe(LINUX_FEATURES & ~(1L << F_INDIRECT_DESC), true));
            // the driver's own add_sgs never does this: build the chain by hand (writable, then readable)
            final SplitVirtqueue vq = d.requestQueue();
            final GuestMemory mem = m.memory();
            mem.write64(vq.desc, 0x20_0000);
            mem.write32(vq.desc + 8, 4);
            mem.write16(vq.desc + 12, 1 | 2);
            mem.write16(vq.desc + 14, 1);
            mem.write64(vq.desc + 16, 0x20_0100);
            mem.write32(vq.desc + 24, 20);
            mem.write16(vq.desc + 28, 0);
            vq.publishRaw(0);
            m.doorbell(0);
            assertTrue(m.describe().contains("readable descriptor after a writable"), m.describe());
        }
    }

    @Test
    void shouldSuppressInterruptsWithEventIdxAndPublishAvailEvent() throws Exception {
        try (DirectMachine m = mmio(Map.of())) {
            final DeviceTestDriver d = driver(m);
            assertEquals(0, d.probe());
            d.handleInterrupts(0);
            final SplitVirtqueue vq = d.requestQueue();
            final GuestMemory mem = m.memory();
            // The request queue's used_event is never advanced by the driver here: after the first
            // notification the device must stay quiet (vring_need_event false).
            mem.write16(vq.avail + 4 + 2L * vq.size, 0xFFFF);
            assertEquals(0, d.sendReqSync(attachReq(1, 8, 0)));
            final int before = m.read32(VirtioMmioReg.INTERRUPT_STATUS);
            m.write32(VirtioMmioReg.INTERRUPT_ACK, before);
            mem.write16(vq.avail + 4 + 2L * vq.size, 0x7000);     // far ahead: no interrupt wanted
            assertEquals(0, d.sendReqSync(attachReq(2, 8, 0)));
            assertEquals(0, m.read32(VirtioMmioReg.INTERRUPT_STATUS) & 1, "used_event not crossed: no interrupt");
            // the device published avail_event = last_avail so that the driver kicks for the next request
            assertEquals(vq.availIdx(), mem.read16(vq.used + 4 + 8L * vq.size));
            // used_event = current used idx - 1 is crossed by the next completion
            mem.write16(vq.avail + 4 + 2L * vq.size, mem.read16(vq.used + 2));
            assertEquals(0, d.sendReqSync(attachReq(3, 8, 0)));
            assertEquals(1, m.read32(VirtioMmioReg.INTERRUPT_STATUS) & 1);
        }
    }

    @Test
    void shouldHonourNoInterruptWithoutEventIdxAndDeassertTheLineOnAck() throws Exception {
        try (DirectMachine m = mmio(Map.of())) {
            final DeviceTestDriver d = driver(m);
            assertEquals(0, d.probe(LINUX_FEATURES & ~(1L << F_EVENT_IDX), true));
            m.takeInterrupts(0);
            m.memory().write16(d.requestQueue().avail, 1);             // VRING_AVAIL_F_NO_INTERRUPT
            assertEquals(0, d.sendReqSync(attachReq(1, 8, 0)));
            assertEquals(List.of(), m.takeInterrupts(0));
            m.memory().write16(d.requestQueue().avail, 0);
            assertEquals(0, d.sendReqSync(attachReq(2, 8, 0)));
            assertEquals(List.of(new GuestMachine.Interrupt.Line(0, true)), m.takeInterrupts(0));
            m.write32(VirtioMmioReg.INTERRUPT_ACK, 1);
            assertEquals(List.of(new GuestMachine.Interrupt.Line(0, false)), m.takeInterrupts(0));
        }
    }

    @Test
    void shouldTakeDoorbellsFromTheDataPlaneAndFromQueueNotify() throws Exception {
        try (DirectMachine m = mmio(Map.of())) {
            final DeviceTestDriver d = driver(m);
            assertEquals(0, d.probe());
            final SplitVirtqueue vq = d.requestQueue();
            final long buf = 0x40_0000;
            m.memory().write(buf, attachReq(1, 8, 0), 0, 20);
            vq.addSgs(new long[][] {{buf, 20}}, new long[][] {{buf + 20, 4}}, "a");
            m.doorbell(0);                                         // data-plane doorbell
            assertNotNull(vq.getBuf());
            m.memory().write(buf, attachReq(2, 8, 0), 0, 20);
            vq.addSgs(new long[][] {{buf, 20}}, new long[][] {{buf + 20, 4}}, "b");
            m.write32(VirtioMmioReg.QUEUE_NOTIFY, 0);              // QueueNotify register
            assertNotNull(vq.getBuf());
            m.doorbell(7);                                         // no such queue: ignored
            assertEquals(0, status(m) & VirtioStatus.DEVICE_NEEDS_RESET);
        }
    }

    @Test
    void shouldRefuseAQueueOfNonPowerOfTwoSize() {
        try (DirectMachine m = mmio(Map.of())) {
            final VirtioMmioGuest t = new VirtioMmioGuest(m, 0);
            t.reset();
            t.setStatus(3);
            t.finalizeFeatures(1L << F_VERSION_1);
            t.setStatus(11);
            assertFalse(t.setupQueue(0, 100, 0x10_0000, 0x11_0000, 0x12_0000));
            assertTrue(t.setupQueue(0, 128, 0x10_0000, 0x11_0000, 0x12_0000));
            assertTrue(((VirtioIommuDevice) m.device()).describe().toString().contains("ready=true"));
        }
    }
}
