package dev.viommu.virtio.transport;

import dev.viommu.virtio.spec.VirtioPciCap;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The PCI face of a virtio-pci device model, for the hypervisor that owns configuration space: IDs, BARs (and
 * the MMIO region backing each), the virtio capability list and the MSI-X capability. The layout follows
 * QEMU's virtio-pci: the modern structures in BAR 4 (common 0x0000, ISR 0x1000, device 0x2000, notify 0x3000),
 * MSI-X table and PBA in BAR 1.
 */
public record PciLayout(int vendorId, int deviceId, int subsystemVendorId, int subsystemId, int revision,
                        int classCode, List<Bar> bars, List<PciCapability> capabilities, Msix msix) {

    /** A memory BAR and the index of the {@code mmioRegions()} entry that backs it. */
    public record Bar(int bar, int region, long size, boolean is64Bit, boolean prefetchable) {}

    /** The MSI-X capability: table size, table and PBA locations (BAR number and offset). */
    public record Msix(int tableSize, int tableBar, long tableOffset, int pbaBar, long pbaOffset) {}

    public static final int MODERN_BAR = 4;
    public static final int MSIX_BAR = 1;
    public static final long MODERN_BAR_SIZE = 0x4000;
    public static final long COMMON_OFFSET = 0x0000, ISR_OFFSET = 0x1000, DEVICE_OFFSET = 0x2000, NOTIFY_OFFSET = 0x3000;
    public static final int NOTIFY_OFF_MULTIPLIER = 4;
    public static final long MSIX_BAR_SIZE = 0x1000;
    public static final long MSIX_TABLE_OFFSET = 0x000, MSIX_PBA_OFFSET = 0x800;
    /**
     * Class code 0x00ff00 (base class 0x00, subclass 0xff, prog-if 0): what QEMU 10's virtio-iommu-pci presents
     * ({@code info qtree}: "class Class 00ff" — QEMU's PCI_CLASS_OTHERS 0xff written as class/subclass). Linux's
     * virtio-pci matches on vendor/device IDs only, so the class is informational.
     */
    public static final int CLASS_CODE = 0x00FF00;

    static PciLayout of(final int virtioDeviceId, final int queues, final int configSize, final int msixVectors) {
        final List<PciCapability> caps = new ArrayList<>();
        caps.add(new PciCapability(VirtioPciCap.COMMON_CFG, MODERN_BAR, 0, COMMON_OFFSET, VirtioPciCap.COMMON_CFG_SIZE, 0));
        caps.add(new PciCapability(VirtioPciCap.ISR_CFG, MODERN_BAR, 0, ISR_OFFSET, 1, 0));
        caps.add(new PciCapability(VirtioPciCap.DEVICE_CFG, MODERN_BAR, 0, DEVICE_OFFSET, configSize, 0));
        caps.add(new PciCapability(VirtioPciCap.NOTIFY_CFG, MODERN_BAR, 0, NOTIFY_OFFSET,
                (long) queues * NOTIFY_OFF_MULTIPLIER, NOTIFY_OFF_MULTIPLIER));
        // §4.1.4.9: the config-space access window. The hypervisor implements it over the same regions.
        caps.add(new PciCapability(VirtioPciCap.PCI_CFG, 0, 0, 0, 0, 0));
        return new PciLayout(VirtioPciCap.PCI_VENDOR_ID, VirtioPciCap.PCI_DEVICE_ID_BASE + virtioDeviceId,
                VirtioPciCap.PCI_VENDOR_ID, VirtioPciCap.PCI_SUBSYSTEM_ID_QEMU, 1, CLASS_CODE,
                List.of(new Bar(MODERN_BAR, 0, MODERN_BAR_SIZE, true, true), new Bar(MSIX_BAR, 1, MSIX_BAR_SIZE, false, false)),
                List.copyOf(caps), new Msix(msixVectors, MSIX_BAR, MSIX_TABLE_OFFSET, MSIX_BAR, MSIX_PBA_OFFSET));
    }

    public Map<String, Object> describe() {
        final Map<String, Object> m = new LinkedHashMap<>();
        m.put("vendor-id", vendorId);
        m.put("device-id", deviceId);
        m.put("subsystem-vendor-id", subsystemVendorId);
        m.put("subsystem-id", subsystemId);
        m.put("revision", revision);
        m.put("class-code", classCode);
        final List<Map<String, Object>> b = new ArrayList<>();
        for (Bar bar : bars) {
            b.add(Map.of("bar", bar.bar(), "region", bar.region(), "size", bar.size(), "64bit", bar.is64Bit(),
                    "prefetchable", bar.prefetchable()));
        }
        m.put("bars", b);
        m.put("capabilities", capabilities.stream().map(PciCapability::describe).toList());
        m.put("msix", Map.of("table-size", msix.tableSize(), "table-bar", msix.tableBar(), "table-offset", msix.tableOffset(),
                "pba-bar", msix.pbaBar(), "pba-offset", msix.pbaOffset()));
        return m;
    }
}
