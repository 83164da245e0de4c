package dev.viommu.virtio.transport;

import dev.viommu.core.mem.GuestMemory;

/** What a virtio device sees of its transport while it consumes queues. */
public interface QueueHost {
    GuestMemory memory();

    Virtqueue queue(int q);

    /** The features both sides agreed on (0 before FEATURES_OK). */
    long negotiatedFeatures();

    /** DRIVER_OK is set and DEVICE_NEEDS_RESET is not. */
    boolean live();

    /** Chains were returned on {@code q}: raise a used-buffer notification if the driver wants one. */
    void usedBuffers(int q);

    /** A device error the device cannot recover from without reset: sets DEVICE_NEEDS_RESET (§2.1.2). */
    void deviceError(String why);
}
