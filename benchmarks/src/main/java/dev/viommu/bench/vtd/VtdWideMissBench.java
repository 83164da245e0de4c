package dev.viommu.bench.vtd;

import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.core.translate.AccessType;
import dev.viommu.core.translate.Translation;
import dev.viommu.core.translate.TranslationService;
import dev.viommu.vtd.PageTableWriter;
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
 * P2 at a working set where IOTLB misses actually happen: a legacy 4-level second-stage domain mapping
 * {@value #PAGES} 4 KiB pages (4 GiB of IOVA; 8 MiB of leaf tables), translated in a scrambled order that visits
 * every page once per {@value #PAGES} translations, through the default 64 Ki-entry IOTLB.
 * <p>
 * Why this figure as well as {@link VtdTranslationBench#walkOnMiss}: a translation misses the IOTLB only when the
 * device's working set is larger than the IOTLB (256 MiB of 4 KiB pages at the default size), and then the leaf
 * entries it walks are spread over at least 512 KiB of tables and are rarely in the CPU's nearest caches. The hot
 * benchmark keeps 4096 pages' tables and a 64-entry IOTLB in L1, so its baseline is four L1 hits; this one reads
 * the leaf entries where a real miss finds them. Both sides read the same four entries per IOVA in the same
 * order ({@link #fourDependentReads} walks the same table without checks) and derive the IOVA the same way, so
 * the ratio is what the model adds to the memory traffic a walk cannot avoid. Neither figure replaces the other:
 * the README's Figures table reports both.
 * <p>
 * Every translation is checked to be a miss at tear-down, but for at most 1 in 10^5: with 64 fills into each
 * 4-way set per round, the pseudo-random victim choice very rarely keeps an entry for a whole round (seen: 3 in
 * 4 x 10^7).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class VtdWideMissBench {
    static final int PAGES = PageOrder.PAGES;
    static final long IOVA = 0x1_0000_0000L;

    private VtdBenchUnit unit;
    private TranslationService ts;
    private PageTableWriter table;
    private final Translation out = new Translation();
    private int n;
    private double hitsBefore, translationsBefore;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        unit = new VtdBenchUnit(64L << 20, false, Map.of());
        table = unit.legacyDomain(2);
        final long page = unit.pages.getAsLong();
        for (int p = 0; p < PAGES; p++) table.map(IOVA + ((long) p << 12), page, PageTableWriter.SIZE_4K, true);
        ts = unit.device.translation();
        // in the measured order, so that what the IOTLB holds afterwards comes round again only after 2^20 others
        for (int k = 0; k < PAGES; k++) {
            if (!ts.translate(VtdBenchUnit.SID, TranslationService.NO_PASID, IOVA + ((long) PageOrder.page(k) << 12), AccessType.READ, out)) {
                throw new IllegalStateException("translation failed in set-up: " + out);
            }
        }
        if (fourDependentReads() != page) throw new IllegalStateException("baseline walk does not reach the page");
        unit.device.describe();                                   // publishes the device's counters
        hitsBefore = unit.metrics.iotlbHits.count();
        translationsBefore = unit.metrics.translations.count();
    }

    /** {@link #walkOnMiss} must have missed the L0 and the IOTLB, but for 1 in 10^5. */
    @TearDown(Level.Trial)
    public void tearDown() {
        unit.device.describe();
        final double hits = unit.metrics.iotlbHits.count() - hitsBefore;
        final double translations = unit.metrics.translations.count() - translationsBefore;
        unit.close();
        if (hits > translations / 100_000) throw new IllegalStateException(hits + " of " + translations + " translations hit a cache");
    }

    private long nextIova() {
        return IOVA + ((long) PageOrder.page(n++) << 12);
    }

    /** The baseline: the same 4-level walk as 4 dependent guest-memory reads (index, read, mask, next). */
    @Benchmark
    public long fourDependentReads() throws GuestMemoryException {
        final long iova = nextIova();
        long t = table.root();
        for (int level = 4; level >= 1; level--) {
            t = unit.mem.read64(t + ((iova >>> (12 + 9 * (level - 1))) & 0x1FF) * 8) & 0x000F_FFFF_FFFF_F000L;
        }
        return t;
    }

    /** P2: a translation that misses the L0 and the IOTLB, walks 4 levels and fills both. */
    @Benchmark
    public long walkOnMiss() {
        ts.translate(VtdBenchUnit.SID, TranslationService.NO_PASID, nextIova(), AccessType.READ, out);
        return out.outputAddress;
    }
}
