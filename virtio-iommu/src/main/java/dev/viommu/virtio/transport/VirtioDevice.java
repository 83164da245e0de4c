package dev.viommu.virtio.transport;

/**
 * A virtio device type behind a transport: what the transport asks of it. The transport owns status, feature
 * negotiation, queues and interrupts; the device owns its configuration space and consumes its queues.
 */
public interface VirtioDevice {
    /** The virtio device ID (§5). */
    int deviceId();

    /** Every feature bit the device offers, transport bits (VERSION_1, ring features) included. */
    long offeredFeatures();

    int queueCount();

    int queueMaxSize(int queue);

    /** Bytes of device-specific configuration space. */
    int configSize();

    /** Reads 1, 2, 4 or 8 bytes of configuration space at {@code offset} (in range, checked by the transport). */
    long readConfig(int offset, int size);

    /** A driver write to configuration space; the device ignores writes to read-only fields. */
    void writeConfig(int offset, int size, long value);

    /**
     * The driver set FEATURES_OK with {@code features} (already a subset of the offered ones and with
     * VERSION_1). Returning false leaves FEATURES_OK clear (§2.2.2).
     */
    boolean acceptFeatures(long features);

    /** The driver set DRIVER_OK: queues are live. */
    default void driverOk() { }

    /** Buffers are available on {@code queue} (a notification, or DRIVER_OK). */
    void process(int queue);

    /** A device reset: everything back to the initial state except what the spec says survives. */
    void deviceReset();
}
