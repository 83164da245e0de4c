package dev.viommu.bench.vtd;

import dev.viommu.core.host.NoHostBackend;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.core.metrics.DeviceMetrics;
import dev.viommu.core.spi.DeviceContext;
import dev.viommu.core.spi.DeviceModel;
import dev.viommu.core.spi.DeviceRegistry;
import dev.viommu.core.spi.EventSink;
import dev.viommu.core.spi.InterruptSink;
import dev.viommu.core.spi.MmioRegion;
import dev.viommu.vtd.PageTableWriter;

import java.util.Map;
import java.util.function.LongSupplier;

/**
 * One VT-d unit over anonymous guest RAM, created by driver name and programmed through its registers the way a
 * guest does (root table, queued invalidation, TE), with the tables built by {@link PageTableWriter}.
 */
final class VtdBenchUnit implements AutoCloseable {
    static final int RTADDR = 0x20, GCMD = 0x18, IQT = 0x88, IQA = 0x90;
    static final int TE = 1 << 31, SRTP = 1 << 30, QIE = 1 << 26;
    static final int SID = 0x0010;

    final GuestMemory mem;
    final DeviceMetrics metrics;
    final DeviceModel device;
    final MmioRegion regs;
    final LongSupplier pages;
    final boolean scalable;
    private final long root, iq;
    private long iqTail;
    private long pasidDir;

    VtdBenchUnit(final long ramBytes, final boolean scalable, final Map<String, ?> props) throws Exception {
        this.mem = GuestMemory.anonymous(0, ramBytes);
        this.scalable = scalable;
        this.metrics = DeviceMetrics.detached("bench");
        final DeviceContext ctx = new DeviceContext(() -> mem, new NoHostBackend(), InterruptSink.NONE, EventSink.NONE, metrics);
        this.device = DeviceRegistry.load().create("intel-iommu", "bench0", props, ctx);
        this.regs = device.mmioRegions().get(0);
        this.pages = PageTableWriter.bumpAllocator(mem, 0x10_0000L, ramBytes);
        this.iq = pages.getAsLong();
        this.root = pages.getAsLong();
        regs.write(IQT, 8, 0);
        regs.write(IQA, 8, iq | (scalable ? 1L << 11 : 0));
        regs.write(RTADDR, 8, root | (scalable ? 1L << 10 : 0));
        regs.write(GCMD, 4, QIE | SRTP);
        regs.write(GCMD, 4, Integer.toUnsignedLong(QIE | TE));
    }

    private long contextTable(final boolean upper) throws GuestMemoryException {
        final long ra = root + (SID >>> 8) * 16L + (upper ? 8 : 0);
        long re = mem.read64(ra);
        if ((re & 1) == 0) {
            re = pages.getAsLong() | 1;
            mem.write64(ra, re);
        }
        return re & ~0xFFFL;
    }

    /** A legacy context for SID: domain {@code did}, a 4-level second stage. */
    PageTableWriter legacyDomain(final int did) throws GuestMemoryException {
        final PageTableWriter pt = new PageTableWriter(mem, pages, PageTableWriter.Format.SECOND_STAGE, 4);
        final long ce = contextTable(false) + (SID & 0xFF) * 16L;
        mem.write64(ce + 8, 2 | (long) did << 8);
        mem.write64(ce, pt.root() | 1);
        return pt;
    }

    /** A scalable context for SID with PASIDE and a full directory; PASID {@code pasid} uses a first stage. */
    PageTableWriter firstStagePasid(final int pasid, final int did) throws GuestMemoryException {
        if (pasidDir == 0) {
            pasidDir = pages.getAsLong();
            final long ce = contextTable((SID & 0x80) != 0) + (SID & 0x7F) * 32L;
            mem.write64(ce, pasidDir | 1 << 3 | 7L << 9 | 1);
        }
        final PageTableWriter fs = new PageTableWriter(mem, pages, PageTableWriter.Format.FIRST_STAGE, 4);
        final long de = pasidDir + (pasid >>> 6) * 8L;
        long d = mem.read64(de);
        if ((d & 1) == 0) {
            d = pages.getAsLong() | 1;
            mem.write64(de, d);
        }
        final long pe = (d & ~0xFFFL) + (pasid & 0x3F) * 64L;
        mem.write64(pe + 8, did);
        mem.write64(pe + 16, fs.root());
        mem.write64(pe, 1L << 6 | 1);
        return fs;
    }

    /** Queues one descriptor (no wait: processing is synchronous) and kicks IQT. */
    void invalidate(final long qw0, final long qw1) throws GuestMemoryException {
        mem.write64(iq + iqTail, qw0);
        mem.write64(iq + iqTail + 8, qw1);
        if (scalable) {
            mem.write64(iq + iqTail + 16, 0);
            mem.write64(iq + iqTail + 24, 0);
        }
        iqTail = (iqTail + (scalable ? 32 : 16)) % 4096;
        regs.write(IQT, 8, iqTail);
    }

    @Override public void close() { device.close(); }
}
