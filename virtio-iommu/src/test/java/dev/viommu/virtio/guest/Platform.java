package dev.viommu.virtio.guest;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.guest.GuestMachine;
import dev.viommu.virtio.iommu.VirtioIommuDevice;
import dev.viommu.virtio.transport.PciCapability;
import dev.viommu.virtio.transport.PciLayout;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What firmware and the hypervisor give the guest: a machine with the device, and for virtio-pci the
 * configuration-space view (capability list, BAR → region map, MSI-X table). Only this class knows the device
 * is in process; the drivers see {@link GuestMachine} and a {@link GuestTransport}.
 */
public final class Platform implements AutoCloseable {
    public enum Bus { MMIO, PCI }

    public static final long RAM = 64L << 20;
    public final GuestMachine machine;
    public final GuestTransport transport;
    public final GuestAllocator alloc = new GuestAllocator(0x10_0000, 0x100_0000);
    public final Bus bus;

    public Platform(final Bus bus, final Map<String, ?> props) {
        this.bus = bus;
        final DirectMachine dm = new DirectMachine(bus == Bus.MMIO ? "virtio-iommu-device" : "virtio-iommu-pci", props, RAM);
        this.machine = dm;
        if (bus == Bus.MMIO) {
            transport = new GuestMmioTransport(dm, 0);
        } else {
            final PciLayout layout = ((VirtioIommuDevice) dm.device()).pciLayout();
            final Map<Integer, Integer> bars = new HashMap<>();
            for (PciLayout.Bar b : layout.bars()) bars.put(b.bar(), b.region());
            final List<GuestPciTransport.Cap> caps = layout.capabilities().stream()
                    .map((PciCapability c) -> new GuestPciTransport.Cap(c.cfgType(), c.bar(), c.offset(), c.length(), c.notifyOffMultiplier()))
                    .toList();
            transport = new GuestPciTransport(dm, caps, bars,
                    new GuestPciTransport.Msix(layout.msix().tableBar(), layout.msix().tableOffset(), layout.msix().tableSize()));
        }
    }

    public ViommuGuestDriver driver() { return new ViommuGuestDriver(machine, transport, alloc); }

    @Override public void close() { machine.close(); }
}
