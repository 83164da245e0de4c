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
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Command-queue processing cost per command: a batch of {@link #BATCH} TLBI_NH_VA commands plus a CMD_SYNC,
 * published with one CMDQ_PROD write (how Linux's arm_smmu_cmdq_issue_cmdlist submits an unmap), reported per
 * command. The baseline is the one cost no implementation can avoid: fetching each 16-byte command from guest
 * memory ({@link #fetchOnly}: two 8-byte reads per command over the same queue memory), so the ratio is the
 * price of decoding, executing (IOTLB scan of live entries, invalidation notice, metrics) and the queue
 * bookkeeping on top of the fetch.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class SmmuV3CommandQueue {
    /** Commands per batch, as one io-pgtable unmap of 63 pages gives without RIL, plus its CMD_SYNC. */
    static final int BATCH = 63;

    private SmmuV3Harness h;
    private GuestMemory mem;
    private long cmdq;
    private int slot;

    @Setup(Level.Trial)
    public void setUp() {
        h = new SmmuV3Harness(Map.of(), BATCH);
        mem = h.memory();
        cmdq = h.commandQueueBase();
        for (int p = 0; p < BATCH; p++) h.translate(SmmuV3Harness.VA_BASE + ((long) p << 12));   // live IOTLB entries
    }

    /** {@link #BATCH} TLBI_NH_VA + CMD_SYNC, per command. */
    @Benchmark
    @OperationsPerInvocation(BATCH + 1)
    public int tlbiBatch() {
        h.runTlbiBatch(BATCH);
        return h.iotlbEntries();
    }

    /** The baseline: one 16-byte command fetch from guest memory, per command. */
    @Benchmark
    @OperationsPerInvocation(BATCH + 1)
    public long fetchOnly() throws GuestMemoryException {
        long x = 0;
        for (int k = 0; k <= BATCH; k++) {
            final long a = cmdq + 16L * (slot = (slot + 1) & 1023);
            x += mem.read64(a) ^ mem.read64(a + 8);
        }
        return x;
    }
}
