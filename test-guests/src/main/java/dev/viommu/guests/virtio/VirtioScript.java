package dev.viommu.guests.virtio;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.guest.virtio.GuestAllocator;
import dev.viommu.core.guest.virtio.VirtioConfigOps;
import dev.viommu.core.guest.virtio.VirtioMmioGuest;
import dev.viommu.core.guest.virtio.VirtioPciGuest;
import dev.viommu.guests.GuestScript;
import dev.viommu.guests.Narrator;

import java.util.Map;

/**
 * What every virtio-iommu guest script shares: the platform (which transport, how the hypervisor routes BARs),
 * the emulated endpoint, and booting the Linux-like driver with its steps narrated.
 */
public abstract class VirtioScript implements GuestScript {
    /** How the device sits in the machine. */
    public enum Bus {
        /** virtio-mmio at data-plane region 0, wired line 0 (driver {@code virtio-iommu-device}). */
        MMIO,
        /** virtio-pci, MSI-X vectors (driver {@code virtio-iommu-pci}). */
        PCI_MSIX,
        /** virtio-pci without MSI-X: INTx line 0 and the ISR. */
        PCI_INTX
    }

    /**
     * The hypervisor's BAR routing for virtio-iommu-pci, from {@code PciFunction.bars()}: BAR 4 (the virtio
     * structures) is data-plane region 0, BAR 1 (MSI-X table and PBA) region 1. The guest sees only BAR addresses.
     */
    public static final Map<Integer, Integer> PCI_BAR_ROUTING = Map.of(4, 0, 1, 1);
    /** The emulated endpoint: a NIC at 00:02.0, endpoint ID = its requester ID. */
    public static final int EP = 0x10;
    public static final String EP_NAME = "nic0";
    /** A DMA buffer in guest RAM. */
    public static final long BUF_GPA = 0x200_0000L;

    private final String name;
    private final String description;
    protected final Bus bus;
    private final Map<String, Object> properties;

    protected VirtioScript(final String name, final String description, final Bus bus, final Map<String, Object> properties) {
        this.name = name;
        this.description = description;
        this.bus = bus;
        this.properties = properties;
    }

    @Override public String name() { return name; }

    @Override public String description() { return description; }

    @Override public String driver() { return bus == Bus.MMIO ? "virtio-iommu-device" : "virtio-iommu-pci"; }

    @Override public Map<String, Object> properties() { return properties; }

    /** The transport as the guest finds it: vm_probe, or firmware enumeration then vp_modern_probe. */
    protected VirtioConfigOps transport(final GuestMachine m, final Narrator n) {
        if (bus == Bus.MMIO) {
            final VirtioMmioGuest t = new VirtioMmioGuest(m, 0);
            n.step("virtio_mmio_probe (vm_probe): magic, version 2, device ID");
            t.probe();
            n.checkEquals(ViommuDriver.VIRTIO_ID_IOMMU, t.deviceId(), "virtio-mmio DeviceID is virtio-iommu");
            return t;
        }
        final VirtioPciGuest t = new VirtioPciGuest(m, PCI_BAR_ROUTING, bus == Bus.PCI_MSIX);
        n.step("firmware: size and assign BARs, pci_enable_device, pci_set_master");
        t.enumerate();
        for (String l : t.enumerationLog()) n.note(l);
        n.step("virtio_pci_probe → vp_modern_probe: walk the capability list in configuration space");
        t.probe();
        n.checkEquals(ViommuDriver.VIRTIO_ID_IOMMU, t.deviceId(), "PCI device ID 0x1040 + 23 is virtio-iommu");
        n.note("capabilities: " + t.describe());
        return t;
    }

    /** A booted driver: transport probe, virtio_dev_probe and viommu_probe. */
    protected ViommuDriver boot(final GuestMachine m, final Narrator n) {
        final ViommuDriver d = new ViommuDriver(m, transport(m, n), new GuestAllocator(0x10_0000, 0x100_0000)).trace(n::step);
        n.checkEquals(0, d.probe(), "viommu_probe succeeds");
        return d;
    }

    /** The hypervisor puts the emulated endpoint behind the vIOMMU (viommu-attach-device). */
    protected static void plugEndpoint(final GuestMachine m, final Narrator n) {
        n.step("hypervisor: viommu-attach-device " + EP_NAME + " (emulated, endpoint 0x" + Integer.toHexString(EP) + ")");
        m.attachEmulated(EP_NAME, EP);
    }
}
