package dev.viommu.virtio.iommu;

import dev.viommu.core.host.NoHostBackend;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.metrics.DeviceMetrics;
import dev.viommu.core.spi.DeviceContext;
import dev.viommu.core.spi.EventSink;
import dev.viommu.core.spi.InterruptSink;
import dev.viommu.core.spi.MmioRegion;
import dev.viommu.core.spi.Properties;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The device counts its own register accesses, whichever transport and region they reach (DeviceMetrics: who counts what). */
class VirtioIommuMetricsTest {
    @ParameterizedTest
    @EnumSource(VirtioIommuDevice.Transport.class)
    void countsEveryRegisterAccessOnceInTheDevicesMeters(final VirtioIommuDevice.Transport kind) throws Exception {
        final DeviceMetrics metrics = DeviceMetrics.detached("v");
        final GuestMemory mem = GuestMemory.anonymous(0, 1 << 20);
        final VirtioIommuDevice dev = new VirtioIommuDevice("v", "virtio-iommu-device", kind,
                VirtioIommuConfig.from(Properties.parse("virtio-iommu-device", VirtioIommuConfig.properties(), Map.of())),
                new DeviceContext(() -> mem, new NoHostBackend(), InterruptSink.NONE, EventSink.NONE, metrics), HostBinding.NONE);
        int reads = 0, writes = 0;
        for (MmioRegion r : dev.mmioRegions()) {
            r.read(0, 4);
            r.read(0, 1);
            reads += 2;
            r.write(r.size() - 4, 4, 0);
            writes++;
        }
        assertEquals(reads, metrics.mmioReads.count());
        assertEquals(writes, metrics.mmioWrites.count());
    }
}
