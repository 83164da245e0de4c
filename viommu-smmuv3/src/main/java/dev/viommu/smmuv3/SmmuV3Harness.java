package dev.viommu.smmuv3;

import dev.viommu.core.host.NoHostBackend;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.core.metrics.DeviceMetrics;
import dev.viommu.core.spi.DeviceContext;
import dev.viommu.core.spi.DeviceException;
import dev.viommu.core.spi.EventSink;
import dev.viommu.core.spi.InterruptSink;
import dev.viommu.core.spi.MmioRegion;
import dev.viommu.core.spi.Properties;
import dev.viommu.core.spi.PropertyException;
import dev.viommu.core.translate.AccessType;
import dev.viommu.core.translate.Translation;
import dev.viommu.core.translate.TranslationService;

import java.util.Map;

/**
 * A ready-to-run SMMUv3 over anonymous guest memory, for benchmarks (the JMH module) and allocation tests: a
 * linear stream table, queues, one stage-1 stream ({@link #SID}, 4 KiB granule, 48-bit VA: a 4-level walk)
 * mapping {@code pages} pages at {@link #VA_BASE}, and the SMMU enabled. Everything is programmed through MMIO
 * and guest memory as a driver would. Not thread-safe.
 */
public final class SmmuV3Harness {
    public static final int SID = 1;
    public static final int ASID = 1;
    public static final long VA_BASE = 0x40_0000_0000L;
    public static final long PA_BASE = 0x100_0000L;

    private static final long STRTAB = 0x1_0000, CMDQ = 0x2_0000, EVTQ = 0x3_0000, CD = 0x4_0000, TABLES = 0x10_0000;
    private static final int CMDQ_LOG2 = 10;

    private final GuestMemory mem;
    private final SmmuV3Device device;
    private final MmioRegion regs;
    private final Translation out = new Translation();
    private final TranslationService service;
    private long brk = TABLES;
    private final long root;
    private int cmdProd;

    /** {@code properties}: arm-smmuv3 properties (defaults if empty); {@code pages}: 4 KiB pages to map. */
    public SmmuV3Harness(final Map<String, ?> properties, final int pages) {
        this(properties, pages, pages);
    }

    /**
     * As {@link #SmmuV3Harness(Map, int)}, but VA page {@code i} maps to PA page {@code i % physPages}: a wide
     * mapping (up to 2^20 pages, whose tables fit below {@link #PA_BASE}) over little RAM.
     */
    public SmmuV3Harness(final Map<String, ?> properties, final int pages, final int physPages) {
        if (pages < 1 || pages > 1 << 20 || physPages < 1 || physPages > pages) {
            throw new IllegalArgumentException("pages " + pages + ", physPages " + physPages);
        }
        mem = GuestMemory.anonymous(0, PA_BASE + ((long) physPages << 12) + (1 << 20));
        try {
            final SmmuV3Provider p = new SmmuV3Provider();
            final Properties props = Properties.parse(p.driver(), p.properties(), properties);
            final DeviceContext ctx = new DeviceContext(() -> mem, new NoHostBackend(), InterruptSink.NONE, EventSink.NONE,
                    DeviceMetrics.detached("bench"));
            device = (SmmuV3Device) p.create("bench", props, ctx);
        } catch (PropertyException | DeviceException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        regs = device.mmioRegions().get(0);
        service = device.translation();   // held once, as an emulated device's DMA path holds it
        regs.write(0x80, 8, STRTAB);                         // STRTAB_BASE, linear, 2^8 STEs
        regs.write(0x88, 4, 8);
        regs.write(0x90, 8, CMDQ | CMDQ_LOG2);                // CMDQ_BASE
        regs.write(0xA0, 8, EVTQ | 8);                        // EVENTQ_BASE
        regs.write(0x20, 4, 0b1101);                          // CMDQEN | EVENTQEN | SMMUEN
        root = alloc();
        try {
            for (int i = 0; i < pages; i++) map(VA_BASE + ((long) i << 12), PA_BASE + ((long) (i % physPages) << 12));
            mem.write64(CD + 8, root);
            mem.write64(CD, 16 | (1L << 8) | (1L << 10) | (3L << 12) | (1L << 30) | (1L << 31) | (5L << 32)
                    | (1L << 41) | (1L << 45) | (1L << 46) | (1L << 47) | ((long) ASID << 48));
            final long ste = STRTAB + 64L * SID;
            mem.write64(ste + 8, 1L << 44);
            mem.write64(ste, 1 | (5L << 1) | CD);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    private long alloc() {
        final long p = brk;
        if (p + 4096 > PA_BASE) throw new IllegalStateException("page tables would overlap the mapped RAM");
        brk += 4096;
        return p;
    }

    private void map(final long va, final long pa) throws GuestMemoryException {
        long table = root;
        for (int level = 0; level < 3; level++) {
            final long slot = table + 8 * ((va >>> (39 - 9 * level)) & 511);
            long d = mem.read64(slot);
            if ((d & 1) == 0) {
                d = alloc() | 3;
                mem.write64(slot, d);
            }
            table = d & 0x0000_FFFF_FFFF_F000L;
        }
        mem.write64(table + 8 * ((va >>> 12) & 511), pa | 3 | (1L << 6) | (1L << 10) | (3L << 8) | (1L << 11));
    }

    public SmmuV3Device device() { return device; }

    public GuestMemory memory() { return mem; }

    public TranslationService translation() { return device.translation(); }

    /** Translates a read of {@code iova} by {@link #SID}; returns the output address or -1. Allocation-free on a hit. */
    public long translate(final long iova) {
        return service.translate(SID, TranslationService.NO_PASID, iova, AccessType.READ, out) ? out.outputAddress : -1;
    }

    /**
     * Pages to rotate through, in order, so that every translation misses: twice the IOTLB's capacity. Each set
     * then sees 2 × ways distinct pages in turn and round-robin replacement has always evicted a page before it
     * comes round again, so each translation is a genuine miss (a walk and a fill) with nothing else in between.
     * Needs a harness built with at least this many pages.
     */
    public int missRotation() { return 2 * device.translator.iotlb().capacity(); }

    /**
     * The 4-level stage-1 walk of {@code iova} alone (no IOTLB probe, fill or dispatch), for the benchmarks' cost
     * breakdown: the walk must have been done once through {@link #translate} so the stream context is cached.
     */
    public long walkOnly(final long iova) {
        return device.translator.walkOnly(SID, TranslationService.NO_PASID, iova, AccessType.READ);
    }

    /** The guest-physical base of the stage-1 level-0 table (CD.TTB0), for the benchmarks' bare-walk floor. */
    public long stage1Root() { return root; }

    /** IOTLB hits so far. */
    public long iotlbHits() { return device.translator.lookups(true); }

    /** IOTLB misses so far (translations that walked or faulted). */
    public long iotlbMisses() { return device.translator.lookups(false); }

    /** The baseline for ratios: one 64-bit guest-memory read at {@code gpa}. */
    public long guestRead(final long gpa) {
        try {
            return mem.read64(gpa);
        } catch (GuestMemoryException e) {
            return -1;
        }
    }

    /**
     * Queues {@code n} TLBI_NH_VA commands for consecutive pages plus a CMD_SYNC and rings CMDQ_PROD: the device
     * processes them synchronously. {@code n} must leave room for the sync (n < 1023).
     */
    public void runTlbiBatch(final int n) {
        final int mask = (2 << CMDQ_LOG2) - 1;
        try {
            for (int i = 0; i < n; i++) {
                final long a = CMDQ + 16L * (cmdProd & ((1 << CMDQ_LOG2) - 1));
                mem.write64(a, 0x12 | ((long) ASID << 48));
                mem.write64(a + 8, (VA_BASE + ((long) i << 12)) | 1);
                cmdProd = (cmdProd + 1) & mask;
            }
            final long a = CMDQ + 16L * (cmdProd & ((1 << CMDQ_LOG2) - 1));
            mem.write64(a, 0x46);
            mem.write64(a + 8, 0);
            cmdProd = (cmdProd + 1) & mask;
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
        regs.write(0x98, 4, cmdProd);
    }

    /** The command queue's guest-physical base (2^10 entries of 16 bytes). */
    public long commandQueueBase() { return CMDQ; }

    /** Entries in the IOTLB now. */
    public int iotlbEntries() { return device.translator.iotlb().size(); }
}
