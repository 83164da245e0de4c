package dev.viommu.virtio.transport;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.spi.InterruptSink;
import dev.viommu.virtio.spec.VirtioFeature;
import dev.viommu.virtio.spec.VirtioStatus;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * What virtio-mmio and virtio-pci share (virtio 1.2 §2, §3.1): device status, feature negotiation with
 * FEATURES_OK, the queues, reset, DEVICE_NEEDS_RESET and the decision to raise a used-buffer notification. The
 * subclasses decode their registers and deliver interrupts their way.
 */
public abstract class VirtioTransport implements QueueHost {
    protected final VirtioDevice device;
    protected final Supplier<GuestMemory> memory;
    protected final InterruptSink interrupts;
    protected final Virtqueue[] queues;
    protected final RateLimitedLog guestErrors =
            new RateLimitedLog(LoggerFactory.getLogger(VirtioTransport.class), 20, 1000);

    protected int status;
    protected long driverFeatures;
    protected int deviceFeaturesSel;
    protected int driverFeaturesSel;
    protected int queueSel;
    protected int configGeneration;
    private String deviceError;
    private java.util.function.Consumer<String> onDeviceError = why -> { };

    protected VirtioTransport(final VirtioDevice device, final Supplier<GuestMemory> memory, final InterruptSink interrupts) {
        this.device = device;
        this.memory = memory;
        this.interrupts = interrupts;
        this.queues = new Virtqueue[device.queueCount()];
        for (int q = 0; q < queues.length; q++) queues[q] = new Virtqueue(q, device.queueMaxSize(q));
    }

    // ---- QueueHost ----

    @Override public GuestMemory memory() { return memory.get(); }

    @Override public Virtqueue queue(final int q) { return queues[q]; }

    @Override public long negotiatedFeatures() { return (status & VirtioStatus.FEATURES_OK) != 0 ? driverFeatures : 0; }

    @Override public boolean live() {
        return (status & VirtioStatus.DRIVER_OK) != 0 && (status & VirtioStatus.DEVICE_NEEDS_RESET) == 0;
    }

    @Override public void usedBuffers(final int q) {
        if (queues[q].shouldInterrupt(memory.get())) raiseQueueInterrupt(q);
    }

    @Override public void deviceError(final String why) {
        if ((status & VirtioStatus.DEVICE_NEEDS_RESET) != 0) return;
        deviceError = why;
        guestErrors.warn("virtio device error, DEVICE_NEEDS_RESET: {}", why);
        status |= VirtioStatus.DEVICE_NEEDS_RESET;
        onDeviceError.accept(why);
        // §2.1.2: a device that sets DEVICE_NEEDS_RESET and has DRIVER_OK sends a configuration change notification.
        if ((status & VirtioStatus.DRIVER_OK) != 0) raiseConfigInterrupt();
    }

    /** Told (once per reset) when the device sets DEVICE_NEEDS_RESET, with the reason: for a QMP event. */
    public void onDeviceError(final java.util.function.Consumer<String> listener) { onDeviceError = listener; }

    /** The device changed its configuration space (and so its generation). */
    public void configChanged() {
        configGeneration = (configGeneration + 1) & 0xFF;
        if ((status & VirtioStatus.DRIVER_OK) != 0) raiseConfigInterrupt();
    }

    // ---- transport-specific ----

    protected abstract void raiseQueueInterrupt(int q);

    protected abstract void raiseConfigInterrupt();

    /** Transport reset of interrupt state (InterruptStatus, ISR, lines). */
    protected abstract void resetInterrupts();

    // ---- common register semantics ----

    protected long offeredFeatures() { return device.offeredFeatures(); }

    protected int deviceFeaturesWord(final int sel) {
        return sel == 0 ? (int) offeredFeatures() : sel == 1 ? (int) (offeredFeatures() >>> 32) : 0;
    }

    protected void writeDriverFeaturesWord(final int sel, final int value) {
        // §2.2.2 / 3.1.1: features are fixed once FEATURES_OK is set. The select is a u32: only words 0 and 1 hold
        // offered bits, a write to any other word is ignored.
        if ((status & VirtioStatus.FEATURES_OK) != 0 || Integer.compareUnsigned(sel, 1) > 0) return;
        final long v = Integer.toUnsignedLong(value);
        driverFeatures = sel == 0 ? (driverFeatures & 0xFFFF_FFFF_0000_0000L) | v
                                  : (driverFeatures & 0xFFFF_FFFFL) | (v << 32);
    }

    protected int readStatus() { return status; }

    protected void writeStatus(final int value) {
        final int v = value & 0xFF;
        if (v == 0) { reset(); return; }
        final int old = status;
        int next = (old & VirtioStatus.DEVICE_NEEDS_RESET) | (v & ~VirtioStatus.DEVICE_NEEDS_RESET);
        if ((next & VirtioStatus.FEATURES_OK) != 0 && (old & VirtioStatus.FEATURES_OK) == 0) {
            if (!featuresAcceptable()) next &= ~VirtioStatus.FEATURES_OK;
        }
        if ((next & VirtioStatus.DRIVER_OK) != 0 && (next & VirtioStatus.FEATURES_OK) == 0
                && (old & VirtioStatus.DRIVER_OK) == 0) {
            guestErrors.warn("DRIVER_OK without FEATURES_OK (status 0x{}), ignored", Integer.toHexString(v));
            next &= ~VirtioStatus.DRIVER_OK;
        }
        status = next;
        if ((next & VirtioStatus.DRIVER_OK) != 0 && (old & VirtioStatus.DRIVER_OK) == 0) {
            device.driverOk();
            // Buffers made available before DRIVER_OK are consumed now (§3.1.1 step 8).
            for (int q = 0; q < queues.length; q++) if (queues[q].ready()) notifyQueue(q);
        }
    }

    private boolean featuresAcceptable() {
        final long f = driverFeatures;
        if ((f & ~offeredFeatures()) != 0) {
            guestErrors.warn("driver accepted features 0x{} that were not offered (0x{})", Long.toHexString(f),
                    Long.toHexString(offeredFeatures()));
            return false;
        }
        if (!VirtioFeature.has(f, VirtioFeature.VERSION_1)) {
            guestErrors.warn("driver did not accept VERSION_1 (0x{}): legacy interface not supported", Long.toHexString(f));
            return false;
        }
        return device.acceptFeatures(f);
    }

    /** Enables the selected queue; returns false when its configuration is unusable. */
    protected boolean enableQueue(final int q) {
        final long f = negotiatedFeatures();
        final boolean ok = queues[q].enable(VirtioFeature.has(f, VirtioFeature.RING_EVENT_IDX),
                VirtioFeature.has(f, VirtioFeature.RING_INDIRECT_DESC));
        if (!ok) guestErrors.warn("queue {} enable refused: size, alignment or placement invalid ({})", q, queues[q].size());
        return ok;
    }

    /** A doorbell: from the data plane or a notify-register write. Ignored until DRIVER_OK, or after an error. */
    public void notifyQueue(final int q) {
        if (q < 0 || q >= queues.length) {
            guestErrors.warn("notification for queue {} of {}", q, queues.length);
            return;
        }
        if (!live() || !queues[q].ready()) return;
        device.process(q);
    }

    /** Device reset (status 0 write, or a system reset). */
    public void reset() {
        status = 0;
        driverFeatures = 0;
        deviceFeaturesSel = driverFeaturesSel = queueSel = 0;
        deviceError = null;
        for (Virtqueue q : queues) q.reset();
        resetInterrupts();
        device.deviceReset();
    }

    public int status() { return status; }

    public String deviceErrorReason() { return deviceError; }

    public Map<String, Object> describe() {
        final Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", status);
        m.put("device-features", "0x" + Long.toHexString(offeredFeatures()));
        m.put("driver-features", "0x" + Long.toHexString(driverFeatures));
        m.put("config-generation", configGeneration);
        if (deviceError != null) m.put("device-error", deviceError);
        final List<Map<String, Object>> qs = new java.util.ArrayList<>();
        for (Virtqueue q : queues) {
            final Map<String, Object> qm = new LinkedHashMap<>();
            qm.put("index", q.index());
            qm.put("ready", q.ready());
            qm.put("size", q.size());
            qm.put("desc", "0x" + Long.toHexString(q.descAddr()));
            qm.put("avail", "0x" + Long.toHexString(q.availAddr()));
            qm.put("used", "0x" + Long.toHexString(q.usedAddr()));
            qm.put("last-avail", q.lastAvail());
            qm.put("used-idx", q.usedIdx());
            qm.put("msix-vector", q.msixVector());
            if (q.error() != null) qm.put("error", q.error());
            qs.add(qm);
        }
        m.put("queues", qs);
        m.put("guest-errors", guestErrors.count());
        return m;
    }
}
