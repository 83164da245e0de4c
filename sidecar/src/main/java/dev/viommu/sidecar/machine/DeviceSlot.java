package dev.viommu.sidecar.machine;

import dev.viommu.core.metrics.DeviceMetrics;
import dev.viommu.core.posix.Posix;
import dev.viommu.core.spi.DeviceModel;
import dev.viommu.core.spi.Endpoint;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A device in the machine: the model, its data-plane handle, the lock that serialises every call into it
 * (control commands and data-plane frames arrive on different threads), and the endpoints attached to it with
 * the host descriptors the slot owns for them.
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

    /** Endpoints attached through the control socket, read-only (guarded by {@link #lock}). */
    public Map<String, Endpoint> endpoints() { return Collections.unmodifiableMap(endpoints); }

    /**
     * Records an endpoint the model has accepted. From here the slot owns its host device's descriptor, if it
     * has one, until {@link #detached} or {@link #releaseEndpoints} closes it (Endpoint's ownership rule).
     */
    public void attached(final Endpoint ep) { endpoints.put(ep.id(), ep); }

    /**
     * Forgets an endpoint the model has let go of (its detachEndpoint returned) and closes its host descriptor.
     * The entry leaves the map before the close, so no later path can close that number again.
     */
    public void detached(final String endpointId) {
        final Endpoint ep = endpoints.remove(endpointId);
        if (ep != null) closeHostFd(ep);
    }

    /** Closes every endpoint's host descriptor once the model has been closed (device_del, shutdown). */
    public void releaseEndpoints() {
        final List<Endpoint> all = List.copyOf(endpoints.values());
        endpoints.clear();
        for (Endpoint ep : all) closeHostFd(ep);
    }

    private static void closeHostFd(final Endpoint ep) {
        ep.hostDevice().ifPresent(h -> Posix.closeQuietly(h.fd()));     // -1 (a cdev by path): nothing to close
    }
}
