package dev.viommu.core.guest;

import dev.viommu.core.host.HostBackend;
import dev.viommu.core.host.NoHostBackend;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.metrics.DeviceMetrics;
import dev.viommu.core.spi.DeviceContext;
import dev.viommu.core.spi.DeviceException;
import dev.viommu.core.spi.DeviceModel;
import dev.viommu.core.spi.DeviceRegistry;
import dev.viommu.core.spi.Endpoint;
import dev.viommu.core.spi.EventSink;
import dev.viommu.core.spi.InterruptSink;
import dev.viommu.core.spi.MmioRegion;
import dev.viommu.core.spi.PropertyException;
import dev.viommu.core.translate.Translation;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A {@link GuestMachine} that calls a device model in this process: for fast tests of devices and drivers. */
public final class DirectMachine implements GuestMachine {
    private final GuestMemory memory;
    private final DeviceModel device;
    private final List<Interrupt> interrupts = new ArrayList<>();
    private final List<Invalidation> invalidations = new ArrayList<>();
    private final List<Map.Entry<String, Map<String, Object>>> events = new ArrayList<>();
    private final Translation scratch = new Translation();
    private final List<PageResponse> pageResponses = new ArrayList<>();

    /** Creates the device by driver name with the given properties, over fresh RAM at GPA 0 of {@code ramSize}. */
    public DirectMachine(final String driver, final Map<String, ?> properties, final long ramSize) {
        this(driver, properties, GuestMemory.anonymous(0, ramSize), new NoHostBackend());
    }

    public DirectMachine(final String driver, final Map<String, ?> properties, final GuestMemory memory, final HostBackend host) {
        this.memory = memory;
        final InterruptSink irq = new InterruptSink() {
            @Override public void msi(final long address, final int data) {
                synchronized (interrupts) { interrupts.add(new Interrupt.Msi(address, data)); }
            }

            @Override public void line(final int line, final boolean level) {
                synchronized (interrupts) { interrupts.add(new Interrupt.Line(line, level)); }
            }
        };
        final EventSink ev = (name, data) -> { synchronized (events) { events.add(Map.entry(name, data)); } };
        final DeviceContext ctx = new DeviceContext(() -> memory, host, irq, ev, DeviceMetrics.detached(driver));
        try {
            this.device = DeviceRegistry.load().create(driver, "viommu0", properties, ctx);
        } catch (PropertyException | DeviceException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        device.translation().addInvalidationListener((s, p, i, z) -> {
            synchronized (invalidations) { invalidations.add(new Invalidation(s, p, i, z)); }
        });
        device.pageRequests().ifPresent(pr -> pr.setResponder((s, p, g, c) -> {
            synchronized (pageResponses) { pageResponses.add(new PageResponse(s, p, g, c)); }
        }));
    }

    public DeviceModel device() { return device; }

    /** QMP-style events the device emitted. */
    public List<Map.Entry<String, Map<String, Object>>> events() { return events; }

    @Override public GuestMemory memory() { return memory; }

    private MmioRegion region(final int r) { return device.mmioRegions().get(r); }

    @Override public long mmioRead(final int region, final long offset, final int size) {
        if (region == dev.viommu.core.spi.PciFunction.CONFIG_REGION) {
            return device.pci().orElseThrow(() -> new IllegalArgumentException("not a PCI function")).configRead((int) offset, size);
        }
        return region(region).read(offset, size);
    }

    @Override public void mmioWrite(final int region, final long offset, final int size, final long value) {
        if (region == dev.viommu.core.spi.PciFunction.CONFIG_REGION) {
            device.pci().orElseThrow(() -> new IllegalArgumentException("not a PCI function")).configWrite((int) offset, size, value);
            return;
        }
        region(region).write(offset, size, value);
    }

    @Override public void doorbell(final int queue) { device.doorbell(queue); }

    @Override public void attachEmulated(final String endpointId, final int sourceId) {
        try {
            device.attachEndpoint(Endpoint.emulated(endpointId, sourceId));
        } catch (DeviceException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    @Override public void detach(final String endpointId) {
        try {
            device.detachEndpoint(endpointId);
        } catch (DeviceException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    @Override public Translated translate(final int sourceId, final int pasid, final long iova, final int access) {
        final Translation t = scratch;
        device.translation().translate(sourceId, pasid, iova, access, t);
        return new Translated(t.ok, t.outputAddress, t.permissions, t.pageSize, t.faultCode);
    }

    @Override public boolean pageRequest(final int sourceId, final int pasid, final long address, final int access,
                                         final boolean last, final int groupIndex) {
        return device.pageRequests().map(pr -> pr.pageRequest(sourceId, pasid, address, access, last, groupIndex)).orElse(false);
    }

    @Override public List<PageResponse> takePageResponses() {
        synchronized (pageResponses) {
            final List<PageResponse> l = new ArrayList<>(pageResponses);
            pageResponses.clear();
            return l;
        }
    }

    @Override public Remapped remapMsi(final int sourceId, final long address, final int data) {
        return device.interruptRemapper().map(r -> {
            final dev.viommu.core.spi.InterruptRemapper.Result res = r.remap(sourceId, address, data, new dev.viommu.core.spi.InterruptRemapper.Result());
            return new Remapped(res.delivered, res.address, res.data, res.faultReason);
        }).orElse(new Remapped(true, address, data, 0));
    }

    @Override public List<Interrupt> takeInterrupts(final long timeoutMillis) {
        synchronized (interrupts) {
            final List<Interrupt> l = new ArrayList<>(interrupts);
            interrupts.clear();
            return l;
        }
    }

    @Override public List<Invalidation> takeInvalidations() {
        synchronized (invalidations) {
            final List<Invalidation> l = new ArrayList<>(invalidations);
            invalidations.clear();
            return l;
        }
    }

    @Override public String describe() { return String.valueOf(device.describe()); }

    @Override public void close() { device.close(); }
}
