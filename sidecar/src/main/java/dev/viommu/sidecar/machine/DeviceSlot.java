package dev.viommu.sidecar.machine;

import dev.viommu.core.metrics.DeviceMetrics;
import dev.viommu.core.spi.DeviceModel;
import dev.viommu.core.spi.Endpoint;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A device in the machine: the model, its data-plane handle, and the lock that serialises every call into it
 * (control commands and data-plane frames arrive on different threads).
 */
public final class DeviceSlot {
    private final int handle;
    private final DeviceModel model;
    private final DeviceMetrics metrics;
    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, Endpoint> endpoints = new LinkedHashMap<>();
    private boolean closed;     // guarded by lock

    public DeviceSlot(final int handle, final DeviceModel model, final DeviceMetrics metrics) {
        this.handle = handle;
        this.model = model;
        this.metrics = metrics;
    }

    public int handle() { return handle; }

    public DeviceModel model() { return model; }

    public DeviceMetrics metrics() { return metrics; }

    public ReentrantLock lock() { return lock; }

    /**
     * Takes the lock if the device is still in the machine; false (lock not held) once it has been removed. A
     * data-plane frame that looked the device up just before device_del must not call into the closed model.
     */
    public boolean enter() {
        lock.lock();
        if (!closed) return true;
        lock.unlock();
        return false;
    }

    /** Marks the device removed; the caller holds the lock. */
    public void markClosed() { closed = true; }

    /** Endpoints attached through the control socket (guarded by {@link #lock}). */
    public Map<String, Endpoint> endpoints() { return endpoints; }
}
