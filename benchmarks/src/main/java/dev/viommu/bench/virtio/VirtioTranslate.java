package dev.viommu.bench.virtio;

import dev.viommu.virtio.iommu.VirtioIommuBench;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One DMA translation on an emulated endpoint whose domain holds 1M mappings (4 KiB each, a hole between
 * neighbours), against the baseline of one 8-byte guest-memory read, in two access patterns:
 * <ul>
 * <li>sequential: consecutive mappings (a device streaming through a buffer ring); the baseline reads
 *     consecutive guest pages;</li>
 * <li>random: a precomputed random permutation over all 1M mappings; the baseline reads random 8-byte words
 *     over the same 64 MiB of guest RAM, so both pay cache and TLB misses (the memory-latency floor).</li>
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class VirtioTranslate {
    static final int N = 1 << 20;
    private static final int MASK = N - 1;
    private static final long RAM_WORDS = (64L << 20) / 8;

    private VirtioIommuBench bench;
    private int[] order;
    private long[] gpas;
    private int i;

    @Setup(Level.Trial)
    public void setUp() {
        bench = new VirtioIommuBench(N);
        order = new int[N];
        gpas = new long[N];
        final SplittableRandom r = new SplittableRandom(42);
        for (int k = 0; k < N; k++) order[k] = k;
        for (int k = N - 1; k > 0; k--) {
            final int j = r.nextInt(k + 1);
            final int t = order[k];
            order[k] = order[j];
            order[j] = t;
        }
        for (int k = 0; k < N; k++) gpas[k] = r.nextLong(RAM_WORDS) * 8;
    }

    @Benchmark
    public long translateSequential() {
        final int k = i = (i + 1) & MASK;
        return bench.translate(VirtioIommuBench.iova(k));
    }

    @Benchmark
    public long translateRandom() {
        final int k = i = (i + 1) & MASK;
        return bench.translate(VirtioIommuBench.iova(order[k]));
    }

    /** Baseline for the sequential pattern: consecutive 4 KiB guest pages. */
    @Benchmark
    public long guestReadSequential() {
        final int k = i = (i + 1) & MASK;
        return bench.guestRead(((long) k << 12) & ((64L << 20) - 1));
    }

    /** Baseline for the random pattern: random 8-byte words over 64 MiB of guest RAM. */
    @Benchmark
    public long guestReadRandom() {
        final int k = i = (i + 1) & MASK;
        return bench.guestRead(gpas[k]);
    }
}
