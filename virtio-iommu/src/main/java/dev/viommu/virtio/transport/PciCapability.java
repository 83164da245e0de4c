package dev.viommu.virtio.transport;

import dev.viommu.virtio.spec.VirtioPciCap;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One virtio vendor capability the hypervisor writes into the device's PCI configuration space (struct
 * virtio_pci_cap, plus notify_off_multiplier for NOTIFY_CFG; virtio 1.2 §4.1.4). {@code bar} is the PCI BAR
 * number; {@link PciLayout} says which MMIO region of this device model backs each BAR.
 */
public record PciCapability(int cfgType, int bar, int id, long offset, long length, int notifyOffMultiplier) {

    /** cap_len: 16 bytes, 20 for NOTIFY_CFG, 20 for PCI_CFG (the 4-byte data window follows). */
    public int capLength() {
        return cfgType == VirtioPciCap.NOTIFY_CFG || cfgType == VirtioPciCap.PCI_CFG ? 20 : 16;
    }

    /**
     * The capability as it sits in configuration space, little-endian, with cap_next = 0 (the hypervisor links
     * the list).
     */
    public byte[] toConfigBytes() {
        final byte[] b = new byte[capLength()];
        b[0] = (byte) VirtioPciCap.PCI_CAP_ID_VNDR;
        b[1] = 0;
        b[2] = (byte) capLength();
        b[3] = (byte) cfgType;
        b[4] = (byte) bar;
        b[5] = (byte) id;
        putLe32(b, 8, (int) offset);
        putLe32(b, 12, (int) length);
        if (cfgType == VirtioPciCap.NOTIFY_CFG) putLe32(b, 16, notifyOffMultiplier);
        return b;
    }

    private static void putLe32(final byte[] b, final int off, final int v) {
        b[off] = (byte) v;
        b[off + 1] = (byte) (v >>> 8);
        b[off + 2] = (byte) (v >>> 16);
        b[off + 3] = (byte) (v >>> 24);
    }

    public Map<String, Object> describe() {
        final Map<String, Object> m = new LinkedHashMap<>();
        m.put("cfg-type", cfgType);
        m.put("cfg-type-name", switch (cfgType) {
            case VirtioPciCap.COMMON_CFG -> "common";
            case VirtioPciCap.NOTIFY_CFG -> "notify";
            case VirtioPciCap.ISR_CFG -> "isr";
            case VirtioPciCap.DEVICE_CFG -> "device";
            case VirtioPciCap.PCI_CFG -> "pci-cfg";
            default -> "other";
        });
        m.put("bar", bar);
        m.put("id", id);
        m.put("offset", offset);
        m.put("length", length);
        if (cfgType == VirtioPciCap.NOTIFY_CFG) m.put("notify-off-multiplier", notifyOffMultiplier);
        m.put("cap-len", capLength());
        return m;
    }
}
