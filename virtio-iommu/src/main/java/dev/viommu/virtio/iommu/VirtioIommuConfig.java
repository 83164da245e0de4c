package dev.viommu.virtio.iommu;

import dev.viommu.core.spi.Properties;
import dev.viommu.core.spi.PropertySpec;

import java.util.ArrayList;
import java.util.List;

/** The device's validated configuration (from the driver properties; see docs/spec-coverage.md). */
public record VirtioIommuConfig(long granule, int awBits, boolean bootBypass, int domainStart, int domainEnd,
                                int probeSize, int queueSize, int maxDomains, int maxMappingsPerDomain,
                                long maxTotalMappings, List<ResvRegion> reservedRegions, boolean accessPlatform,
                                boolean eventIdx, boolean indirectDesc) {

    public static final long DEFAULT_MAX_DOMAINS = 65536;          // Cloud Hypervisor's cap
    public static final long DEFAULT_MAX_MAPPINGS = 1L << 20;      // Cloud Hypervisor's cap, per domain
    public static final long DEFAULT_MAX_TOTAL_MAPPINGS = 4L << 20;
    public static final String DEFAULT_MSI_WINDOW = "0xfee00000:0xfeefffff:msi";   // x86 MSI window, as QEMU

    public static List<PropertySpec> properties() {
        return List.of(
                PropertySpec.choice("granule", "4k", List.of("4k", "8k", "16k", "64k"),
                        "smallest mapping granule: page_size_mask is every power of two from it up (QEMU's granule)"),
                PropertySpec.uint("aw-bits", 64, 32, 64, "input address width: input_range is [0, 2^aw-bits - 1]"),
                PropertySpec.bool("boot-bypass", true,
                        "initial value of the config 'bypass' byte: unattached endpoints bypass translation"),
                PropertySpec.uint("domain-range-start", 0, 0, 0xFFFF_FFFFL, "first valid domain ID (domain_range.start)"),
                PropertySpec.uint("domain-range-end", 0xFFFF_FFFFL, 0, 0xFFFF_FFFFL, "last valid domain ID (domain_range.end)"),
                PropertySpec.uint("probe-size", 512, 64, 4096, "bytes of the PROBE properties buffer (QEMU: 512)"),
                PropertySpec.uintOf("queue-size", 256, List.of(16L, 32L, 64L, 128L, 256L, 512L, 1024L),
                        "maximum size of the request and event queues (QEMU: 256)"),
                PropertySpec.uint("max-domains", DEFAULT_MAX_DOMAINS, 1, 1L << 24,
                        "domains the guest may create; ATTACH beyond it fails with S_NOMEM"),
                PropertySpec.uint("max-mappings", DEFAULT_MAX_MAPPINGS, 1, 1L << 26,
                        "mappings per domain; MAP beyond it fails with S_NOMEM"),
                PropertySpec.uint("max-total-mappings", DEFAULT_MAX_TOTAL_MAPPINGS, 1, 1L << 30,
                        "mappings over all domains (bounds memory: about 30 bytes each); MAP beyond it fails with S_NOMEM"),
                PropertySpec.string("msi-window", DEFAULT_MSI_WINDOW,
                        "RESV_MEM regions reported to every endpoint, 'start:end[:msi|reserved],...' (empty: none)"),
                PropertySpec.string("reserved-regions", "", "more RESV_MEM regions for every endpoint, same syntax"),
                PropertySpec.bool("access-platform", false,
                        "offer VIRTIO_F_ACCESS_PLATFORM (required by confidential guests); queue addresses stay GPAs"),
                PropertySpec.bool("event-idx", true, "offer VIRTIO_RING_F_EVENT_IDX"),
                PropertySpec.bool("indirect-desc", true, "offer VIRTIO_RING_F_INDIRECT_DESC"));
    }

    public static VirtioIommuConfig from(final Properties p) {
        final long granule = switch (p.string("granule")) {
            case "8k" -> 8192;
            case "16k" -> 16384;
            case "64k" -> 65536;
            default -> 4096;
        };
        final long ds = p.uint("domain-range-start"), de = p.uint("domain-range-end");
        if (de < ds) throw new IllegalArgumentException("domain-range-end below domain-range-start");
        final List<ResvRegion> resv = new ArrayList<>(ResvRegion.parseList(p.string("msi-window")));
        resv.addAll(ResvRegion.parseList(p.string("reserved-regions")));
        return new VirtioIommuConfig(granule, p.intValue("aw-bits"), p.bool("boot-bypass"), (int) ds, (int) de,
                p.intValue("probe-size"), p.intValue("queue-size"), p.intValue("max-domains"), p.intValue("max-mappings"),
                p.uint("max-total-mappings"), ResvRegion.normalize(resv), p.bool("access-platform"),
                p.bool("event-idx"), p.bool("indirect-desc"));
    }

    /** input_range.end. */
    public long inputEnd() { return awBits == 64 ? -1L : (1L << awBits) - 1; }

    /** page_size_mask: every power of two from the granule up, within the input range. */
    public long pageSizeMask() { return -granule & (awBits == 64 ? -1L : (1L << awBits) - 1); }
}
