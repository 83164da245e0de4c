package dev.viommu.virtio.spec;

/**
 * virtio-pci modern structures (virtio 1.2 §4.1.4; Linux uapi virtio_pci.h): capability types and the
 * common-configuration layout.
 */
public final class VirtioPciCap {
    public static final int COMMON_CFG = 1;
    public static final int NOTIFY_CFG = 2;
    public static final int ISR_CFG = 3;
    public static final int DEVICE_CFG = 4;
    public static final int PCI_CFG = 5;

    /** PCI capability ID of vendor-specific capabilities (PCI_CAP_ID_VNDR). */
    public static final int PCI_CAP_ID_VNDR = 0x09;
    /** PCI capability ID of MSI-X. */
    public static final int PCI_CAP_ID_MSIX = 0x11;

    // struct virtio_pci_cap field offsets (cap_vndr 0, cap_next 1, cap_len 2, cfg_type 3, bar 4, id 5, padding, offset 8,
    // length 12); struct virtio_pci_notify_cap adds notify_off_multiplier at 16; struct virtio_pci_cfg_cap adds
    // pci_cfg_data[4] at 16.
    public static final int CAP_CFG_TYPE = 3;
    public static final int CAP_BAR = 4;
    public static final int CAP_ID = 5;
    public static final int CAP_OFFSET = 8;
    public static final int CAP_LENGTH = 12;
    public static final int NOTIFY_OFF_MULTIPLIER = 16;
    public static final int PCI_CFG_DATA = 16;

    // struct virtio_pci_common_cfg offsets
    public static final int DFSELECT = 0;
    public static final int DF = 4;
    public static final int GFSELECT = 8;
    public static final int GF = 12;
    public static final int MSIX_CONFIG = 16;
    public static final int NUM_QUEUES = 18;
    public static final int DEVICE_STATUS = 20;
    public static final int CONFIG_GENERATION = 21;
    public static final int Q_SELECT = 22;
    public static final int Q_SIZE = 24;
    public static final int Q_MSIX = 26;
    public static final int Q_ENABLE = 28;
    public static final int Q_NOFF = 30;
    public static final int Q_DESCLO = 32;
    public static final int Q_DESCHI = 36;
    public static final int Q_AVAILLO = 40;
    public static final int Q_AVAILHI = 44;
    public static final int Q_USEDLO = 48;
    public static final int Q_USEDHI = 52;
    public static final int Q_NDATA = 56;
    public static final int Q_RESET = 58;
    public static final int COMMON_CFG_SIZE = 64;

    /** ISR status bits (read-to-clear). */
    public static final int ISR_QUEUE = 1;
    public static final int ISR_CONFIG = 2;

    public static final int NO_VECTOR = 0xFFFF;

    /**
     * PCI IDs: vendor Red Hat/Qumranet, modern device ID = 0x1040 + virtio device ID (Linux vp_modern_probe:
     * "Modern devices: simply use PCI device id, but start from 0x1040"; QEMU 10 shows 1af4:1057).
     */
    public static final int PCI_VENDOR_ID = 0x1AF4;
    public static final int PCI_DEVICE_ID_BASE = 0x1040;
    /** Subsystem ID QEMU gives every device (QEMU 10 info pci: "sub 1af4:1100"); Linux reads only the vendor. */
    public static final int PCI_SUBSYSTEM_ID_QEMU = 0x1100;

    // MSI-X table entry (PCI 3.0 §6.8.2): 16 bytes
    public static final int MSIX_ENTRY_SIZE = 16;
    public static final int MSIX_ADDR_LO = 0;
    public static final int MSIX_ADDR_HI = 4;
    public static final int MSIX_DATA = 8;
    public static final int MSIX_VECTOR_CTRL = 12;
    public static final int MSIX_CTRL_MASKED = 1;

    private VirtioPciCap() {}
}
