package dev.viommu.guests.smmuv3;

import dev.viommu.guests.GuestScript;

import java.util.List;

/** The SMMUv3 guest scripts (issue 5), each run in process and through the real sidecar process. */
public final class SmmuV3Scripts {
    private SmmuV3Scripts() {}

    public static List<GuestScript> all() {
        return List.of(
                new SmmuV3BootLinearScript(),
                new SmmuV3BootTwoLevelScript(),
                new SmmuV3SubstreamScript(),
                new SmmuV3Stage2Script(),
                new SmmuV3NestedScript(),
                new SmmuV3TlbiVaFaultScript(),
                new SmmuV3TlbiRangeFaultScript(),
                new SmmuV3BadSteScript(),
                new SmmuV3IllegalCommandScript(),
                new SmmuV3EventqOverflowScript(),
                new SmmuV3PageRequestScript(),
                new SmmuV3CmdSyncMsiScript(),
                new SmmuV3CmdSyncPollScript());
    }
}
