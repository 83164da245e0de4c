package dev.viommu.bench.iommufd;

import dev.viommu.bench.Ratio;

import java.util.List;

/**
 * The figure of issue 3 (backend-iommufd): the FFM overhead of a raw ioctl round trip through the bindings, as a
 * ratio to a plain {@code getpid} downcall in the same run. The issue sets no goal. Which ioctl target ran
 * (/dev/iommu or, without it, /dev/null) is printed by the benchmark's set-up.
 */
public final class IommufdRatios {
    private IommufdRatios() {}

    public static final List<Ratio> RATIOS = List.of(
            new Ratio("iommufd: raw ioctl round trip through the FFM bindings / getpid downcall",
                    "IommufdIoctlBench.ioctlRoundTrip", "IommufdIoctlBench.getpid", 0));
}
