package dev.viommu.virtio.spec;

/** Transport and ring feature bits (virtio 1.2 §6; Linux uapi virtio_config.h, virtio_ring.h). */
public final class VirtioFeature {
    /** The driver may use descriptors with VIRTQ_DESC_F_INDIRECT (§2.7.5.3). */
    public static final int RING_INDIRECT_DESC = 28;
    /** used_event / avail_event notification suppression (§2.7.7, §2.7.10). */
    public static final int RING_EVENT_IDX = 29;
    public static final int VERSION_1 = 32;
    /** The device's own memory accesses go through the platform's address translation (§6). */
    public static final int ACCESS_PLATFORM = 33;

    private VirtioFeature() {}

    public static long bit(final int feature) { return 1L << feature; }

    public static boolean has(final long features, final int feature) { return (features & bit(feature)) != 0; }
}
