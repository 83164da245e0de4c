package dev.viommu.virtio.transport;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.spi.InterruptSink;
import dev.viommu.core.spi.MmioRegion;

import java.util.Map;
import java.util.function.Supplier;

import static dev.viommu.virtio.spec.VirtioMmioReg.*;

/**
 * virtio-mmio, version 2 register layout (virtio 1.2 §4.2.2), as one MMIO region of 0x200 bytes. Registers
 * below {@link dev.viommu.virtio.spec.VirtioMmioReg#CONFIG} take aligned 32-bit accesses only (§4.2.2.2);
 * other widths read 0 and are ignored. Interrupts use wired line 0, level-triggered: asserted while
 * InterruptStatus is non-zero, deasserted when InterruptACK clears it.
 */
public final class VirtioMmioTransport extends VirtioTransport implements MmioRegion {
    public static final long REGION_SIZE = 0x200;
    /** The wired interrupt line index used with {@link InterruptSink#line}. */
    public static final int IRQ_LINE = 0;

    private int interruptStatus;
    private boolean lineHigh;

    public VirtioMmioTransport(final VirtioDevice device, final Supplier<GuestMemory> memory, final InterruptSink interrupts) {
        super(device, memory, interrupts);
    }

    @Override public String name() { return "virtio-mmio"; }

    @Override public long size() { return REGION_SIZE; }

    @Override
    public long read(final long offset, final int size) {
        if (offset >= CONFIG) {
            final long o = offset - CONFIG;
            if (o + size > device.configSize()) return 0;
            return device.readConfig((int) o, size);
        }
        if (size != 4 || (offset & 3) != 0) {
            guestErrors.warn("virtio-mmio read of size {} at 0x{} ignored", size, Long.toHexString(offset));
            return 0;
        }
        final Virtqueue q = selected();
        final int v = switch ((int) offset) {
            case MAGIC_VALUE -> MAGIC;
            case VERSION -> VERSION_2;
            case DEVICE_ID -> device.deviceId();
            case VENDOR_ID -> VENDOR_QEMU;
            case DEVICE_FEATURES -> deviceFeaturesWord(deviceFeaturesSel);
            case QUEUE_NUM_MAX -> q == null ? 0 : q.maxSize();
            case QUEUE_READY -> q != null && q.ready() ? 1 : 0;
            case INTERRUPT_STATUS -> interruptStatus;
            case STATUS -> readStatus();
            case QUEUE_DESC_LOW -> q == null ? 0 : (int) q.descAddr();
            case QUEUE_DESC_HIGH -> q == null ? 0 : (int) (q.descAddr() >>> 32);
            case QUEUE_AVAIL_LOW -> q == null ? 0 : (int) q.availAddr();
            case QUEUE_AVAIL_HIGH -> q == null ? 0 : (int) (q.availAddr() >>> 32);
            case QUEUE_USED_LOW -> q == null ? 0 : (int) q.usedAddr();
            case QUEUE_USED_HIGH -> q == null ? 0 : (int) (q.usedAddr() >>> 32);
            // No shared memory regions: a length of all ones says "no such region" (§4.2.2.1).
            case SHM_LEN_LOW, SHM_LEN_HIGH, SHM_BASE_LOW, SHM_BASE_HIGH -> -1;
            case CONFIG_GENERATION -> configGeneration;
            default -> 0;
        };
        return Integer.toUnsignedLong(v);
    }

    @Override
    public void write(final long offset, final int size, final long value) {
        if (offset >= CONFIG) {
            final long o = offset - CONFIG;
            if (o + size <= device.configSize()) device.writeConfig((int) o, size, value);
            return;
        }
        if (size != 4 || (offset & 3) != 0) {
            guestErrors.warn("virtio-mmio write of size {} at 0x{} ignored", size, Long.toHexString(offset));
            return;
        }
        final int v = (int) value;
        final Virtqueue q = selected();
        switch ((int) offset) {
            case DEVICE_FEATURES_SEL -> deviceFeaturesSel = v;
            case DRIVER_FEATURES -> writeDriverFeaturesWord(driverFeaturesSel, v);
            case DRIVER_FEATURES_SEL -> driverFeaturesSel = v;
            case QUEUE_SEL -> queueSel = v;
            case QUEUE_NUM -> { if (q != null) q.setSize(v); }
            case QUEUE_READY -> {
                if (q == null) break;
                if ((v & 1) != 0 && !q.ready()) enableQueue(queueSel);
                // Writing 0 to an enabled queue is not allowed without VIRTIO_F_RING_RESET (not offered): ignored.
            }
            case QUEUE_NOTIFY -> notifyQueue(v & 0xFFFF);   // the low 16 bits are the queue index (§4.2.2)
            case INTERRUPT_ACK -> {
                interruptStatus &= ~v;
                updateLine();
            }
            case STATUS -> writeStatus(v);
            case QUEUE_DESC_LOW -> { if (q != null) q.setDescLow(v); }
            case QUEUE_DESC_HIGH -> { if (q != null) q.setDescHigh(v); }
            case QUEUE_AVAIL_LOW -> { if (q != null) q.setAvailLow(v); }
            case QUEUE_AVAIL_HIGH -> { if (q != null) q.setAvailHigh(v); }
            case QUEUE_USED_LOW -> { if (q != null) q.setUsedLow(v); }
            case QUEUE_USED_HIGH -> { if (q != null) q.setUsedHigh(v); }
            default -> guestErrors.warn("virtio-mmio write to read-only or reserved 0x{} (value 0x{})",
                    Long.toHexString(offset), Integer.toHexString(v));
        }
    }

    /** The queue QueueSel names, or null: QueueSel is a u32, so 0x8000_0000 and up select no queue either. */
    private Virtqueue selected() { return Integer.compareUnsigned(queueSel, queues.length) < 0 ? queues[queueSel] : null; }

    @Override
    protected void raiseQueueInterrupt(final int q) {
        interruptStatus |= INT_VRING;
        updateLine();
    }

    @Override
    protected void raiseConfigInterrupt() {
        interruptStatus |= INT_CONFIG;
        updateLine();
    }

    @Override
    protected void resetInterrupts() {
        interruptStatus = 0;
        updateLine();
    }

    private void updateLine() {
        final boolean want = interruptStatus != 0;
        if (want != lineHigh) {
            lineHigh = want;
            interrupts.line(IRQ_LINE, want);
        }
    }

    public int interruptStatus() { return interruptStatus; }

    @Override
    public Map<String, Object> describe() {
        final Map<String, Object> m = super.describe();
        m.put("transport", "virtio-mmio");
        m.put("interrupt-status", interruptStatus);
        m.put("irq-line", IRQ_LINE);
        return m;
    }
}
