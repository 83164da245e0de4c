package dev.viommu.virtio.iommu;

import dev.viommu.core.metrics.DeviceMetrics;
import dev.viommu.core.spi.MmioRegion;

import java.util.ArrayList;
import java.util.List;

/**
 * A transport region that counts its accesses in the device's meters: the device owns its MMIO counts
 * ({@link DeviceMetrics}: who counts what), and the virtio transports are shared code that knows no meters.
 */
final class CountedRegion implements MmioRegion {
    private final MmioRegion region;
    private final DeviceMetrics metrics;

    private CountedRegion(final MmioRegion region, final DeviceMetrics metrics) {
        this.region = region;
        this.metrics = metrics;
    }

    static List<MmioRegion> all(final List<? extends MmioRegion> regions, final DeviceMetrics metrics) {
        final List<MmioRegion> out = new ArrayList<>(regions.size());
        for (MmioRegion r : regions) out.add(new CountedRegion(r, metrics));
        return List.copyOf(out);
    }

    @Override public String name() { return region.name(); }

    @Override public long size() { return region.size(); }

    @Override public long read(final long offset, final int size) {
        metrics.mmioReads.increment();
        return region.read(offset, size);
    }

    @Override public void write(final long offset, final int size, final long value) {
        metrics.mmioWrites.increment();
        region.write(offset, size, value);
    }
}
