package dev.viommu.bench.smmuv3;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.smmuv3.SmmuV3Harness;
import dev.viommu.bench.PageOrder;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The stage-1 miss figure at a working set where IOTLB misses actually happen: one stream mapping
 * {@value #PAGES} 4 KiB pages (4 GiB of VA; 8 MiB of leaf tables) onto 64 pages of RAM, translated in a
 * scrambled order that visits every page once per {@value #PAGES} translations, through the default IOTLB.
 * <p>
 * {@link SmmuV3Translation#walkMiss} keeps one leaf table and a 256-entry IOTLB in L1, so its baseline is four L1
 * hits. A device misses the IOTLB only when its working set is larger than the IOTLB, and then the leaf
 * descriptors it walks are spread over tables much larger than the nearest caches. Here both sides read the same
 * four descriptors per VA in the same order ({@link #fourDependentReads} walks the same table without checks), so
 * the ratio is what the model adds to the memory traffic a walk cannot avoid. The README's Figures table reports
 * both figures; neither replaces the other.
 * <p>
 * Every translation is checked to be a miss at tear-down.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class SmmuV3WideMiss {
    static final int PAGES = PageOrder.PAGES;

    private SmmuV3Harness h;
    private GuestMemory mem;
    private long root, hitsBefore, missesBefore;
    private int n;

    @Setup(Level.Trial)
    public void setUp() throws GuestMemoryException {
        h = new SmmuV3Harness(Map.of(), PAGES, 64);
        mem = h.memory();
        root = h.stage1Root();
        // in the measured order, so that what the IOTLB holds afterwards comes round again only after 2^20 others
        for (int p = 0; p < PAGES; p++) {
            if (h.translate(SmmuV3Harness.VA_BASE + ((long) PageOrder.page(p) << 12)) < 0) throw new IllegalStateException("page " + p);
        }
        final long va = SmmuV3Harness.VA_BASE + (5L << 12) + 0x40;
        if (h.walkOnly(va) != (fourDependentReads(va) | 0x40)) throw new IllegalStateException("baseline walk differs");
        hitsBefore = h.iotlbHits();
        missesBefore = h.iotlbMisses();
    }

    /** Every {@link #walkMiss} must have missed. */
    @TearDown(Level.Trial)
    public void checkMisses() {
        final long hits = h.iotlbHits() - hitsBefore, misses = h.iotlbMisses() - missesBefore;
        if (hits != 0) throw new IllegalStateException("walkMiss hit the IOTLB " + hits + " times, missed " + misses);
    }

    private long nextVa() {
        return SmmuV3Harness.VA_BASE + ((long) PageOrder.page(n++) << 12) + 0x40;
    }

    private long fourDependentReads(final long va) throws GuestMemoryException {
        long table = root;
        for (int lsb = 39; lsb >= 12; lsb -= 9) {
            table = mem.read64(table + ((va >>> lsb) & 511) * 8) & 0x0000_FFFF_FFFF_F000L;
        }
        return table;
    }

    /** The baseline: the 4 descriptors of the walk read as a chain of dependent guest-memory reads. */
    @Benchmark
    public long fourDependentReads() throws GuestMemoryException {
        return fourDependentReads(nextVa());
    }

    /** A translation on an IOTLB miss: a 4-level stage-1 walk and the fill. */
    @Benchmark
    public long walkMiss() {
        return h.translate(nextVa());
    }
}
