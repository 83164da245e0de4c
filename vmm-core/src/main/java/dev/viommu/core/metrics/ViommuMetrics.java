package dev.viommu.core.metrics;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/** The sidecar's Micrometer registry, exported in Prometheus text format by {@code query-metrics}. */
public final class ViommuMetrics {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    public PrometheusMeterRegistry registry() { return registry; }

    /** Metrics for one device, tagged {@code device=<id>, driver=<driver>}. */
    public DeviceMetrics forDevice(final String id, final String driver) {
        return new DeviceMetrics(registry, id, driver);
    }

    /** The Prometheus text exposition of every meter. */
    public String scrape() { return registry.scrape(); }
}
