package dev.viommu.virtio.guest;

import dev.viommu.core.guest.GuestMachine;

import java.util.List;
import java.util.Map;

/**
 * Linux drivers/virtio/virtio_pci_modern.c (+ virtio_pci_modern_dev.c, virtio_pci_common.c). The hypervisor
 * gives the guest PCI configuration space; here the parsed virtio capabilities ({@link Cap}) and the BAR → MMIO
 * region map stand for it. With {@code msix} the driver programs one vector for config changes and one per
 * queue (vp_find_vqs_msix); without, it uses INTx and the ISR (vp_find_vqs_intx).
 */
public final class GuestPciTransport implements GuestTransport {
    /** A virtio_pci_cap as read from configuration space. */
    public record Cap(int cfgType, int bar, long offset, long length, int notifyOffMultiplier) {}

    /** The MSI-X capability: table location; the addresses and data the guest programs per vector. */
    public record Msix(int tableBar, long tableOffset, int tableSize) {}

    private static final int COMMON = 1, NOTIFY = 2, ISR = 3, DEVICE = 4;
    // struct virtio_pci_common_cfg
    private static final int DFSELECT = 0, DF = 4, GFSELECT = 8, GF = 12, MSIX_CONFIG = 16, NUM_QUEUES = 18,
            DEVICE_STATUS = 20, Q_SELECT = 22, Q_SIZE = 24, Q_MSIX = 26, Q_ENABLE = 28, Q_NOFF = 30, Q_DESCLO = 32,
            Q_DESCHI = 36, Q_AVAILLO = 40, Q_AVAILHI = 44, Q_USEDLO = 48, Q_USEDHI = 52;
    public static final long MSI_ADDRESS = 0xFEE0_0000L;

    private final GuestMachine m;
    private final Map<Integer, Integer> barToRegion;
    private final Msix msix;
    private Cap common, notify, isr, device;
    private int[] queueVectors = new int[8];

    public GuestPciTransport(final GuestMachine m, final List<Cap> caps, final Map<Integer, Integer> barToRegion, final Msix msix) {
        this.m = m;
        this.barToRegion = barToRegion;
        this.msix = msix;
        // virtio_pci_find_capability: the first of each type wins.
        for (Cap c : caps) {
            switch (c.cfgType()) {
                case COMMON -> { if (common == null) common = c; }
                case NOTIFY -> { if (notify == null) notify = c; }
                case ISR -> { if (isr == null) isr = c; }
                case DEVICE -> { if (device == null) device = c; }
                default -> { }
            }
        }
        if (common == null || notify == null || isr == null) throw new IllegalStateException("missing virtio capability");
        java.util.Arrays.fill(queueVectors, -1);
    }

    private long rd(final Cap c, final long off, final int size) { return m.mmioRead(barToRegion.get(c.bar()), c.offset() + off, size); }

    private void wr(final Cap c, final long off, final int size, final long v) { m.mmioWrite(barToRegion.get(c.bar()), c.offset() + off, size, v); }

    @Override
    public long getFeatures() {     // vp_get_features
        wr(common, DFSELECT, 4, 0);
        long f = rd(common, DF, 4);
        wr(common, DFSELECT, 4, 1);
        return f | rd(common, DF, 4) << 32;
    }

    @Override
    public void finalizeFeatures(final long f) {   // vp_finalize_features
        wr(common, GFSELECT, 4, 0);
        wr(common, GF, 4, f & 0xFFFF_FFFFL);
        wr(common, GFSELECT, 4, 1);
        wr(common, GF, 4, f >>> 32);
    }

    @Override public int getStatus() { return (int) rd(common, DEVICE_STATUS, 1); }

    @Override public void setStatus(final int s) { wr(common, DEVICE_STATUS, 1, s); }

    @Override
    public void reset() {            // vp_reset: write 0, then wait until it reads 0
        wr(common, DEVICE_STATUS, 1, 0);
        for (int i = 0; i < 1000 && getStatus() != 0; i++) Thread.onSpinWait();
    }

    @Override public long readConfig(final int off, final int size) { return rd(device, off, size); }

    @Override public void writeConfig(final int off, final int size, final long v) { wr(device, off, size, v); }

    public int numQueues() { return (int) rd(common, NUM_QUEUES, 2); }

    @Override
    public int queueMax(final int q) {
        wr(common, Q_SELECT, 2, q);
        return (int) rd(common, Q_SIZE, 2);
    }

    /** vp_request_msix_vectors: vector 0 for config changes, programmed and unmasked in the MSI-X table. */
    public void setupMsix() {
        if (msix == null) return;
        for (int v = 0; v < msix.tableSize(); v++) {
            final long e = msix.tableOffset() + 16L * v;
            final int region = barToRegion.get(msix.tableBar());
            m.mmioWrite(region, e, 4, MSI_ADDRESS);
            m.mmioWrite(region, e + 4, 4, 0);
            m.mmioWrite(region, e + 8, 4, v);           // data = vector number: the handler knows who fired
            m.mmioWrite(region, e + 12, 4, 0);          // unmask
        }
        wr(common, MSIX_CONFIG, 2, 0);
        if (rd(common, MSIX_CONFIG, 2) != 0) throw new IllegalStateException("config vector refused");
    }

    @Override
    public boolean setupQueue(final int q, final int size, final long desc, final long avail, final long used) {   // setup_vq
        wr(common, Q_SELECT, 2, q);
        if (rd(common, Q_ENABLE, 2) != 0) return false;
        wr(common, Q_SIZE, 2, size);
        wr(common, Q_DESCLO, 4, desc & 0xFFFF_FFFFL);
        wr(common, Q_DESCHI, 4, desc >>> 32);
        wr(common, Q_AVAILLO, 4, avail & 0xFFFF_FFFFL);
        wr(common, Q_AVAILHI, 4, avail >>> 32);
        wr(common, Q_USEDLO, 4, used & 0xFFFF_FFFFL);
        wr(common, Q_USEDHI, 4, used >>> 32);
        if (msix != null) {
            wr(common, Q_MSIX, 2, q + 1);          // vp_setup_vq: one vector per queue after the config one
            if (rd(common, Q_MSIX, 2) != q + 1) return false;
            queueVectors[q] = q + 1;
        }
        wr(common, Q_ENABLE, 2, 1);
        return rd(common, Q_ENABLE, 2) == 1;
    }

    @Override
    public void notify(final int q) {      // vp_notify: notify base + queue_notify_off * multiplier
        wr(common, Q_SELECT, 2, q);
        final long off = rd(common, Q_NOFF, 2) * notify.notifyOffMultiplier();
        wr(notify, off, 2, q);
    }

    @Override
    public int ackInterrupt(final int vector) {   // vp_interrupt (INTx) / vp_vring_interrupt (MSI-X)
        if (vector < 0) return (int) rd(isr, 0, 1);
        return vector == 0 ? 2 : 1;
    }

    @Override public int queueVector(final int q) { return queueVectors[q]; }
}
