package dev.viommu.sidecar.machine;

import dev.viommu.core.host.HostBackend;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.metrics.DeviceMetrics;
import dev.viommu.core.metrics.ViommuMetrics;
import dev.viommu.core.spi.DeviceContext;
import dev.viommu.core.spi.DeviceException;
import dev.viommu.core.spi.DeviceModel;
import dev.viommu.core.spi.DeviceRegistry;
import dev.viommu.core.spi.EventSink;
import dev.viommu.core.spi.InterruptSink;
import dev.viommu.core.spi.PropertyException;
import dev.viommu.core.translate.InvalidationListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The VM as the sidecar sees it: guest RAM, the host backend, the vIOMMU devices by id and by data-plane
 * handle, and where their interrupts, invalidation notices and events go. Control commands mutate it from one
 * thread; the data plane reads {@link #byHandle} concurrently.
 */
public final class Machine implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Machine.class);

    /** Where a device's asynchronous output goes: the data plane and the control socket's event stream. */
    public interface Outputs {
        void msi(int handle, long address, int data);

        void line(int handle, int line, boolean level);

        void invalidate(int handle, int sourceId, int pasid, long iova, long size);

        void pageResponse(int handle, int sourceId, int pasid, int groupIndex, int code);

        void event(String name, Map<String, Object> data);
    }

    private final DeviceRegistry registry;
    private final ViommuMetrics metrics;
    private final Outputs outputs;
    private final FdTable fds = new FdTable();
    private volatile GuestMemory memory = GuestMemory.empty();
    private volatile HostBackend host;
    private final Map<String, MemoryBackend> memoryBackends = new LinkedHashMap<>();
    private final Map<String, Object> hostObjects = new LinkedHashMap<>();
    private final Map<String, DeviceSlot> devices = new LinkedHashMap<>();
    private final ConcurrentHashMap<Integer, DeviceSlot> byHandle = new ConcurrentHashMap<>();
    private int nextHandle = 1;

    public Machine(final DeviceRegistry registry, final HostBackend host, final ViommuMetrics metrics, final Outputs outputs) {
        this.registry = registry;
        this.host = host;
        this.metrics = metrics;
        this.outputs = outputs;
    }

    public DeviceRegistry registry() { return registry; }

    public ViommuMetrics metrics() { return metrics; }

    public FdTable fds() { return fds; }

    public GuestMemory memory() { return memory; }

    public HostBackend host() { return host; }

    public void setHost(final HostBackend h) { host = h; }

    public Map<String, Object> hostObjects() { return hostObjects; }

    public Map<String, MemoryBackend> memoryBackends() { return memoryBackends; }

    public void addMemory(final MemoryBackend b) {
        memory = memory.withRegion(b.region());     // throws on overlap before anything is recorded
        memoryBackends.put(b.id(), b);
    }

    public boolean removeMemory(final String id) {
        final MemoryBackend b = memoryBackends.remove(id);
        if (b == null) return false;
        memory = memory.withoutRegion(b.region().name());
        // Every device call runs under its device's lock and reads the memory afresh; once each lock has been
        // free, no call can still hold the old memory, and the mapping can go. (Unmapping under a data-plane
        // thread in the middle of a page walk would fault the JVM, not raise an exception.)
        for (DeviceSlot d : devices.values()) {
            d.lock().lock();
            d.lock().unlock();
        }
        b.close();
        return true;
    }

    public DeviceSlot device(final String id) { return devices.get(id); }

    public DeviceSlot byHandle(final int handle) { return byHandle.get(handle); }

    public Collection<DeviceSlot> devices() { return devices.values(); }

    /** Creates a vIOMMU (device_add). */
    public DeviceSlot addDevice(final String driver, final String id, final Map<String, Object> props)
            throws PropertyException, DeviceException {
        if (devices.containsKey(id)) throw new DeviceException("Duplicate device ID '" + id + "'");
        if (nextHandle > 0xFFFF) throw new DeviceException("no free data-plane handle");
        final int handle = nextHandle;
        final DeviceMetrics dm = metrics.forDevice(id, driver);
        final InterruptSink irq = new InterruptSink() {
            @Override public void msi(final long address, final int data) { outputs.msi(handle, address, data); }

            @Override public void line(final int line, final boolean level) { outputs.line(handle, line, level); }
        };
        final EventSink events = (name, data) -> {
            final Map<String, Object> d = new LinkedHashMap<>();
            d.put("device", id);
            d.putAll(data);
            outputs.event(name, d);
        };
        final DeviceContext ctx = new DeviceContext(this::memory, host, irq, events, dm);
        final DeviceModel model;
        try {
            model = registry.create(driver, id, props, ctx);
        } catch (PropertyException | DeviceException | RuntimeException e) {
            dm.close();
            throw e;
        }
        final InvalidationListener inv = (s, p, iova, size) -> outputs.invalidate(handle, s, p, iova, size);
        model.translation().addInvalidationListener(inv);
        model.pageRequests().ifPresent(pr -> pr.setResponder((src, pasid, group, code) -> outputs.pageResponse(handle, src, pasid, group, code)));
        final DeviceSlot slot = new DeviceSlot(handle, model, dm);
        nextHandle++;
        devices.put(id, slot);
        byHandle.put(handle, slot);
        LOG.info("device_add {} driver={} handle={}", id, driver, handle);
        return slot;
    }

    public boolean removeDevice(final String id) {
        final DeviceSlot s = devices.remove(id);
        if (s == null) return false;
        byHandle.remove(s.handle());
        s.lock().lock();
        try {
            s.markClosed();
            s.model().close();
        } finally {
            // after close: the model, and a backend it bound devices through, have let go of the descriptors
            s.releaseEndpoints();
            s.lock().unlock();
        }
        s.metrics().close();
        outputs.event("DEVICE_DELETED", Map.of("device", id));
        return true;
    }

    @Override
    public void close() {
        for (String id : devices.keySet().toArray(new String[0])) {
            try { removeDevice(id); } catch (RuntimeException e) { LOG.warn("closing device {}", id, e); }
        }
        for (String id : memoryBackends.keySet().toArray(new String[0])) removeMemory(id);
        try { host.close(); } catch (RuntimeException e) { LOG.warn("closing host backend", e); }
        fds.close();
    }
}
