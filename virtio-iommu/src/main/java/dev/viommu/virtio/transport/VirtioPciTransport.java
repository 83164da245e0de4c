package dev.viommu.virtio.transport;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.spi.InterruptSink;
import dev.viommu.core.spi.MmioRegion;
import dev.viommu.virtio.spec.VirtioStatus;

import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import static dev.viommu.virtio.spec.VirtioPciCap.*;

/**
 * virtio-pci modern (virtio 1.2 §4.1) as two MMIO regions: region 0 backs BAR 4 (common configuration, ISR,
 * device configuration, notifications at the offsets of {@link PciLayout}); region 1 backs BAR 1 (MSI-X table
 * and PBA). Configuration space is {@link #config()} ({@link dev.viommu.core.spi.PciFunction}, data-plane region
 * 0xFF): the guest finds the capabilities by walking it, and its writes to MSI-X Message Control (Enable,
 * Function Mask) and to the Command register's INTx Disable take effect here.
 * <p>
 * Interrupts: MSI-X when Message Control has Enable set, else INTx (line 0) with the ISR, as PCI requires.
 */
public final class VirtioPciTransport extends VirtioTransport {
    public static final int INTX_LINE = 0;

    private final PciLayout layout;
    private final int vectors;
    private final long[] msixAddr;
    private final int[] msixData;
    private final boolean[] msixMasked;
    private final boolean[] msixPending;
    private final ModernBar modernBar = new ModernBar();
    private final MsixBar msixBar = new MsixBar();

    private int msixConfigVector = NO_VECTOR;
    private int isr;
    private boolean intxHigh;
    private boolean msixEnabled;
    private boolean functionMask;
    private boolean intxDisabled;
    private final PciConfigSpace config;

    public VirtioPciTransport(final VirtioDevice device, final Supplier<GuestMemory> memory, final InterruptSink interrupts) {
        super(device, memory, interrupts);
        this.vectors = queues.length + 1;
        this.layout = PciLayout.of(device.deviceId(), queues.length, device.configSize(), vectors);
        msixAddr = new long[vectors];
        msixData = new int[vectors];
        msixMasked = new boolean[vectors];
        msixPending = new boolean[vectors];
        resetMsixTable();
        config = new PciConfigSpace(layout, regions(), new PciConfigSpace.Listener() {
            @Override public void msixControl(final boolean enable, final boolean mask) { setMsixControl(enable, mask); }

            @Override public void intxDisable(final boolean disabled) { setIntxDisabled(disabled); }
        }, guestErrors);
    }

    /** PCI configuration space (the hypervisor forwards the guest's config accesses here). */
    public PciConfigSpace config() { return config; }

    /** The regions, in data-plane order: [0] = BAR 4 (virtio structures), [1] = BAR 1 (MSI-X). */
    public List<MmioRegion> regions() { return List.of(modernBar, msixBar); }

    public PciLayout layout() { return layout; }

    /** The capability list for configuration space (also in {@link #layout()}). */
    public List<PciCapability> capabilities() { return layout.capabilities(); }

    /** The guest wrote MSI-X Message Control (Enable bit 15, Function Mask bit 14; PCI 3.0 §6.8.2.3). */
    private void setMsixControl(final boolean enable, final boolean mask) {
        final boolean was = msixEnabled;
        msixEnabled = enable;
        functionMask = mask;
        if (enable && !was && intxHigh) {        // leaving INTx: the line must not stay asserted
            intxHigh = false;
            interrupts.line(INTX_LINE, false);
        }
        if (enable && !mask) for (int v = 0; v < vectors; v++) firePending(v);
    }

    /** Command.INTx Disable: the function must not assert INTx (PCI 3.0 §6.2.2); the ISR keeps its bits. */
    private void setIntxDisabled(final boolean disabled) {
        intxDisabled = disabled;
        if (disabled && intxHigh) {
            intxHigh = false;
            interrupts.line(INTX_LINE, false);
        } else if (!disabled && isr != 0 && !msixEnabled && !intxHigh) {
            intxHigh = true;
            interrupts.line(INTX_LINE, true);
        }
    }

    private boolean msixActive() { return msixEnabled; }

    private void resetMsixTable() {
        for (int v = 0; v < vectors; v++) {
            msixAddr[v] = 0;
            msixData[v] = 0;
            msixMasked[v] = true;       // PCI: entries reset masked
            msixPending[v] = false;
        }
    }

    // ---- interrupts ----

    @Override
    protected void raiseQueueInterrupt(final int q) {
        if (msixActive()) deliverMsix(queues[q].msixVector());
        else raiseIsr(ISR_QUEUE);
    }

    @Override
    protected void raiseConfigInterrupt() {
        if (msixActive()) deliverMsix(msixConfigVector);
        else raiseIsr(ISR_CONFIG);
    }

    private void raiseIsr(final int bit) {
        isr |= bit;
        if (!intxHigh && !intxDisabled) {
            intxHigh = true;
            interrupts.line(INTX_LINE, true);
        }
    }

    private void deliverMsix(final int vector) {
        if (vector == NO_VECTOR || vector >= vectors) return;     // no vector: no interrupt (§4.1.5.1.2.1)
        if (functionMask || msixMasked[vector]) {
            msixPending[vector] = true;
            return;
        }
        interrupts.msi(msixAddr[vector], msixData[vector]);
    }

    private void firePending(final int v) {
        if (msixPending[v] && !msixMasked[v] && !functionMask) {
            msixPending[v] = false;
            interrupts.msi(msixAddr[v], msixData[v]);
        }
    }

    @Override
    protected void resetInterrupts() {
        isr = 0;
        if (intxHigh) {
            intxHigh = false;
            interrupts.line(INTX_LINE, false);
        }
        msixConfigVector = NO_VECTOR;
        // The MSI-X table belongs to PCI function state, not virtio state: a virtio reset keeps it (QEMU does too);
        // pending bits are dropped with the interrupts they stood for.
        for (int v = 0; v < vectors; v++) msixPending[v] = false;
    }

    /** A PCI function-level or system reset: virtio reset plus the MSI-X table. */
    public void functionReset() {
        reset();
        resetMsixTable();
        config.reset();
    }

    // ---- common configuration ----

    /** Width of the common-config field that starts at {@code off}, or 0 when no field starts there. */
    private static int fieldWidth(final int off) {
        return switch (off) {
            case DFSELECT, DF, GFSELECT, GF, Q_DESCLO, Q_DESCHI, Q_AVAILLO, Q_AVAILHI, Q_USEDLO, Q_USEDHI -> 4;
            case MSIX_CONFIG, NUM_QUEUES, Q_SELECT, Q_SIZE, Q_MSIX, Q_ENABLE, Q_NOFF, Q_NDATA, Q_RESET -> 2;
            case DEVICE_STATUS, CONFIG_GENERATION -> 1;
            default -> 0;
        };
    }

    private static int fieldStart(final int off) {
        for (int s = off; s >= 0 && s > off - 4; s--) {
            final int w = fieldWidth(s);
            if (w != 0 && off < s + w) return s;
        }
        return -1;
    }

    private Virtqueue selected() { return queueSel < queues.length ? queues[queueSel] : null; }

    private long commonField(final int f) {
        final Virtqueue q = selected();
        return switch (f) {
            case DFSELECT -> Integer.toUnsignedLong(deviceFeaturesSel);
            case DF -> Integer.toUnsignedLong(deviceFeaturesWord(deviceFeaturesSel));
            case GFSELECT -> Integer.toUnsignedLong(driverFeaturesSel);
            case GF -> driverFeaturesSel == 0 ? driverFeatures & 0xFFFF_FFFFL
                     : driverFeaturesSel == 1 ? driverFeatures >>> 32 : 0;
            case MSIX_CONFIG -> msixConfigVector;
            case NUM_QUEUES -> queues.length;
            case DEVICE_STATUS -> readStatus();
            case CONFIG_GENERATION -> configGeneration;
            case Q_SELECT -> queueSel;
            case Q_SIZE -> q == null ? 0 : q.size();
            case Q_MSIX -> q == null ? NO_VECTOR : q.msixVector();
            case Q_ENABLE -> q != null && q.ready() ? 1 : 0;
            case Q_NOFF -> q == null ? 0 : q.index();
            case Q_DESCLO -> q == null ? 0 : q.descAddr() & 0xFFFF_FFFFL;
            case Q_DESCHI -> q == null ? 0 : q.descAddr() >>> 32;
            case Q_AVAILLO -> q == null ? 0 : q.availAddr() & 0xFFFF_FFFFL;
            case Q_AVAILHI -> q == null ? 0 : q.availAddr() >>> 32;
            case Q_USEDLO -> q == null ? 0 : q.usedAddr() & 0xFFFF_FFFFL;
            case Q_USEDHI -> q == null ? 0 : q.usedAddr() >>> 32;
            default -> 0;
        };
    }

    private long readCommon(final int off, final int size) {
        long v = 0;
        for (int i = 0; i < size; i++) {
            final int o = off + i;
            if (o >= COMMON_CFG_SIZE) break;
            final int s = fieldStart(o);
            if (s < 0) continue;
            v |= ((commonField(s) >>> (8 * (o - s))) & 0xFF) << (8 * i);
        }
        return v;
    }

    private void writeCommon(final int off, final int size, final long value) {
        if (size == 8 && (off == Q_DESCLO || off == Q_AVAILLO || off == Q_USEDLO)) {
            writeCommon(off, 4, value & 0xFFFF_FFFFL);
            writeCommon(off + 4, 4, value >>> 32);
            return;
        }
        if (fieldWidth(off) != size) {
            guestErrors.warn("virtio-pci common cfg write of size {} at 0x{} ignored", size, Integer.toHexString(off));
            return;
        }
        final int v = (int) value;
        final Virtqueue q = selected();
        switch (off) {
            case DFSELECT -> deviceFeaturesSel = v;
            case GFSELECT -> driverFeaturesSel = v;
            case GF -> writeDriverFeaturesWord(driverFeaturesSel, v);
            case MSIX_CONFIG -> msixConfigVector = acceptVector(v & 0xFFFF);
            case DEVICE_STATUS -> writeStatus(v & 0xFF);
            case Q_SELECT -> queueSel = v & 0xFFFF;
            case Q_SIZE -> { if (q != null) q.setSize(v & 0xFFFF); }
            case Q_MSIX -> { if (q != null) q.setMsixVector(acceptVector(v & 0xFFFF)); }
            case Q_ENABLE -> {
                if (q != null && (v & 1) != 0 && !q.ready()) enableQueue(queueSel);
            }
            case Q_DESCLO -> { if (q != null) q.setDescLow(v); }
            case Q_DESCHI -> { if (q != null) q.setDescHigh(v); }
            case Q_AVAILLO -> { if (q != null) q.setAvailLow(v); }
            case Q_AVAILHI -> { if (q != null) q.setAvailHigh(v); }
            case Q_USEDLO -> { if (q != null) q.setUsedLow(v); }
            case Q_USEDHI -> { if (q != null) q.setUsedHigh(v); }
            default -> guestErrors.warn("virtio-pci write to read-only common cfg field 0x{} (0x{})",
                    Integer.toHexString(off), Integer.toHexString(v));
        }
    }

    /** A vector the device cannot use reads back as NO_VECTOR (§4.1.5.1.2). */
    private int acceptVector(final int v) { return v < vectors ? v : NO_VECTOR; }

    private final class ModernBar implements MmioRegion {
        @Override public String name() { return "virtio-pci-bar" + PciLayout.MODERN_BAR; }

        @Override public long size() { return PciLayout.MODERN_BAR_SIZE; }

        @Override
        public long read(final long offset, final int size) {
            if (offset < PciLayout.ISR_OFFSET) return readCommon((int) offset, size);
            if (offset < PciLayout.DEVICE_OFFSET) {
                if (offset != PciLayout.ISR_OFFSET) return 0;
                // §4.1.4.5: reading the ISR clears it and deasserts INTx.
                final int v = isr;
                isr = 0;
                if (intxHigh) {
                    intxHigh = false;
                    interrupts.line(INTX_LINE, false);
                }
                return v;
            }
            if (offset < PciLayout.NOTIFY_OFFSET) {
                final long o = offset - PciLayout.DEVICE_OFFSET;
                return o + size <= device.configSize() ? device.readConfig((int) o, size) : 0;
            }
            return 0;
        }

        @Override
        public void write(final long offset, final int size, final long value) {
            if (offset < PciLayout.ISR_OFFSET) { writeCommon((int) offset, size, value); return; }
            if (offset < PciLayout.DEVICE_OFFSET) return;      // ISR is read-only
            if (offset < PciLayout.NOTIFY_OFFSET) {
                final long o = offset - PciLayout.DEVICE_OFFSET;
                if (o + size <= device.configSize()) device.writeConfig((int) o, size, value);
                return;
            }
            final long o = offset - PciLayout.NOTIFY_OFFSET;
            // queue_notify_off = queue index, so the queue is the offset over the multiplier (§4.1.4.4).
            if (o % PciLayout.NOTIFY_OFF_MULTIPLIER != 0) {
                guestErrors.warn("virtio-pci notify at unaligned offset 0x{} (size {})", Long.toHexString(o), size);
                return;
            }
            notifyQueue((int) (o / PciLayout.NOTIFY_OFF_MULTIPLIER));
        }
    }

    private final class MsixBar implements MmioRegion {
        @Override public String name() { return "virtio-pci-msix"; }

        @Override public long size() { return PciLayout.MSIX_BAR_SIZE; }

        @Override
        public long read(final long offset, final int size) {
            if (offset >= PciLayout.MSIX_PBA_OFFSET) {
                final long bit0 = (offset - PciLayout.MSIX_PBA_OFFSET) * 8;
                long v = 0;
                for (int i = 0; i < size * 8; i++) {
                    final long vec = bit0 + i;
                    if (vec < vectors && msixPending[(int) vec]) v |= 1L << i;
                }
                return v;
            }
            long v = 0;
            for (int i = 0; i < size; i += 4) v |= Integer.toUnsignedLong(readDword(offset + i)) << (8 * i);
            return size < 4 ? (v >>> (8 * (offset & 3))) & ((1L << (8 * size)) - 1) : v;
        }

        private int readDword(final long off) {
            final long o = off & ~3L;
            final int vec = (int) (o / MSIX_ENTRY_SIZE);
            if (vec >= vectors) return 0;
            return switch ((int) (o % MSIX_ENTRY_SIZE)) {
                case MSIX_ADDR_LO -> (int) msixAddr[vec];
                case MSIX_ADDR_HI -> (int) (msixAddr[vec] >>> 32);
                case MSIX_DATA -> msixData[vec];
                default -> msixMasked[vec] ? MSIX_CTRL_MASKED : 0;
            };
        }

        @Override
        public void write(final long offset, final int size, final long value) {
            if (offset >= PciLayout.MSIX_PBA_OFFSET) return;    // PBA is read-only
            if ((size != 4 && size != 8) || (offset & 3) != 0) {
                guestErrors.warn("MSI-X table access of size {} at 0x{} ignored", size, Long.toHexString(offset));
                return;
            }
            writeDword(offset, (int) value);
            if (size == 8) writeDword(offset + 4, (int) (value >>> 32));
        }

        private void writeDword(final long o, final int v) {
            final int vec = (int) (o / MSIX_ENTRY_SIZE);
            if (vec >= vectors) return;
            switch ((int) (o % MSIX_ENTRY_SIZE)) {
                case MSIX_ADDR_LO -> msixAddr[vec] = (msixAddr[vec] & 0xFFFF_FFFF_0000_0000L) | Integer.toUnsignedLong(v);
                case MSIX_ADDR_HI -> msixAddr[vec] = (msixAddr[vec] & 0xFFFF_FFFFL) | ((long) v << 32);
                case MSIX_DATA -> msixData[vec] = v;
                default -> {
                    msixMasked[vec] = (v & MSIX_CTRL_MASKED) != 0;
                    firePending(vec);
                }
            }
        }
    }

    public int isr() { return isr; }

    @Override
    public Map<String, Object> describe() {
        final Map<String, Object> m = super.describe();
        m.put("transport", "virtio-pci");
        m.put("pci", layout.describe());
        m.put("msix-active", msixActive());
        m.put("msix-config-vector", msixConfigVector);
        m.put("isr", isr);
        m.put("driver-ok", (status & VirtioStatus.DRIVER_OK) != 0);
        return m;
    }
}
