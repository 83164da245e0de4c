package dev.viommu.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Keeps the benchmarks from rotting between the runs that measure them: every figure names two benchmarks that
 * exist, and every benchmark's set-up, one short iteration and its tear-down checks (for example "every
 * translation missed") run without error. Nothing here is timed or compared: figures come from {@code ./viommu
 * bench} on a quiet machine (README, Figures).
 */
class BenchmarkSmokeTest {
    /** Benchmark labels ({@code Class.method}) as {@link Ratios} names them, from JMH's generated list. */
    private static Set<String> benchmarks() throws IOException {
        final String list;
        try (InputStream in = BenchmarkSmokeTest.class.getResourceAsStream("/META-INF/BenchmarkList")) {
            assertTrue(in != null, "JMH's annotation processor wrote no META-INF/BenchmarkList");
            list = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        final Set<String> out = new TreeSet<>();
        // each entry: "JMH S <n> <user class> S <n> <generated class> S <n> <method> ..."
        final Matcher m = Pattern.compile("^JMH S \\d+ (\\S+) S \\d+ \\S+ S \\d+ (\\S+) ", Pattern.MULTILINE).matcher(list);
        while (m.find()) out.add(m.group(1).replaceAll("^.*\\.", "") + "." + m.group(2));
        return out;
    }

    @Test
    void everyFigureNamesBenchmarksThatExist() throws IOException {
        final Set<String> known = benchmarks();
        assertTrue(known.size() > 30, "benchmarks found: " + known);
        for (Ratio r : Ratios.all()) {
            assertTrue(known.contains(r.measured()), r.name() + ": no benchmark " + r.measured());
            assertTrue(known.contains(r.baseline()), r.name() + ": no benchmark " + r.baseline());
        }
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void everyBenchmarkSetsUpRunsAndTearsDown() throws Exception {
        final Options opts = new OptionsBuilder()
                .include("dev\\.viommu\\.bench\\..*")
                .forks(0)                                   // in this JVM: a smoke run, not a measurement
                .warmupIterations(0)
                .measurementIterations(1)
                .measurementTime(TimeValue.milliseconds(100))
                .shouldFailOnError(true)
                .build();
        final Collection<RunResult> results = new Runner(opts).run();
        assertEquals(benchmarks().size(), results.size(), "benchmarks that produced a result");
        for (RunResult r : results) {
            final double score = r.getPrimaryResult().getScore();
            assertTrue(score > 0 && Double.isFinite(score), r.getParams().getBenchmark() + " scored " + score);
        }
    }
}
