package dev.viommu.bench.virtio;

import dev.viommu.bench.Ratio;

import java.util.List;

/** The virtio-iommu figures (issue 6): translation against a guest-memory read, MAP+UNMAP against ring traffic. */
public final class VirtioRatios {
    private VirtioRatios() {}

    public static final List<Ratio> RATIOS = List.of(
            new Ratio("virtio-iommu translate, 1M mappings, random / random guest-memory read",
                    "VirtioTranslate.translateRandom", "VirtioTranslate.guestReadRandom", 0),
            new Ratio("virtio-iommu translate, 1M mappings, sequential / sequential guest-memory read",
                    "VirtioTranslate.translateSequential", "VirtioTranslate.guestReadSequential", 0),
            new Ratio("virtio-iommu MAP+UNMAP via the virtqueue / the ring+descriptor traffic alone",
                    "VirtioMapUnmap.mapUnmap", "VirtioMapUnmap.ringTraffic", 0));
}
