package dev.viommu.core.guest.virtio;

/**
 * The transport half of a guest virtio driver: Linux's {@code struct virtio_config_ops}, implemented by
 * {@link VirtioMmioGuest} (drivers/virtio/virtio_mmio.c) and {@link VirtioPciGuest} (virtio_pci_modern.c).
 */
public interface VirtioConfigOps {
    /** The virtio device ID the transport found (vm_probe / vp_modern_probe). */
    int deviceId();

    /** get_features. */
    long getFeatures();

    /** finalize_features: writes the driver features. */
    void finalizeFeatures(long features);

    int getStatus();

    void setStatus(int status);

    /** reset: write 0 and wait until the device reads back 0. */
    void reset();

    /** get: reads device-specific configuration space. */
    long readConfig(int offset, int size);

    /** set. */
    void writeConfig(int offset, int size, long value);

    /** The queue's maximum size (QueueNumMax / queue_size). */
    int queueMax(int q);

    /**
     * find_vqs for one queue: programs and enables queue {@code q} (vm_setup_vq / vp_modern setup_vq, including
     * its MSI-X vector). Returns false if the device refused it.
     */
    boolean setupQueue(int q, int size, long desc, long avail, long used);

    /** notify: the queue notification (vm_notify / vp_notify). */
    void notify(int q);

    /**
     * The interrupt handler's first step: which causes an interrupt stands for (bit 0 = used buffers, bit 1 =
     * configuration change), acknowledging it (vm_interrupt / vp_interrupt read-to-clear ISR). {@code msiData} is
     * the MSI data (the vector), or -1 for a wired interrupt. Returns -1 if the interrupt is not this device's.
     */
    int interruptCauses(int msiData);

    /** Whether a used-buffer interrupt with these causes concerns queue {@code q} (vectors are per queue with MSI-X). */
    boolean interruptForQueue(int msiData, int q);

    /** A short name for narration. */
    String name();
}
