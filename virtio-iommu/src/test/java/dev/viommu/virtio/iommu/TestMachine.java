package dev.viommu.virtio.iommu;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.host.NoHostBackend;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.metrics.DeviceMetrics;
import dev.viommu.core.spi.DeviceContext;
import dev.viommu.core.spi.DeviceException;
import dev.viommu.core.spi.Endpoint;
import dev.viommu.core.spi.EventSink;
import dev.viommu.core.spi.InterruptSink;
import dev.viommu.core.spi.Properties;
import dev.viommu.core.spi.PropertyException;
import dev.viommu.core.translate.Translation;
import dev.viommu.core.guest.virtio.GuestAllocator;
import dev.viommu.core.guest.virtio.VirtioMmioGuest;
import dev.viommu.virtio.fixture.DeviceTestDriver;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A machine around a device built here (custom host binding), for device-level tests. */
final class TestMachine implements GuestMachine {
    final GuestMemory memory;
    final VirtioIommuDevice device;
    final List<Interrupt> interrupts = new ArrayList<>();
    final List<Invalidation> invalidations = new ArrayList<>();
    final GuestAllocator alloc = new GuestAllocator(0x10_0000, 0x100_0000);

    /** A machine around a device built by the test (its own context and binding). */
    TestMachine(final VirtioIommuDevice device, final GuestMemory memory) {
        this.memory = memory;
        this.device = device;
        device.translation().addInvalidationListener((s, p, i, z) -> invalidations.add(new Invalidation(s, p, i, z)));
    }

    TestMachine(final Map<String, ?> props, final HostBinding binding) {
        this.memory = GuestMemory.anonymous(0, 64L << 20);
        final InterruptSink irq = new InterruptSink() {
            @Override public void msi(final long a, final int d) { interrupts.add(new Interrupt.Msi(a, d)); }

            @Override public void line(final int l, final boolean level) { interrupts.add(new Interrupt.Line(l, level)); }
        };
        try {
            device = new VirtioIommuDevice("t", "virtio-iommu-device", VirtioIommuDevice.Transport.MMIO,
                    VirtioIommuConfig.from(Properties.parse("virtio-iommu-device", VirtioIommuConfig.properties(), props)),
                    new DeviceContext(() -> memory, new NoHostBackend(), irq, EventSink.NONE, DeviceMetrics.detached("t")), binding);
        } catch (PropertyException e) {
            throw new IllegalArgumentException(e);
        }
        device.translation().addInvalidationListener((s, p, i, z) -> invalidations.add(new Invalidation(s, p, i, z)));
    }

    DeviceTestDriver driver() { return new DeviceTestDriver(this, new VirtioMmioGuest(this, 0), alloc); }

    void add(final Endpoint e) {
        try {
            device.attachEndpoint(e);
        } catch (DeviceException ex) {
            throw new IllegalStateException(ex);
        }
    }

    @Override public GuestMemory memory() { return memory; }

    @Override public long mmioRead(final int r, final long o, final int s) { return device.mmioRegions().get(r).read(o, s); }

    @Override public void mmioWrite(final int r, final long o, final int s, final long v) { device.mmioRegions().get(r).write(o, s, v); }

    @Override public void doorbell(final int q) { device.doorbell(q); }

    @Override public void attachEmulated(final String id, final int sid) { add(Endpoint.emulated(id, sid)); }

    @Override public void detach(final String id) {
        try {
            device.detachEndpoint(id);
        } catch (DeviceException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override public Translated translate(final int sid, final int pasid, final long iova, final int access) {
        final Translation t = new Translation();
        device.translate(sid, pasid, iova, access, t);
        return new Translated(t.ok, t.outputAddress, t.permissions, t.pageSize, t.faultCode);
    }

    /** virtio-iommu has no PRI: every page request is refused. */
    @Override public boolean pageRequest(final int sid, final int pasid, final long a, final int acc, final boolean last, final int g) {
        return false;
    }

    @Override public List<PageResponse> takePageResponses() { return List.of(); }

    /** virtio-iommu does not remap interrupts: MSIs go through unchanged. */
    @Override public Remapped remapMsi(final int sid, final long address, final int data) { return new Remapped(true, address, data, 0); }

    @Override public List<Interrupt> takeInterrupts(final long timeoutMillis) {
        final List<Interrupt> l = new ArrayList<>(interrupts);
        interrupts.clear();
        return l;
    }

    @Override public List<Invalidation> takeInvalidations() {
        final List<Invalidation> l = new ArrayList<>(invalidations);
        invalidations.clear();
        return l;
    }

    @Override public String describe() { return String.valueOf(device.describe()); }

    @Override public void close() { device.close(); }
}
