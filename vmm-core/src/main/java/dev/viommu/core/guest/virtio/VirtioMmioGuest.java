package dev.viommu.core.guest.virtio;

import dev.viommu.core.guest.GuestMachine;

/**
 * Linux drivers/virtio/virtio_mmio.c, version 2 register layout only, over MMIO region {@code region} of the
 * machine (where the platform description, DT or ACPI, says the device sits). Interrupts: one wired line.
 */
public final class VirtioMmioGuest implements VirtioConfigOps {
    // virtio 1.2 §4.2.2 register offsets (uapi virtio_mmio.h)
    static final int MAGIC_VALUE = 0x000, VERSION = 0x004, DEVICE_ID = 0x008, VENDOR_ID = 0x00c,
            DEVICE_FEATURES = 0x010, DEVICE_FEATURES_SEL = 0x014, DRIVER_FEATURES = 0x020, DRIVER_FEATURES_SEL = 0x024,
            QUEUE_SEL = 0x030, QUEUE_NUM_MAX = 0x034, QUEUE_NUM = 0x038, QUEUE_READY = 0x044, QUEUE_NOTIFY = 0x050,
            INTERRUPT_STATUS = 0x060, INTERRUPT_ACK = 0x064, STATUS = 0x070, QUEUE_DESC_LOW = 0x080,
            QUEUE_DESC_HIGH = 0x084, QUEUE_AVAIL_LOW = 0x090, QUEUE_AVAIL_HIGH = 0x094, QUEUE_USED_LOW = 0x0a0,
            QUEUE_USED_HIGH = 0x0a4, CONFIG = 0x100;
    static final int MAGIC = 0x74726976;        // "virt"

    private final GuestMachine m;
    private final int region;
    private int deviceId;
    private int vendorId;

    public VirtioMmioGuest(final GuestMachine m, final int region) {
        this.m = m;
        this.region = region;
    }

    private int r32(final int off) { return (int) m.mmioRead(region, off, 4); }

    private void w32(final int off, final int v) { m.mmioWrite(region, off, 4, Integer.toUnsignedLong(v)); }

    /**
     * virtio_mmio_probe (vm_probe): the magic value, version 2 (version 1 is the legacy interface, not driven
     * here), a non-zero device ID (0 is a placeholder with no device), the vendor ID.
     */
    public void probe() {
        final int magic = r32(MAGIC_VALUE);
        if (magic != MAGIC) throw new IllegalStateException("wrong magic value 0x" + Integer.toHexString(magic));
        final int version = r32(VERSION);
        if (version != 2) throw new IllegalStateException("virtio-mmio version " + version + " not supported");
        deviceId = r32(DEVICE_ID);
        if (deviceId == 0) throw new IllegalStateException("placeholder device (ID 0)");
        vendorId = r32(VENDOR_ID);
    }

    @Override public int deviceId() { return deviceId; }

    public int vendorId() { return vendorId; }

    @Override public String name() { return "virtio-mmio"; }

    @Override
    public long getFeatures() {                      // vm_get_features
        w32(DEVICE_FEATURES_SEL, 1);
        long f = Integer.toUnsignedLong(r32(DEVICE_FEATURES)) << 32;
        w32(DEVICE_FEATURES_SEL, 0);
        return f | Integer.toUnsignedLong(r32(DEVICE_FEATURES));
    }

    @Override
    public void finalizeFeatures(final long f) {     // vm_finalize_features
        w32(DRIVER_FEATURES_SEL, 1);
        w32(DRIVER_FEATURES, (int) (f >>> 32));
        w32(DRIVER_FEATURES_SEL, 0);
        w32(DRIVER_FEATURES, (int) f);
    }

    @Override public int getStatus() { return r32(STATUS) & 0xFF; }          // vm_get_status

    @Override public void setStatus(final int s) { w32(STATUS, s); }         // vm_set_status

    @Override
    public void reset() {                           // vm_reset: 0 resets the device
        w32(STATUS, 0);
    }

    @Override public long readConfig(final int off, final int size) { return m.mmioRead(region, CONFIG + off, size); }   // vm_get

    @Override public void writeConfig(final int off, final int size, final long v) { m.mmioWrite(region, CONFIG + off, size, v); }

    @Override
    public int queueMax(final int q) {
        w32(QUEUE_SEL, q);
        return r32(QUEUE_NUM_MAX);
    }

    @Override
    public boolean setupQueue(final int q, final int size, final long desc, final long avail, final long used) {   // vm_setup_vq
        w32(QUEUE_SEL, q);
        if (r32(QUEUE_READY) != 0) return false;     // "Queue already set up"
        w32(QUEUE_NUM, size);
        w32(QUEUE_DESC_LOW, (int) desc);
        w32(QUEUE_DESC_HIGH, (int) (desc >>> 32));
        w32(QUEUE_AVAIL_LOW, (int) avail);
        w32(QUEUE_AVAIL_HIGH, (int) (avail >>> 32));
        w32(QUEUE_USED_LOW, (int) used);
        w32(QUEUE_USED_HIGH, (int) (used >>> 32));
        w32(QUEUE_READY, 1);
        return r32(QUEUE_READY) == 1;
    }

    @Override public void notify(final int q) { w32(QUEUE_NOTIFY, q); }     // vm_notify

    @Override
    public int interruptCauses(final int msiData) {  // vm_interrupt: read and acknowledge InterruptStatus
        if (msiData >= 0) return -1;
        final int s = r32(INTERRUPT_STATUS);
        w32(INTERRUPT_ACK, s);
        return s;
    }

    @Override public boolean interruptForQueue(final int msiData, final int q) { return true; }   // one line for all vqs
}
