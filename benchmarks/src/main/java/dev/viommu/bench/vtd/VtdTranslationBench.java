package dev.viommu.bench.vtd;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.core.translate.AccessType;
import dev.viommu.core.translate.Translation;
import dev.viommu.core.translate.TranslationService;
import dev.viommu.vtd.PageTableWriter;
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

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * VT-d translation for an emulated endpoint, against plain guest-memory reads in the same run:
 * <ul>
 *   <li>P1: a translation that hits the IOTLB ({@link #iotlbHit}, legacy second stage; {@link #iotlbHitPasid},
 *       scalable first stage with a PASID) against one 8-byte guest-memory read ({@link #guestRead64});</li>
 *   <li>P2: a translation that misses and walks a 4-level second-stage table and fills the IOTLB
 *       ({@link #walkOnMiss}) against the same walk done as 4 dependent guest-memory reads
 *       ({@link #fourDependentReads}).</li>
 *   <li>Diagnostics for P2's floor: the same 4 reads with acquire loads ({@link #fourDependentAcquireReads}, what
 *       the walker used to do) and with opaque loads ({@link #fourDependentOpaqueReads}, what it does now), and a
 *       translation that misses the L0 but hits the IOTLB ({@link #iotlbHitAfterL0Miss}).</li>
 * </ul>
 * The miss benchmark cycles through 4096 pages with a 64-entry IOTLB, so every translation misses.
 * <p>
 * <b>Reading P2.</b> The baseline's 4 reads are independent from one invocation to the next, so the core overlaps
 * successive walks; in {@link #walkOnMiss} the same 4-load chain sits inside a few hundred other instructions
 * (request checks, L0 and IOTLB probes, the fill of both, the result) that fill the reorder window, so the
 * chain's latency shows. Measured by stubbing parts of the miss path out (thread CPU time of a plain loop over
 * these methods): everything but the walk ≈ 20 ns, of which the L0-hit-equivalent work ≈ 5, the IOTLB miss
 * probe ≈ 4, the IOTLB fill ≈ 5 and the L0 fill ≈ 3; the same 4 bare loads placed inside the translation (no
 * checks, unrolled) ≈ 10 ns against ≈ 4.4 ns on their own; opaque instead of plain loads ≈ 2.5 ns. See
 * viommu-vtd/docs/spec-coverage.md (figures) for the floor this gives.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class VtdTranslationBench {
    static final int HOT_PAGES = 16;
    static final int MISS_PAGES = 4096;
    static final long IOVA = 0x4000_0000L;

    private VtdBenchUnit hot, cold, pasid, big;
    private TranslationService hotTs, coldTs, pasidTs, bigTs;
    private PageTableWriter coldTable;
    private MemorySegment coldRam;
    private GuestMemory mem;
    private final Translation out = new Translation();
    private long[] dataPages;
    private int i;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        hot = new VtdBenchUnit(64L << 20, false, Map.of());
        final PageTableWriter pt = hot.legacyDomain(2);
        dataPages = new long[HOT_PAGES];
        for (int p = 0; p < HOT_PAGES; p++) {
            dataPages[p] = hot.pages.getAsLong();
            pt.map(IOVA + 4096L * p, dataPages[p], PageTableWriter.SIZE_4K, true);
        }
        hotTs = hot.device.translation();
        mem = hot.mem;

        cold = new VtdBenchUnit(64L << 20, false, Map.of("x-iotlb-size", 64));
        coldTable = cold.legacyDomain(2);
        final long page = cold.pages.getAsLong();
        for (int p = 0; p < MISS_PAGES; p++) coldTable.map(IOVA + 4096L * p, page, PageTableWriter.SIZE_4K, true);
        coldTs = cold.device.translation();
        coldRam = cold.mem.regions().getFirst().segment();

        big = new VtdBenchUnit(64L << 20, false, Map.of());
        final PageTableWriter bigTable = big.legacyDomain(2);
        final long bigPage = big.pages.getAsLong();
        for (int p = 0; p < MISS_PAGES; p++) bigTable.map(IOVA + 4096L * p, bigPage, PageTableWriter.SIZE_4K, true);
        bigTs = big.device.translation();

        pasid = new VtdBenchUnit(64L << 20, true, Map.of("x-scalable-mode", true, "x-flts", true, "x-pasid-mode", true));
        final PageTableWriter fs = pasid.firstStagePasid(7, 3);
        for (int p = 0; p < HOT_PAGES; p++) fs.map(IOVA + 4096L * p, pasid.pages.getAsLong(), PageTableWriter.SIZE_4K, true);
        pasidTs = pasid.device.translation();

        for (int k = 0; k < 4 * MISS_PAGES; k++) {
            check(hotTs.translate(VtdBenchUnit.SID, TranslationService.NO_PASID, IOVA + 4096L * (k % HOT_PAGES), AccessType.READ, out));
            check(coldTs.translate(VtdBenchUnit.SID, TranslationService.NO_PASID, IOVA + 4096L * (k % MISS_PAGES), AccessType.READ, out));
            check(pasidTs.translate(VtdBenchUnit.SID, 7, IOVA + 4096L * (k % HOT_PAGES), AccessType.READ, out));
            check(bigTs.translate(VtdBenchUnit.SID, TranslationService.NO_PASID, IOVA + 4096L * (k % MISS_PAGES), AccessType.READ, out));
        }
    }

    private void check(final boolean ok) {
        if (!ok) throw new IllegalStateException("translation failed in set-up: " + out);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        hot.close();
        cold.close();
        pasid.close();
        big.close();
    }

    /** P1 baseline: one 8-byte guest-memory read, over the same 16 pages. */
    @Benchmark
    public long guestRead64() throws GuestMemoryException {
        final int k = i = (i + 1) & (HOT_PAGES - 1);
        return mem.read64(dataPages[k] + 8);
    }

    /** P1: a legacy-mode translation that hits the IOTLB. */
    @Benchmark
    public long iotlbHit() {
        final int k = i = (i + 1) & (HOT_PAGES - 1);
        hotTs.translate(VtdBenchUnit.SID, TranslationService.NO_PASID, IOVA + 4096L * k + 8, AccessType.READ, out);
        return out.outputAddress;
    }

    /** P1, scalable mode: a PASID-tagged first-stage translation that hits the IOTLB (and the PASID cache). */
    @Benchmark
    public long iotlbHitPasid() {
        final int k = i = (i + 1) & (HOT_PAGES - 1);
        pasidTs.translate(VtdBenchUnit.SID, 7, IOVA + 4096L * k + 8, AccessType.READ, out);
        return out.outputAddress;
    }

    /** P2 baseline: the same 4-level walk as 4 dependent guest-memory reads (index, read, mask, next). */
    @Benchmark
    public long fourDependentReads() throws GuestMemoryException {
        final int k = i = (i + 1) & (MISS_PAGES - 1);
        final long iova = IOVA + 4096L * k;
        long table = coldTable.root();
        for (int level = 4; level >= 1; level--) {
            table = cold.mem.read64(table + ((iova >>> (12 + 9 * (level - 1))) & 0x1FF) * 8) & 0x000F_FFFF_FFFF_F000L;
        }
        return table;
    }

    /**
     * P2 floor, part 1: the 4 dependent reads as the walker must do them, single-copy-atomic with acquire order
     * ({@code load64Acquire}: alignment check, region check, acquire VarHandle).
     */
    @Benchmark
    public long fourDependentAcquireReads() throws GuestMemoryException {
        final int k = i = (i + 1) & (MISS_PAGES - 1);
        final long iova = IOVA + 4096L * k;
        long table = coldTable.root();
        for (int level = 4; level >= 1; level--) {
            table = cold.mem.load64Acquire(table + ((iova >>> (12 + 9 * (level - 1))) & 0x1FF) * 8) & 0x000F_FFFF_FFFF_F000L;
        }
        return table;
    }

    private static final VarHandle OPAQUE64 = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    /**
     * P2 floor, part 1b: the 4 reads as the walker does them ({@code TableReader}): opaque loads on the RAM segment,
     * single-copy atomic without an acquire fence.
     */
    @Benchmark
    public long fourDependentOpaqueReads() {
        final int k = i = (i + 1) & (MISS_PAGES - 1);
        final long iova = IOVA + 4096L * k;
        final MemorySegment seg = coldRam;
        long table = coldTable.root();
        for (int level = 4; level >= 1; level--) {
            table = (long) OPAQUE64.getOpaque(seg, table + ((iova >>> (12 + 9 * (level - 1))) & 0x1FF) * 8) & 0x000F_FFFF_FFFF_F000L;
        }
        return table;
    }

    /**
     * P2 floor, part 2: everything a miss does except the walk and the fill: the request checks, the L0 probe (a
     * miss: 4096 pages cycle through 256 L0 slots), the context-cache read, an IOTLB probe that hits and the L0
     * fill. Its cost is instructions, not cache footprint: the same loop over 512, 1024, 4096 or 16384 pages of a
     * default (64 Ki-entry, 2 MiB) IOTLB measured the same (≈ 16–17 ns).
     */
    @Benchmark
    public long iotlbHitAfterL0Miss() {
        final int k = i = (i + 1) & (MISS_PAGES - 1);
        bigTs.translate(VtdBenchUnit.SID, TranslationService.NO_PASID, IOVA + 4096L * k, AccessType.READ, out);
        return out.outputAddress;
    }

    /** P2: a translation that misses the IOTLB, walks 4 levels and fills the IOTLB (evicting a live entry) and the L0. */
    @Benchmark
    public long walkOnMiss() {
        final int k = i = (i + 1) & (MISS_PAGES - 1);
        coldTs.translate(VtdBenchUnit.SID, TranslationService.NO_PASID, IOVA + 4096L * k, AccessType.READ, out);
        return out.outputAddress;
    }
    /** The last result of a chained benchmark: the next IOVA depends on it, so invocations cannot overlap. */
    private long prevT;

    /**
     * P2 diagnostic, latency rather than throughput: {@link #fourDependentReads} with the next invocation's IOVA
     * data-dependent on this one's result ({@code prevT & 1} is always 0, but the JIT cannot know), so the core
     * cannot overlap successive chains. Against {@link #chainedWalkOnMiss}.
     */
    @Benchmark
    public long chainedFourDependentReads() throws GuestMemoryException {
        final int k = i = (i + 1 + (int) (prevT & 1)) & (MISS_PAGES - 1);
        final long iova = IOVA + 4096L * k;
        long table = coldTable.root();
        for (int level = 4; level >= 1; level--) {
            table = cold.mem.read64(table + ((iova >>> (12 + 9 * (level - 1))) & 0x1FF) * 8) & 0x000F_FFFF_FFFF_F000L;
        }
        return prevT = table;
    }
    /** P2 diagnostic: {@link #walkOnMiss} chained as {@link #chainedFourDependentReads} is. */
    @Benchmark
    public long chainedWalkOnMiss() {
        final int k = i = (i + 1 + (int) (prevT & 1)) & (MISS_PAGES - 1);
        coldTs.translate(VtdBenchUnit.SID, TranslationService.NO_PASID, IOVA + 4096L * k, AccessType.READ, out);
        return prevT = out.outputAddress;
    }
}
