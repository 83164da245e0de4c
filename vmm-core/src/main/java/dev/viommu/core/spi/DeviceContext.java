package dev.viommu.core.spi;

import dev.viommu.core.host.HostBackend;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.metrics.DeviceMetrics;

import java.util.function.Supplier;

/**
 * What the sidecar hands a device model: guest memory (a supplier, because RAM regions may be added while the
 * device lives), the host backend, interrupt and event sinks, and its metrics.
 */
public record DeviceContext(Supplier<GuestMemory> memory, HostBackend host, InterruptSink interrupts,
                            EventSink events, DeviceMetrics metrics) {
}
