package dev.viommu.bench;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs the benchmarks and reports each figure as a ratio to the baseline measured in the same run. Arguments are
 * JMH's (for example a regex selecting benchmarks, or {@code -f 1 -wi 1 -i 3} for a quick run).
 */
public final class Ratios {
    /** The sidecar's own figures; each area's benchmark package adds its list in {@link #all()}. */
    static final List<Ratio> CORE = List.of(
            new Ratio("data-plane MMIO round trip / raw Unix-socket ping-pong", "DataPlaneRoundTrip.mmioRead", "DataPlaneRoundTrip.rawPingPong", 1.5),
            new Ratio("time to QMP greeting (AOT cache) / bare JVM hello-world", "QmpGreeting.sidecarToGreeting", "QmpGreeting.jvmHelloWorld", 3.0),
            new Ratio("time to QMP greeting (no AOT cache) / bare JVM hello-world", "QmpGreeting.sidecarToGreetingCold", "QmpGreeting.jvmHelloWorld", 0));

    static List<Ratio> all() {
        final List<Ratio> all = new ArrayList<>(CORE);
        all.addAll(dev.viommu.bench.smmuv3.SmmuV3Ratios.RATIOS);
        all.addAll(dev.viommu.bench.vtd.VtdRatios.RATIOS);
        all.addAll(dev.viommu.bench.iommufd.IommufdRatios.RATIOS);
        all.addAll(dev.viommu.bench.virtio.VirtioRatios.RATIOS);
        return all;
    }

    private Ratios() {}

    public static void main(final String[] args) throws Exception {
        final Options opts = new OptionsBuilder().parent(new CommandLineOptions(args)).build();
        final Collection<RunResult> results = new Runner(opts).run();
        final Map<String, Double> score = new LinkedHashMap<>();
        final Map<String, String> unit = new LinkedHashMap<>();
        for (RunResult r : results) {
            final String label = r.getParams().getBenchmark().replaceAll("^.*\\.([^.]+\\.[^.]+)$", "$1");
            score.put(label, r.getPrimaryResult().getScore());
            unit.put(label, r.getPrimaryResult().getScoreUnit());
        }
        System.out.println();
        System.out.println("== viommu ratios (same-run baselines) ==");
        for (Ratio ratio : all()) {
            final Double m = score.get(ratio.measured()), b = score.get(ratio.baseline());
            if (m == null || b == null) continue;
            final double x = m / b;
            System.out.printf("%-70s %8.2fx  (%.3f / %.3f %s)%s%n", ratio.name(), x, m, b, unit.get(ratio.measured()),
                    ratio.goal() > 0 ? String.format("  goal <= %.1fx: %s", ratio.goal(), x <= ratio.goal() ? "met" : "NOT met") : "");
        }
    }
}
