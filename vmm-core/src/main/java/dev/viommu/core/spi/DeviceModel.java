package dev.viommu.core.spi;

import dev.viommu.core.translate.TranslationService;

import java.util.List;
import java.util.Map;

/**
 * A vIOMMU instance. It exposes MMIO regions, translates DMA for emulated endpoints, and programs the host for
 * passthrough ones. A device model never touches a socket; the sidecar calls it with its own lock held, so an
 * implementation sees one call at a time.
 */
public interface DeviceModel extends AutoCloseable {
    String id();

    String driver();

    List<MmioRegion> mmioRegions();

    /** The DMA translation service for emulated endpoints. */
    TranslationService translation();

    /** Puts an endpoint behind this vIOMMU. */
    void attachEndpoint(Endpoint endpoint) throws DeviceException;

    void detachEndpoint(String endpointId) throws DeviceException;

    /** Page requests from emulated endpoints, if the model has a page-request queue. */
    default java.util.Optional<PageRequestService> pageRequests() { return java.util.Optional.empty(); }

    /** The PCI function, if the model is one (virtio-pci): config space is data-plane region 0xFF. */
    default java.util.Optional<PciFunction> pci() { return java.util.Optional.empty(); }

    /** Interrupt remapping, if the model has it. */
    default java.util.Optional<InterruptRemapper> interruptRemapper() { return java.util.Optional.empty(); }

    /** A queue doorbell (virtio notify): the default device has no queues. */
    default void doorbell(final int queue) { }

    /** A state dump for {@code query-viommu}: registers, tables, caches, counters. JSON-serialisable values only. */
    Map<String, Object> describe();

    /** A system reset: registers to their reset values, caches emptied. */
    void reset();

    @Override
    void close();
}
