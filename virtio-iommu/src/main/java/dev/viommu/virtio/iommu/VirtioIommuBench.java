package dev.viommu.virtio.iommu;

import dev.viommu.core.host.NoHostBackend;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.core.metrics.DeviceMetrics;
import dev.viommu.core.spi.DeviceContext;
import dev.viommu.core.spi.DeviceException;
import dev.viommu.core.spi.Endpoint;
import dev.viommu.core.spi.EventSink;
import dev.viommu.core.spi.InterruptSink;
import dev.viommu.core.spi.Properties;
import dev.viommu.core.spi.PropertyException;
import dev.viommu.core.translate.AccessType;
import dev.viommu.core.translate.Translation;
import dev.viommu.core.translate.TranslationService;
import dev.viommu.virtio.spec.IommuFeature;
import dev.viommu.virtio.spec.VirtioMmioReg;
import dev.viommu.virtio.spec.VirtioStatus;
import dev.viommu.virtio.spec.VirtqLayout;

import java.util.HashMap;
import java.util.Map;

import static dev.viommu.virtio.spec.IommuRequest.*;

/**
 * A ready-made device for benchmarks (the JMH module) and allocation tests: virtio-iommu over virtio-mmio on
 * anonymous guest RAM, driver negotiated, endpoint {@link #ENDPOINT} attached to domain {@link #DOMAIN} with
 * {@code n} 4 KiB mappings at IOVA {@code i * 8 KiB} (a hole between each, so lookups really search).
 * <ul>
 * <li>{@link #translate(long)}: one translation on the emulated endpoint (a hit for {@link #iova(int)}).</li>
 * <li>{@link #mapUnmap(long)}: a MAP and an UNMAP request through the request queue, one notification.</li>
 * <li>{@link #guestRead(long)}: the guest-memory read a translation is measured against.</li>
 * </ul>
 */
public final class VirtioIommuBench {
    public static final int ENDPOINT = 0x10;
    public static final int DOMAIN = 1;
    public static final long STRIDE = 8192, PAGE = 4096;
    private static final long RAM = 64L << 20;
    private static final long RING = 0x10_0000, REQ = 0x20_0000, DATA = 0x100_0000;
    private static final int QSIZE = 256;

    public final GuestMemory memory = GuestMemory.anonymous(0, RAM);
    public final VirtioIommuDevice device;
    private final TranslationService ts;
    private final Translation out = new Translation();
    private final int mappings;
    private final long desc = RING, avail = RING + 0x1000, used = RING + 0x2000;
    private int availIdx;

    public VirtioIommuBench(final int mappings) {
        this(mappings, Map.of());
    }

    public VirtioIommuBench(final int mappings, final Map<String, Object> props) {
        this.mappings = mappings;
        final Map<String, Object> p = new HashMap<>(props);
        p.putIfAbsent("max-mappings", (long) Math.max(mappings + 16, 1 << 20));
        p.putIfAbsent("max-total-mappings", (long) Math.max(mappings + 16, 4 << 20));
        try {
            final Properties parsed = Properties.parse("virtio-iommu-device", VirtioIommuConfig.properties(), p);
            device = new VirtioIommuDevice("bench", "virtio-iommu-device", VirtioIommuDevice.Transport.MMIO,
                    VirtioIommuConfig.from(parsed), new DeviceContext(() -> memory, new NoHostBackend(), InterruptSink.NONE,
                    EventSink.NONE, DeviceMetrics.detached("bench")), HostBinding.NONE);
            device.attachEndpoint(Endpoint.emulated("bench-ep", ENDPOINT));
        } catch (PropertyException | DeviceException e) {
            throw new IllegalStateException(e);
        }
        ts = device.translation();
        boot();
        device.populateForBenchmark(DOMAIN, ENDPOINT, 0, STRIDE, PAGE, DATA, mappings);
    }

    public int mappings() { return mappings; }

    /** The IOVA of mapping {@code i} (plus a small offset inside the page). */
    public static long iova(final int i) { return i * STRIDE + 0x80; }

    /** One translation; returns the output address (or -1 on a fault). */
    public long translate(final long iova) {
        return ts.translate(ENDPOINT, TranslationService.NO_PASID, iova, AccessType.READ, out) ? out.outputAddress : -1;
    }

    /** The baseline: one 8-byte guest-memory read. */
    public long guestRead(final long gpa) {
        try {
            return memory.read64(gpa);
        } catch (GuestMemoryException e) {
            return -1;
        }
    }

    private void mmio(final int off, final int v) { device.mmioRegions().get(0).write(off, 4, Integer.toUnsignedLong(v)); }

    private void boot() {
        try {
            mmio(VirtioMmioReg.STATUS, 0);
            mmio(VirtioMmioReg.STATUS, VirtioStatus.ACKNOWLEDGE | VirtioStatus.DRIVER);
            mmio(VirtioMmioReg.DRIVER_FEATURES_SEL, 1);
            mmio(VirtioMmioReg.DRIVER_FEATURES, 1);                              // VERSION_1
            mmio(VirtioMmioReg.DRIVER_FEATURES_SEL, 0);
            mmio(VirtioMmioReg.DRIVER_FEATURES, 1 << IommuFeature.MAP_UNMAP);
            mmio(VirtioMmioReg.STATUS, VirtioStatus.ACKNOWLEDGE | VirtioStatus.DRIVER | VirtioStatus.FEATURES_OK);
            mmio(VirtioMmioReg.QUEUE_SEL, 0);
            mmio(VirtioMmioReg.QUEUE_NUM, QSIZE);
            mmio(VirtioMmioReg.QUEUE_DESC_LOW, (int) desc);
            mmio(VirtioMmioReg.QUEUE_AVAIL_LOW, (int) avail);
            mmio(VirtioMmioReg.QUEUE_USED_LOW, (int) used);
            mmio(VirtioMmioReg.QUEUE_READY, 1);
            mmio(VirtioMmioReg.STATUS, VirtioStatus.ACKNOWLEDGE | VirtioStatus.DRIVER | VirtioStatus.FEATURES_OK
                    | VirtioStatus.DRIVER_OK);
            memory.write16(avail + VirtqLayout.AVAIL_FLAGS, VirtqLayout.AVAIL_F_NO_INTERRUPT);
            // two fixed chains: MAP (desc 0 → 1) and UNMAP (desc 2 → 3)
            writeDesc(0, REQ, MAP_SIZE, VirtqLayout.DESC_F_NEXT, 1);
            writeDesc(1, REQ + 64, TAIL_SIZE, VirtqLayout.DESC_F_WRITE, 0);
            writeDesc(2, REQ + 128, UNMAP_SIZE, VirtqLayout.DESC_F_NEXT, 3);
            writeDesc(3, REQ + 192, TAIL_SIZE, VirtqLayout.DESC_F_WRITE, 0);
            memory.write8(REQ, T_MAP);
            memory.write32(REQ + MAP_DOMAIN, DOMAIN);
            memory.write32(REQ + MAP_FLAGS, MAP_F_READ | MAP_F_WRITE);
            memory.write8(REQ + 128, T_UNMAP);
            memory.write32(REQ + 128 + UNMAP_DOMAIN, DOMAIN);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    private void writeDesc(final int i, final long addr, final int len, final int flags, final int next) throws GuestMemoryException {
        final long d = desc + (long) VirtqLayout.DESC_SIZE * i;
        memory.write64(d + VirtqLayout.DESC_ADDR, addr);
        memory.write32(d + VirtqLayout.DESC_LEN, len);
        memory.write16(d + VirtqLayout.DESC_FLAGS, flags);
        memory.write16(d + VirtqLayout.DESC_NEXT, next);
    }

    /**
     * The baseline of {@link #mapUnmap}: the same guest-memory traffic a split virtqueue needs for the two
     * requests, without the device. Driver side: the request fields, two avail-ring entries and the index.
     * Device side: the avail index, per request its ring entry, its two descriptors (addr, len, flags, next),
     * its body (head and fields) and its tail, then the used element and index; finally the driver reads the
     * two statuses. Returns the same kind of value.
     */
    public int ringTraffic(final long iova) {
        try {
            memory.write64(REQ + MAP_VIRT_START, iova);
            memory.write64(REQ + MAP_VIRT_END, iova + PAGE - 1);
            memory.write64(REQ + MAP_PHYS_START, DATA);
            memory.write64(REQ + 128 + UNMAP_VIRT_START, iova);
            memory.write64(REQ + 128 + UNMAP_VIRT_END, iova + PAGE - 1);
            memory.write16(VirtqLayout.availRingEntry(avail, baseIdx & (QSIZE - 1)), 0);
            memory.write16(VirtqLayout.availRingEntry(avail, (baseIdx + 1) & (QSIZE - 1)), 2);
            baseIdx = (baseIdx + 2) & 0xFFFF;
            long acc = memory.read16(avail + VirtqLayout.AVAIL_IDX);
            for (int r = 0; r < 2; r++) {
                final int head = memory.read16(VirtqLayout.availRingEntry(avail, (baseIdx - 2 + r) & (QSIZE - 1)));
                final long body = REQ + 128L * r;
                for (int dsc = head; dsc < head + 2; dsc++) {
                    final long d = desc + (long) VirtqLayout.DESC_SIZE * dsc;
                    acc += memory.read64(d + VirtqLayout.DESC_ADDR) + memory.read32(d + VirtqLayout.DESC_LEN)
                            + memory.read16(d + VirtqLayout.DESC_FLAGS) + memory.read16(d + VirtqLayout.DESC_NEXT);
                }
                acc += memory.read64(body) + memory.read64(body + 8) + memory.read64(body + 16) + memory.read64(body + 24);
                if (r == 0) acc += memory.read64(body + 32);
                memory.write32(body + (r == 0 ? 64 : 64), 0);                      // the tail
                final long ue = used + 4 + 8L * ((baseUsed + r) & (QSIZE - 1));
                memory.write32(ue, head);
                memory.write32(ue + 4, TAIL_SIZE);
            }
            baseUsed = (baseUsed + 2) & 0xFFFF;
            memory.write16(used + 2, usedShadow);                                     // not the device's real index
            return (int) (acc & 1) | memory.read8(REQ + 64) | memory.read8(REQ + 192) << 8;
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    private int baseIdx, baseUsed, usedShadow;

    /**
     * MAP [iova, iova + 4 KiB) then UNMAP it, both queued before one notification (the way Linux batches).
     * Returns the two statuses as {@code map | unmap << 8} (0 when both succeeded).
     */
    public int mapUnmap(final long iova) {
        try {
            memory.write64(REQ + MAP_VIRT_START, iova);
            memory.write64(REQ + MAP_VIRT_END, iova + PAGE - 1);
            memory.write64(REQ + MAP_PHYS_START, DATA);
            memory.write64(REQ + 128 + UNMAP_VIRT_START, iova);
            memory.write64(REQ + 128 + UNMAP_VIRT_END, iova + PAGE - 1);
            memory.write16(VirtqLayout.availRingEntry(avail, availIdx & (QSIZE - 1)), 0);
            memory.write16(VirtqLayout.availRingEntry(avail, (availIdx + 1) & (QSIZE - 1)), 2);
            availIdx = (availIdx + 2) & 0xFFFF;
            memory.write16(avail + VirtqLayout.AVAIL_IDX, availIdx);
            device.doorbell(0);
            return memory.read8(REQ + 64) | memory.read8(REQ + 192) << 8;
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }
}
