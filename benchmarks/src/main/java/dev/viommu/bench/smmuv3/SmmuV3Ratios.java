package dev.viommu.bench.smmuv3;

import dev.viommu.bench.Ratio;

import java.util.List;

/** The SMMUv3 figures (issue 5) with the goals the VT-d issue set for the translation ones. */
public final class SmmuV3Ratios {
    private SmmuV3Ratios() {}

    public static final List<Ratio> RATIOS = List.of(
            new Ratio("SMMUv3 translation on an IOTLB hit / one 8-byte guest read",
                    "SmmuV3Translation.iotlbHit", "SmmuV3Translation.oneGuestRead", 2.0),
            new Ratio("SMMUv3 4-level stage-1 walk on a miss / four dependent guest reads",
                    "SmmuV3Translation.walkMiss", "SmmuV3Translation.fourDependentGuestReads", 1.5),
            new Ratio("SMMUv3 stage-1 walk on a miss, 4 GiB working set (diagnostic) / the same four descriptors read as dependent guest reads",
                    "SmmuV3WideMiss.walkMiss", "SmmuV3WideMiss.fourDependentReads", 0),
            new Ratio("SMMUv3 4-level stage-1 walk alone, no IOTLB probe or fill (breakdown) / four dependent guest reads",
                    "SmmuV3Translation.walkOnly", "SmmuV3Translation.fourDependentGuestReads", 0),
            new Ratio("SMMUv3 4-level walk floor: the same four reads with index/mask arithmetic, no checks (breakdown) / four dependent guest reads",
                    "SmmuV3Translation.bareWalk", "SmmuV3Translation.fourDependentGuestReads", 0),
            new Ratio("SMMUv3 command-queue cost per command (TLBI_NH_VA batch + CMD_SYNC) / one 16-byte command fetch",
                    "SmmuV3CommandQueue.tlbiBatch", "SmmuV3CommandQueue.fetchOnly", 0));
}
