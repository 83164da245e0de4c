package dev.viommu.bench.vtd;

import dev.viommu.bench.Ratio;

import java.util.List;

/** The VT-d figures of issue 4, each a ratio to a baseline measured in the same run. */
public final class VtdRatios {
    private VtdRatios() {}

    public static final List<Ratio> RATIOS = List.of(
            new Ratio("vtd P1: IOTLB-hit translation / one 8-byte guest-memory read",
                    "VtdTranslationBench.iotlbHit", "VtdTranslationBench.guestRead64", 2.0),
            new Ratio("vtd P1 (scalable, PASID first stage): IOTLB hit / one 8-byte read",
                    "VtdTranslationBench.iotlbHitPasid", "VtdTranslationBench.guestRead64", 2.0),
            new Ratio("vtd P2: 4-level walk on an IOTLB miss / 4 dependent guest-memory reads",
                    "VtdTranslationBench.walkOnMiss", "VtdTranslationBench.fourDependentReads", 1.5),
            new Ratio("vtd P2 diagnostic, chained (latency, not throughput): walk on a miss / 4 dependent reads",
                    "VtdTranslationBench.chainedWalkOnMiss", "VtdTranslationBench.chainedFourDependentReads", 0),
            new Ratio("vtd P2 diagnostic, 4 GiB working set: walk on a miss / the same 4 entries read as dependent guest reads",
                    "VtdWideMissBench.walkOnMiss", "VtdWideMissBench.fourDependentReads", 0),
            new Ratio("vtd flush by PASID: 1 Mi live entries / 1 entry (1 Mi others live)",
                    "VtdFlushBench.flushMillionEntryPasid", "VtdFlushBench.flushOneEntryPasid", 0));
}
