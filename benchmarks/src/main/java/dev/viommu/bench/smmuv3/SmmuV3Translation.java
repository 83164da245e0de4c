package dev.viommu.bench.smmuv3;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.smmuv3.SmmuV3Harness;
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

import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * SMMUv3 DMA translation for an emulated endpoint against guest-memory reads from the same RAM, in the same run
 * ({@link SmmuV3Ratios}):
 * <ul>
 *   <li>{@link #iotlbHit}: one stage-1 stream, the page in the IOTLB, against {@link #oneGuestRead} (one 8-byte
 *       read of guest memory: what a device model pays at least to look at anything in RAM);</li>
 *   <li>{@link #walkMiss}: the IOTLB emptied first, so a full 4-level walk of the 4 KiB-granule, 48-bit stage-1
 *       table (STE and CD stay in the config cache), against {@link #fourDependentGuestReads} (a chain of four
 *       8-byte reads, each address taken from the previous value, as a walk's four descriptor fetches are).</li>
 * </ul>
 * The translated IOVA rotates over 64 pages so neither side runs on one hot cache line only.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class SmmuV3Translation {
    static final int PAGES = 64;

    private SmmuV3Harness h;
    private GuestMemory mem;
    private long chainHead;
    private int i;

    @Setup(Level.Trial)
    public void setUp() throws GuestMemoryException {
        h = new SmmuV3Harness(Map.of(), PAGES);
        mem = h.memory();
        for (int p = 0; p < PAGES; p++) {
            if (h.translate(SmmuV3Harness.VA_BASE + ((long) p << 12)) < 0) throw new IllegalStateException("page " + p + " does not translate");
        }
        // Four descriptors' worth of pointers, in four different pages of guest RAM, as a walk finds them.
        final long[] nodes = {SmmuV3Harness.PA_BASE + 0x100, SmmuV3Harness.PA_BASE + 0x5208,
                SmmuV3Harness.PA_BASE + 0xA310, SmmuV3Harness.PA_BASE + 0x1F418};
        for (int k = 0; k < 3; k++) mem.write64(nodes[k], nodes[k + 1]);
        mem.write64(nodes[3], SmmuV3Harness.PA_BASE);
        chainHead = nodes[0];
    }

    private long nextIova() {
        i = (i + 1) & (PAGES - 1);
        return SmmuV3Harness.VA_BASE + ((long) i << 12) + 0x40;
    }

    /** The baseline: one 8-byte guest-memory read. */
    @Benchmark
    public long oneGuestRead() {
        return h.guestRead(SmmuV3Harness.PA_BASE + ((long) ((i = (i + 1) & (PAGES - 1))) << 12));
    }

    /** A translation on an IOTLB hit. */
    @Benchmark
    public long iotlbHit() {
        return h.translate(nextIova());
    }

    /** The baseline: four dependent 8-byte guest-memory reads. */
    @Benchmark
    public long fourDependentGuestReads() throws GuestMemoryException {
        long a = chainHead;
        a = mem.read64(a);
        a = mem.read64(a);
        a = mem.read64(a);
        return mem.read64(a);
    }

    /** A translation on an IOTLB miss: a 4-level stage-1 walk. */
    @Benchmark
    public long walkMiss() {
        return h.translateMiss(nextIova());
    }
}
