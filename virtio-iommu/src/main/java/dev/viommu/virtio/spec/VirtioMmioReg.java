package dev.viommu.virtio.spec;

/**
 * virtio-mmio register offsets, version 2 (non-legacy) layout (virtio 1.2 §4.2.2; Linux uapi virtio_mmio.h).
 * The queue registers are banked by QueueSel, so the transport decodes them in a switch rather than a flat
 * register file.
 */
public final class VirtioMmioReg {
    public static final int MAGIC_VALUE = 0x000;          // "virt" = 0x74726976
    public static final int VERSION = 0x004;              // 2
    public static final int DEVICE_ID = 0x008;
    public static final int VENDOR_ID = 0x00c;
    public static final int DEVICE_FEATURES = 0x010;
    public static final int DEVICE_FEATURES_SEL = 0x014;
    public static final int DRIVER_FEATURES = 0x020;
    public static final int DRIVER_FEATURES_SEL = 0x024;
    public static final int QUEUE_SEL = 0x030;
    public static final int QUEUE_NUM_MAX = 0x034;
    public static final int QUEUE_NUM = 0x038;
    public static final int QUEUE_READY = 0x044;
    public static final int QUEUE_NOTIFY = 0x050;
    public static final int INTERRUPT_STATUS = 0x060;
    public static final int INTERRUPT_ACK = 0x064;
    public static final int STATUS = 0x070;
    public static final int QUEUE_DESC_LOW = 0x080;
    public static final int QUEUE_DESC_HIGH = 0x084;
    public static final int QUEUE_AVAIL_LOW = 0x090;     // "QueueDriver"
    public static final int QUEUE_AVAIL_HIGH = 0x094;
    public static final int QUEUE_USED_LOW = 0x0a0;      // "QueueDevice"
    public static final int QUEUE_USED_HIGH = 0x0a4;
    public static final int SHM_SEL = 0x0ac;
    public static final int SHM_LEN_LOW = 0x0b0;
    public static final int SHM_LEN_HIGH = 0x0b4;
    public static final int SHM_BASE_LOW = 0x0b8;
    public static final int SHM_BASE_HIGH = 0x0bc;
    public static final int QUEUE_RESET = 0x0c0;
    public static final int CONFIG_GENERATION = 0x0fc;
    public static final int CONFIG = 0x100;

    public static final int MAGIC = 0x74726976;
    public static final int VERSION_2 = 2;
    /** The vendor ID QEMU and Cloud Hypervisor report ("QEMU" is 0x554D4551). */
    public static final int VENDOR_QEMU = 0x554D4551;

    /** InterruptStatus bits. */
    public static final int INT_VRING = 1;
    public static final int INT_CONFIG = 2;

    private VirtioMmioReg() {}
}
