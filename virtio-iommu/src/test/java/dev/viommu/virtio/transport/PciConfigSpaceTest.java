package dev.viommu.virtio.transport;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.spi.PciFunction;
import dev.viommu.virtio.spec.PciConfig;
import dev.viommu.virtio.spec.VirtioPciCap;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The virtio-pci function's configuration space, driven through data-plane region 0xFF like a guest. */
class PciConfigSpaceTest {
    private static final int CFG = PciFunction.CONFIG_REGION;

    private static DirectMachine pci() {
        final DirectMachine m = new DirectMachine("virtio-iommu-pci", Map.of("boot-bypass", false), 64L << 20);
        m.attachEmulated("ep", 8);
        return m;
    }

    private static long rd(final GuestMachine m, final int off, final int size) { return m.mmioRead(CFG, off, size); }

    @Test
    void shouldPresentAType0HeaderWithTheVirtioIdsAndQemusClass() {
        try (DirectMachine m = pci()) {
            assertEquals(0x1AF4, rd(m, PciConfig.VENDOR_ID, 2));
            assertEquals(0x1057, rd(m, PciConfig.DEVICE_ID, 2), "0x1040 + 23");
            assertEquals(1, rd(m, PciConfig.REVISION_ID, 1));
            assertEquals(0x00FF00, rd(m, PciConfig.REVISION_ID, 4) >>> 8, "class code as QEMU 10 (class/subclass 0x00ff)");
            assertEquals(0, rd(m, PciConfig.HEADER_TYPE, 1));
            assertEquals(0x1AF4, rd(m, PciConfig.SUBSYSTEM_VENDOR_ID, 2));
            assertEquals(0x1100, rd(m, PciConfig.SUBSYSTEM_ID, 2));
            assertEquals(PciConfig.STATUS_CAP_LIST, rd(m, PciConfig.STATUS, 2) & PciConfig.STATUS_CAP_LIST);
            assertEquals(1, rd(m, PciConfig.INTERRUPT_PIN, 1), "INTA#");
            assertEquals(List.of(new PciFunction.Bar(4, 0, 0x4000, true, true), new PciFunction.Bar(1, 1, 0x1000, false, false)),
                    m.device().pci().orElseThrow().bars());
        }
    }

    @Test
    void shouldSizeBarsByWritingAllOnesAndKeepAssignedAddresses() {
        try (DirectMachine m = pci()) {
            final int bar4 = PciConfig.BAR0 + 16, bar1 = PciConfig.BAR0 + 4;
            assertEquals(0xC, rd(m, bar4, 4), "64-bit prefetchable memory BAR");
            m.mmioWrite(CFG, bar4, 4, 0xFFFF_FFFFL);
            m.mmioWrite(CFG, bar4 + 4, 4, 0xFFFF_FFFFL);
            assertEquals(0xFFFF_C00CL, rd(m, bar4, 4), "16 KiB");
            assertEquals(0xFFFF_FFFFL, rd(m, bar4 + 4, 4));
            m.mmioWrite(CFG, bar1, 4, 0xFFFF_FFFFL);
            assertEquals(0xFFFF_F000L, rd(m, bar1, 4), "4 KiB, 32-bit");
            m.mmioWrite(CFG, bar4, 4, 0xE000_0000L);
            m.mmioWrite(CFG, bar4 + 4, 4, 0);
            assertEquals(0xE000_000CL, rd(m, bar4, 4));
            assertEquals(0, rd(m, PciConfig.BAR0, 4), "BAR 0 is not implemented");
            m.mmioWrite(CFG, PciConfig.BAR0, 4, 0xFFFF_FFFFL);
            assertEquals(0, rd(m, PciConfig.BAR0, 4));
            m.mmioWrite(CFG, PciConfig.VENDOR_ID, 2, 0x1234);
            assertEquals(0x1AF4, rd(m, PciConfig.VENDOR_ID, 2), "read-only");
        }
    }

    @Test
    void shouldChainTheVirtioCapabilitiesAndMsixLikeVpModernProbeExpects() {
        try (DirectMachine m = pci()) {
            final List<Integer> types = new ArrayList<>();
            int pos = (int) rd(m, PciConfig.CAPABILITIES_POINTER, 1);
            int msix = 0, notify = 0;
            for (int ttl = 48; pos != 0 && ttl > 0; ttl--) {
                final int id = (int) rd(m, pos, 1);
                if (id == VirtioPciCap.PCI_CAP_ID_VNDR) {
                    final int type = (int) rd(m, pos + 3, 1);
                    types.add(type);
                    if (type == VirtioPciCap.NOTIFY_CFG) notify = pos;
                    assertEquals(4, rd(m, pos + VirtioPciCap.CAP_BAR, 1) == 0 && type == VirtioPciCap.PCI_CFG ? 4 : rd(m, pos + 4, 1));
                } else if (id == VirtioPciCap.PCI_CAP_ID_MSIX) {
                    msix = pos;
                }
                pos = (int) rd(m, pos + 1, 1);
            }
            assertEquals(List.of(VirtioPciCap.COMMON_CFG, VirtioPciCap.ISR_CFG, VirtioPciCap.DEVICE_CFG, VirtioPciCap.NOTIFY_CFG,
                    VirtioPciCap.PCI_CFG), types);
            assertEquals(4, rd(m, notify + VirtioPciCap.NOTIFY_OFF_MULTIPLIER, 4));
            assertEquals(0x3000, rd(m, notify + VirtioPciCap.CAP_OFFSET, 4));
            assertTrue(msix > 0, "MSI-X capability");
            assertEquals(2, rd(m, msix + PciConfig.MSIX_FLAGS, 2) & PciConfig.MSIX_FLAGS_QSIZE, "3 vectors");
            assertEquals(1, rd(m, msix + PciConfig.MSIX_TABLE, 4), "table in BAR 1 at 0");
            assertEquals(0x801, rd(m, msix + PciConfig.MSIX_PBA, 4), "PBA in BAR 1 at 0x800");
        }
    }

    @Test
    void shouldAccessTheSelectedBarThroughThePciCfgWindow() {
        try (DirectMachine m = pci()) {
            final int cap = ((VirtioPciTransport) ((dev.viommu.virtio.iommu.VirtioIommuDevice) m.device()).transport()).config().pciCfgCapability();
            m.mmioWrite(CFG, cap + VirtioPciCap.CAP_BAR, 1, 4);
            m.mmioWrite(CFG, cap + VirtioPciCap.CAP_OFFSET, 4, 0x2000 + 32);      // device cfg: probe_size
            m.mmioWrite(CFG, cap + VirtioPciCap.CAP_LENGTH, 4, 4);
            assertEquals(512, rd(m, cap + VirtioPciCap.PCI_CFG_DATA, 4));
            m.mmioWrite(CFG, cap + VirtioPciCap.CAP_OFFSET, 4, VirtioPciCap.DFSELECT);
            m.mmioWrite(CFG, cap + VirtioPciCap.PCI_CFG_DATA, 4, 1);              // write device_feature_select = 1
            assertEquals(1, m.mmioRead(0, VirtioPciCap.DFSELECT, 4), "the write reached BAR 4");
            m.mmioWrite(CFG, cap + VirtioPciCap.CAP_BAR, 1, 2);                   // no such BAR: nothing happens
            assertEquals(1, rd(m, cap + VirtioPciCap.PCI_CFG_DATA, 4), "data keeps its last value");
        }
    }

    @Test
    void shouldStopAssertingIntxWhenTheCommandRegisterDisablesIt() {
        try (DirectMachine m = pci()) {
            // a booted driver is not needed: a config-change interrupt needs DRIVER_OK, so provoke the ISR via reset path
            m.mmioWrite(CFG, PciConfig.COMMAND, 2, PciConfig.COMMAND_INTX_DISABLE | PciConfig.COMMAND_MEMORY);
            assertEquals(PciConfig.COMMAND_INTX_DISABLE | PciConfig.COMMAND_MEMORY, rd(m, PciConfig.COMMAND, 2));
            m.device().reset();
            assertEquals(0, rd(m, PciConfig.COMMAND, 2), "a system reset restores the header");
        }
    }
}
