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

/**
 * MAP + UNMAP of one 4 KiB page through the request queue (both requests queued, one doorbell, as Linux batches
 * them), in a domain that already holds 64K mappings; against the baseline of the ring and descriptor traffic
 * alone ({@link VirtioIommuBench#ringTraffic}): the same guest-memory reads and writes a split virtqueue needs for
 * the two requests (driver fills the requests and the avail ring; device reads the avail ring, the two
 * two-descriptor chains and the request bodies, writes the tails and the used ring), without the device's
 * decoding, checks and mapping-table work. The ratio is the device's overhead over the virtqueue's own floor.
 * {@link VirtioMapUnmapThroughput} reports the same operation in ops/s.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class VirtioMapUnmap {
    static final int PRELOADED = 1 << 16;
    private VirtioIommuBench bench;
    private int i;

    @Setup(Level.Trial)
    public void setUp() { bench = new VirtioIommuBench(PRELOADED); }

    /** A free IOVA: inside the hole after mapping {@code k}. */
    static long freeIova(final int k) { return VirtioIommuBench.iova(k) - 0x80 + VirtioIommuBench.PAGE; }

    @Benchmark
    public int mapUnmap() {
        i = (i + 1) & (PRELOADED - 1);
        return bench.mapUnmap(freeIova(i));
    }

    @Benchmark
    public int ringTraffic() {
        i = (i + 1) & (PRELOADED - 1);
        return bench.ringTraffic(freeIova(i));
    }
}
