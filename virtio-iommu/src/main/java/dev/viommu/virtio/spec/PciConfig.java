package dev.viommu.virtio.spec;

/**
 * PCI configuration space, type-0 header (PCI Local Bus 3.0 §6.1; Linux uapi pci_regs.h names) and the MSI-X
 * capability (§6.8.2). Offsets in bytes.
 */
public final class PciConfig {
    public static final int VENDOR_ID = 0x00;
    public static final int DEVICE_ID = 0x02;
    public static final int COMMAND = 0x04;
    public static final int STATUS = 0x06;
    public static final int REVISION_ID = 0x08;
    /** Class code: prog-if at 0x09, subclass 0x0a, base class 0x0b. */
    public static final int CLASS_PROG = 0x09;
    public static final int CACHE_LINE_SIZE = 0x0c;
    public static final int LATENCY_TIMER = 0x0d;
    public static final int HEADER_TYPE = 0x0e;
    public static final int BAR0 = 0x10;
    public static final int SUBSYSTEM_VENDOR_ID = 0x2c;
    public static final int SUBSYSTEM_ID = 0x2e;
    public static final int CAPABILITIES_POINTER = 0x34;
    public static final int INTERRUPT_LINE = 0x3c;
    public static final int INTERRUPT_PIN = 0x3d;
    /** Where this device's capability list starts (after the 64-byte header). */
    public static final int CAP_START = 0x40;

    /** PCI_COMMAND_IO | MEMORY | MASTER | SERR | INTX_DISABLE: what a driver may write (QEMU's wmask). */
    public static final int COMMAND_WRITABLE = 0x0001 | 0x0002 | 0x0004 | 0x0100 | 0x0400;
    public static final int COMMAND_MEMORY = 0x0002;
    public static final int COMMAND_MASTER = 0x0004;
    public static final int COMMAND_INTX_DISABLE = 0x0400;
    public static final int STATUS_CAP_LIST = 0x0010;

    /** Memory BAR flag bits [3:0]: type 64-bit (bits 2:1 = 10b), prefetchable (bit 3). */
    public static final int BAR_MEM_TYPE_64 = 0x4;
    public static final int BAR_PREFETCH = 0x8;

    /** MSI-X capability: Message Control at +2, Table Offset/BIR at +4, PBA Offset/BIR at +8 (12 bytes). */
    public static final int MSIX_FLAGS = 2;
    public static final int MSIX_TABLE = 4;
    public static final int MSIX_PBA = 8;
    public static final int MSIX_FLAGS_QSIZE = 0x07FF;
    public static final int MSIX_FLAGS_MASKALL = 0x4000;
    public static final int MSIX_FLAGS_ENABLE = 0x8000;

    private PciConfig() {}
}
