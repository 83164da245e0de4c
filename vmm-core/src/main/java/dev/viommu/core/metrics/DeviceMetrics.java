package dev.viommu.core.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.DoubleSupplier;

/**
 * One device's meters. The common counters are created up front, and typed counters (faults and
 * invalidations by type) are cached on first use, so recording on a hot path allocates nothing.
 * <p>
 * Who counts what: the device model counts what it does, whoever asks ({@link #mmioReads}, {@link #mmioWrites},
 * {@link #translations}, the IOTLB lookups, {@link #pageRequests}, faults, invalidations): the same numbers for
 * requests from the data plane and from in-process callers. The data plane counts the frames it handed to the
 * device in its own meters ({@code viommu.dataplane.requests} by type), never in the device's, so a request is
 * counted once per layer.
 */
public final class DeviceMetrics {
    private final MeterRegistry registry;
    private final Tags tags;
    private final List<Meter> meters = new java.util.concurrent.CopyOnWriteArrayList<>();
    public final Counter mmioReads, mmioWrites, translations, iotlbHits, iotlbMisses, pageRequests;
    /** Data-plane frames handed to this device, by type (counted by the data plane). */
    public final Counter dataPlaneMmioReads, dataPlaneMmioWrites, dataPlaneTranslations, dataPlanePageRequests;
    private final ConcurrentHashMap<String, Counter> faults = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Counter> invalidations = new ConcurrentHashMap<>();

    DeviceMetrics(final MeterRegistry registry, final String id, final String driver) {
        this.registry = registry;
        this.tags = Tags.of("device", id, "driver", driver);
        mmioReads = counter("viommu.mmio.accesses", "dir", "read");
        mmioWrites = counter("viommu.mmio.accesses", "dir", "write");
        translations = counter("viommu.translations");
        iotlbHits = counter("viommu.iotlb.lookups", "result", "hit");
        iotlbMisses = counter("viommu.iotlb.lookups", "result", "miss");
        pageRequests = counter("viommu.page.requests");
        dataPlaneMmioReads = counter("viommu.dataplane.requests", "type", "mmio-read");
        dataPlaneMmioWrites = counter("viommu.dataplane.requests", "type", "mmio-write");
        dataPlaneTranslations = counter("viommu.dataplane.requests", "type", "translate");
        dataPlanePageRequests = counter("viommu.dataplane.requests", "type", "page-request");
    }

    /** A registry-less instance for unit tests and benchmarks. */
    public static DeviceMetrics detached(final String id) {
        return new DeviceMetrics(new io.micrometer.core.instrument.simple.SimpleMeterRegistry(), id, "test");
    }

    private Counter counter(final String name, final String... extra) {
        final Counter c = Counter.builder(name).tags(tags).tags(extra).register(registry);
        meters.add(c);
        return c;
    }

    /** Counts a fault of an architected type (a VT-d fault reason, an SMMUv3 event name, a virtio status). */
    public void fault(final String type) {
        Counter c = faults.get(type);              // the common case: no lambda, no allocation
        if (c == null) c = faults.computeIfAbsent(type, t -> counter("viommu.faults", "type", t));
        c.increment();
    }

    /** Counts an invalidation of a type (context-cache, iotlb-page, CFGI_STE, TLBI_NH_VA, UNMAP…). */
    public void invalidation(final String type) {
        Counter c = invalidations.get(type);
        if (c == null) c = invalidations.computeIfAbsent(type, t -> counter("viommu.invalidations", "type", t));
        c.increment();
    }

    /** Registers a queue-depth gauge. */
    public void queueDepth(final String queue, final DoubleSupplier depth) {
        final Gauge g = Gauge.builder("viommu.queue.depth", depth::getAsDouble).tags(tags).tag("queue", queue)
                .register(registry);
        meters.add(g);
    }

    /** Removes this device's meters (device_del). */
    public void close() {
        for (Meter m : meters) registry.remove(m);
        meters.clear();
    }
}
