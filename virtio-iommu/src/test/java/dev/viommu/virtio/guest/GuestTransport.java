package dev.viommu.virtio.guest;

/**
 * The transport half of a guest virtio driver (Linux's struct virtio_config_ops): virtio_mmio.c or
 * virtio_pci_modern.c. Written against {@link dev.viommu.core.guest.GuestMachine} only.
 */
public interface GuestTransport {
    long getFeatures();

    void finalizeFeatures(long features);

    int getStatus();

    void setStatus(int status);

    void reset();

    long readConfig(int offset, int size);

    void writeConfig(int offset, int size, long value);

    int queueMax(int q);

    /** Programs and enables queue {@code q} (vm_setup_vq / setup_vq). Returns false if the device refused. */
    boolean setupQueue(int q, int size, long desc, long avail, long used);

    /** vm_notify / vp_notify: the queue notification register. */
    void notify(int q);

    /**
     * Reads and acknowledges interrupt causes (vm_interrupt / vp_interrupt): bit 0 = used buffers, bit 1 = config
     * change. For MSI-X, {@code vector} says which vector fired (-1 for a wired interrupt).
     */
    int ackInterrupt(int vector);

    /** The MSI-X vector the driver gave queue {@code q}, or -1 when interrupts are wired. */
    int queueVector(int q);
}
