package dev.viommu.guests.virtio;

import dev.viommu.guests.GuestScript;

import java.util.List;

/** The virtio-iommu guest scripts (virtio-mmio and virtio-pci, notify register and data-plane doorbell kicks). */
public final class VirtioScripts {
    private VirtioScripts() {}

    public static List<GuestScript> all() {
        return List.of(
                new VirtioBootScript("virtio-mmio-boot", VirtioScript.Bus.MMIO),
                new VirtioBootScript("virtio-pci-boot", VirtioScript.Bus.PCI_MSIX),
                new VirtioMapDmaUnmapFaultScript("virtio-mmio-map-dma-unmap-fault", VirtioScript.Bus.MMIO, ViommuDriver.Kick.NOTIFY_REGISTER),
                new VirtioMapDmaUnmapFaultScript("virtio-pci-map-dma-unmap-fault", VirtioScript.Bus.PCI_MSIX, ViommuDriver.Kick.DOORBELL),
                new VirtioBypassScript("virtio-pci-intx-bypass", VirtioScript.Bus.PCI_INTX),
                new VirtioStatusScript("virtio-status-codes", VirtioScript.Bus.MMIO),
                new VirtioLimitsScript("virtio-limits", VirtioScript.Bus.PCI_MSIX));
    }
}
