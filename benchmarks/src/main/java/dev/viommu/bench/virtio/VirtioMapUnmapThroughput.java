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

import java.util.concurrent.TimeUnit;

/** MAP+UNMAP pairs through the request queue per second (one op = one MAP and one UNMAP, one doorbell). */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class VirtioMapUnmapThroughput {
    private VirtioIommuBench bench;
    private int i;

    @Setup(Level.Trial)
    public void setUp() { bench = new VirtioIommuBench(VirtioMapUnmap.PRELOADED); }

    @Benchmark
    public int mapUnmap() {
        i = (i + 1) & (VirtioMapUnmap.PRELOADED - 1);
        return bench.mapUnmap(VirtioMapUnmap.freeIova(i));
    }
}
