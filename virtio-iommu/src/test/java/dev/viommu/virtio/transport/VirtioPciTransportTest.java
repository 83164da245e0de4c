package dev.viommu.virtio.transport;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.guest.virtio.GuestAllocator;
import dev.viommu.core.guest.virtio.VirtioPciGuest;
import dev.viommu.virtio.fixture.DeviceTestDriver;
import dev.viommu.virtio.iommu.VirtioIommuDevice;
import dev.viommu.virtio.spec.VirtioPciCap;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.viommu.core.guest.virtio.ViommuRequests.*;
import static dev.viommu.virtio.fixture.DeviceTestDriver.*;
import static org.junit.jupiter.api.Assertions.*;

class VirtioPciTransportTest {

    private static DirectMachine pci() {
        final DirectMachine m = new DirectMachine("virtio-iommu-pci", Map.of("boot-bypass", false), 64L << 20);
        m.attachEmulated("ep", 8);
        return m;
    }

    /** The guest's virtio-pci transport: enumerated and probed from configuration space, like Linux does. */
    private static VirtioPciGuest transport(final DirectMachine m, final boolean msix) {
        final PciLayout l = ((VirtioIommuDevice) m.device()).pciLayout();
        final Map<Integer, Integer> bars = new HashMap<>();
        for (PciLayout.Bar b : l.bars()) bars.put(b.bar(), b.region());
        final VirtioPciGuest t = new VirtioPciGuest(m, bars, msix);
        t.enumerate();
        t.probe();
        return t;
    }

    @Test
    void shouldDescribeTheCapabilityListForConfigurationSpace() {
        try (DirectMachine m = pci()) {
            final VirtioIommuDevice dev = (VirtioIommuDevice) m.device();
            final PciLayout l = dev.pciLayout();
            assertEquals(0x1AF4, l.vendorId());
            assertEquals(0x1057, l.deviceId(), "0x1040 + device ID 23");
            assertEquals(1, l.revision());
            assertEquals(List.of(new PciLayout.Bar(4, 0, 0x4000, true, true), new PciLayout.Bar(1, 1, 0x1000, false, false)), l.bars());
            assertEquals(2, m.device().mmioRegions().size());
            final List<PciCapability> caps = dev.pciCapabilities();
            assertEquals(new PciCapability(VirtioPciCap.COMMON_CFG, 4, 0, 0, 64, 0), caps.get(0));
            assertEquals(new PciCapability(VirtioPciCap.ISR_CFG, 4, 0, 0x1000, 1, 0), caps.get(1));
            assertEquals(new PciCapability(VirtioPciCap.DEVICE_CFG, 4, 0, 0x2000, 40, 0), caps.get(2));
            assertEquals(new PciCapability(VirtioPciCap.NOTIFY_CFG, 4, 0, 0x3000, 8, 4), caps.get(3));
            assertEquals(VirtioPciCap.PCI_CFG, caps.get(4).cfgType());
            assertArrayEquals(new byte[] {9, 0, 20, 2, 4, 0, 0, 0, 0, 0x30, 0, 0, 8, 0, 0, 0, 4, 0, 0, 0}, caps.get(3).toConfigBytes());
            assertEquals(new PciLayout.Msix(3, 1, 0, 1, 0x800), l.msix());
            assertTrue(dev.describe().toString().contains("notify-off-multiplier=4"));
        }
    }

    @Test
    void shouldRaiseIntxAndClearItOnIsrRead() {
        try (DirectMachine m = pci()) {
            final DeviceTestDriver d = new DeviceTestDriver(m, transport(m, false), new GuestAllocator(0x10_0000, 0x100_0000));
            assertEquals(0, d.probe());
            m.takeInterrupts(0);
            assertEquals(1, m.dmaRead(8, GuestMachine.NO_PASID, 0x5000, new byte[4]), "DOMAIN fault");
            assertEquals(List.of(new GuestMachine.Interrupt.Line(0, true)), m.takeInterrupts(0));
            assertEquals(1, m.mmioRead(0, PciLayout.ISR_OFFSET, 1), "ISR queue bit");
            assertEquals(List.of(new GuestMachine.Interrupt.Line(0, false)), m.takeInterrupts(0));
            assertEquals(0, m.mmioRead(0, PciLayout.ISR_OFFSET, 1), "read-to-clear");
            d.eventHandler();
            assertEquals(1, d.faults.size());
        }
    }

    @Test
    void shouldNotAssertIntxWhileTheCommandRegisterDisablesIt() {
        try (DirectMachine m = pci()) {
            final DeviceTestDriver d = new DeviceTestDriver(m, transport(m, false), new GuestAllocator(0x10_0000, 0x100_0000));
            assertEquals(0, d.probe());
            m.takeInterrupts(0);
            m.mmioWrite(0xFF, 4, 2, 0x0406);                   // Command: MEM | MASTER | INTx Disable
            assertEquals(1, m.dmaRead(8, GuestMachine.NO_PASID, 0x5000, new byte[4]), "DOMAIN fault");
            assertEquals(List.of(), m.takeInterrupts(0), "INTx disabled: the line stays low");
            m.mmioWrite(0xFF, 4, 2, 0x0006);                   // re-enabled with the ISR still set: asserted now
            assertEquals(List.of(new GuestMachine.Interrupt.Line(0, true)), m.takeInterrupts(0));
            assertEquals(1, m.mmioRead(0, PciLayout.ISR_OFFSET, 1));
        }
    }

    @Test
    void shouldDeliverMsixPerQueueVectorAndHoldItWhileMasked() {
        try (DirectMachine m = pci()) {
            final DeviceTestDriver d = new DeviceTestDriver(m, transport(m, true), new GuestAllocator(0x10_0000, 0x100_0000));
            assertEquals(0, d.probe());
            m.takeInterrupts(0);
            m.mmioWrite(1, 2 * 16 + 12, 4, 1);                 // mask vector 2 (the event queue)
            m.dmaRead(8, GuestMachine.NO_PASID, 0x5000, new byte[4]);
            assertEquals(List.of(), m.takeInterrupts(0), "masked: pending, not sent");
            assertEquals(1L << 2, m.mmioRead(1, 0x800, 8), "PBA bit 2");
            m.mmioWrite(1, 2 * 16 + 12, 4, 0);                 // unmask: the pending message goes out
            assertEquals(List.of(new GuestMachine.Interrupt.Msi(VirtioPciGuest.MSI_ADDRESS, 2)), m.takeInterrupts(0));
            assertEquals(0, m.mmioRead(1, 0x800, 8));
            // a vector beyond the table reads back as NO_VECTOR
            m.mmioWrite(0, 22, 2, 0);
            m.mmioWrite(0, 26, 2, 9);
            assertEquals(VirtioPciCap.NO_VECTOR, m.mmioRead(0, 26, 2));
        }
    }

    @Test
    void shouldHonourTheHypervisorsMsixFunctionMask() {
        try (DirectMachine m = pci()) {
            final DeviceTestDriver d = new DeviceTestDriver(m, transport(m, true), new GuestAllocator(0x10_0000, 0x100_0000));
            assertEquals(0, d.probe());
            m.takeInterrupts(0);
            final int cap = ((VirtioPciTransport) ((VirtioIommuDevice) m.device()).transport()).config().msixCapability();
            m.mmioWrite(0xFF, cap + 2, 2, 0xC000);             // Message Control: Enable | Function Mask
            m.dmaRead(8, GuestMachine.NO_PASID, 0x5000, new byte[4]);
            assertEquals(List.of(), m.takeInterrupts(0));
            m.mmioWrite(0xFF, cap + 2, 2, 0x8000);
            assertEquals(List.of(new GuestMachine.Interrupt.Msi(VirtioPciGuest.MSI_ADDRESS, 2)), m.takeInterrupts(0));
        }
    }
}
