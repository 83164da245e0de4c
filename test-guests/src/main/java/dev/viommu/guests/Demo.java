package dev.viommu.guests;

import java.io.PrintStream;

/**
 * The README's demo: starts the real sidecar process on its built-in configuration, runs a guest script against
 * it end to end over the control socket and the data plane, and prints what happened.
 * Usage: {@code Demo [script-name ...]} (default: {@link #DEFAULT}); {@code Demo --list} lists the scripts.
 */
public final class Demo {
    /** The default script: a Linux-like VT-d guest that maps, translates DMA, unmaps and takes the fault. */
    public static final String DEFAULT = "vtd-scalable-map-dma-unmap-fault";

    private Demo() {}

    public static void main(final String[] args) throws Exception {
        final PrintStream out = System.out;
        if (args.length == 1 && args[0].equals("--list")) {
            for (GuestScript s : GuestScripts.all()) out.printf("%-40s %s (%s)%n", s.name(), s.description(), s.driver());
            return;
        }
        final String[] names = args.length == 0 ? new String[] {DEFAULT} : args;
        int failed = 0;
        for (String name : names) {
            final GuestScript script = GuestScripts.byName(name);
            out.println("== " + script.name() + ": " + script.description());
            out.println("   starting the sidecar process; device_add driver=" + script.driver() + " " + script.properties());
            final long t0 = System.nanoTime();
            try (SidecarProcess sidecar = SidecarProcess.start(null);
                 SidecarMachine m = new SidecarMachine(sidecar, false, script.driver(), script.properties(), script.ramSize())) {
                out.println("   sidecar up: control=" + sidecar.control() + " dataplane=" + sidecar.dataPlane()
                        + " handle=" + m.handle());
                final Narrator n = new Narrator(out);
                try {
                    script.run(m, n);
                    out.printf("== PASS %s: %d checks in %.0f ms%n", script.name(), n.checks(), (System.nanoTime() - t0) / 1e6);
                } catch (Throwable e) {
                    failed++;
                    out.println("== FAIL " + script.name() + ": " + e);
                    out.println("   device state: " + m.describe());
                    out.println("   sidecar log:\n" + sidecar.log());
                }
                final String metrics = m.qmp().execute("query-metrics", java.util.Map.of()).path("text").asText();
                out.println("   metrics (query-metrics, excerpt):");
                // the device's own meters; the data plane's per-frame counts (viommu_dataplane_requests_total) repeat them
                metrics.lines().filter(l -> l.startsWith("viommu_") && !l.startsWith("viommu_dataplane_") && !l.endsWith(" 0.0"))
                        .limit(14).forEach(l -> out.println("     " + l));
            }
        }
        System.exit(failed == 0 ? 0 : 1);
    }
}
