package dev.viommu.bench.vtd;

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

import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A PASID-selective PASID-IOTLB invalidation (descriptor type 6, G = 01, through the queue) of a PASID holding
 * 1 Mi live IOTLB entries ({@link #flushMillionEntryPasid}), against the same invalidation of a PASID holding one
 * entry while the other 1 Mi entries stay live ({@link #flushOneEntryPasid}). Both are O(1) in the IOTLB (a
 * generation bump), whatever the live entries or the 20-bit PASID and 16-bit DID spaces; what is measured is the
 * queue path, single-shot. Each invocation refills by translating (the 1 Mi refill leaves the CPU caches cold).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, batchSize = 1)
@Measurement(iterations = 5, batchSize = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
public class VtdFlushBench {
    static final int ENTRIES = 1 << 20;
    static final int BIG = 7, SMALL = 8, DID = 3;
    static final long IOVA = 0x1_0000_0000L;

    private VtdBenchUnit unit;
    private TranslationService ts;
    private final Translation out = new Translation();
    private boolean bigLive;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        unit = new VtdBenchUnit(512L << 20, true, Map.of("x-scalable-mode", true, "x-flts", true, "x-pasid-mode", true,
                "x-iotlb-size", 2 * ENTRIES));
        final PageTableWriter big = unit.firstStagePasid(BIG, DID);
        final long page = unit.pages.getAsLong();
        for (int p = 0; p < ENTRIES; p++) big.map(IOVA + 4096L * p, page, PageTableWriter.SIZE_4K, true);
        final PageTableWriter small = unit.firstStagePasid(SMALL, DID);
        small.map(IOVA, page, PageTableWriter.SIZE_4K, true);
        ts = unit.device.translation();
    }

    @TearDown(Level.Trial)
    public void tearDown() { unit.close(); }

    private void fillBig() {
        if (bigLive) return;
        for (int p = 0; p < ENTRIES; p++) {
            if (!ts.translate(VtdBenchUnit.SID, BIG, IOVA + 4096L * p, AccessType.READ, out)) throw new IllegalStateException(out.toString());
        }
        bigLive = true;
    }

    @Setup(Level.Invocation)
    public void refill() {
        fillBig();
        if (!ts.translate(VtdBenchUnit.SID, SMALL, IOVA, AccessType.READ, out)) throw new IllegalStateException(out.toString());
    }

    private void flushPasid(final int pasid) throws Exception {
        unit.invalidate(0x6 | 2 << 4 | (long) DID << 16 | (long) pasid << 32, 0);
    }

    /** Flushes the PASID that holds 1 Mi entries. */
    @Benchmark
    public void flushMillionEntryPasid() throws Exception {
        flushPasid(BIG);
        bigLive = false;
    }

    /** Flushes the PASID that holds one entry, with 1 Mi entries of another PASID live in the same domain. */
    @Benchmark
    public void flushOneEntryPasid() throws Exception {
        flushPasid(SMALL);
    }
}
