package dev.viommu.guests.vtd;

import dev.viommu.guests.GuestScript;

import java.util.List;

/** The VT-d guest scripts (issue 4), each run in process and through the real sidecar process. */
public final class VtdScripts {
    private VtdScripts() {}

    public static List<GuestScript> all() {
        return List.of(
                new VtdLegacyBootScript(),
                new VtdScalableBootScript(),
                new VtdLegacyMapDmaScript(),
                new VtdLegacyUnmapFaultScript(),
                new VtdScalableMapDmaUnmapFaultScript(),
                new VtdPasidFirstStageScript(),
                new VtdPageRequestScript(),
                new VtdMalformedDescriptorScript(),
                new VtdInterruptRemappingScript());
    }
}
