package dev.viommu.backend.sim;

import dev.viommu.core.host.HostException;
import dev.viommu.core.host.HwptAlloc;
import dev.viommu.core.host.ObjectId;
import dev.viommu.core.posix.Errno;
import org.junit.jupiter.api.Test;

import static dev.viommu.backend.sim.SimFixture.RAM;
import static dev.viommu.backend.sim.SimFixture.RW;
import static dev.viommu.backend.sim.SimFixture.errno;
import static org.junit.jupiter.api.Assertions.*;

/** IOMMU_HWPT_SET_DIRTY_TRACKING and IOMMU_HWPT_GET_DIRTY_BITMAP through the SPI, as hw_pagetable.c checks them. */
class SimDirtyTrackingTest {
    final SimFixture f = new SimFixture();
    final SimHostBackend sim = f.sim;

    ObjectId.Hwpt dirtyDomain(final ObjectId.Device dev, final ObjectId.Ioas ioas) throws HostException {
        final ObjectId.Hwpt h = sim.allocHwpt(new HwptAlloc.Paging(dev, ioas, true, null));
        sim.attach(dev, -1, h);
        sim.map(ioas, 0, RAM, 0x10000, RW);
        return h;
    }

    long[] read(final ObjectId.Hwpt h, final long pageSize, final boolean noClear) throws HostException {
        final long[] bm = new long[1];
        sim.getDirtyBitmap(h, 0, 0x10000, pageSize, bm, noClear);
        return bm;
    }

    @Test
    void shouldCheckTheBitmapGeometryLikeIommufdCheckIovaRange() throws Exception {
        final ObjectId.Device gpu = f.bind("sim:gpu0");
        final ObjectId.Ioas ioas = sim.allocIoas();
        final ObjectId.Hwpt h = dirtyDomain(gpu, ioas);
        final long[] bm = new long[4];
        assertEquals(Errno.EINVAL, errno(() -> sim.getDirtyBitmap(h, 0, 0, 0x1000, bm, false)), "length 0");
        assertEquals(Errno.EOVERFLOW, errno(() -> sim.getDirtyBitmap(h, -0x1000L, 0x2000, 0x1000, bm, false)));
        assertEquals(Errno.EINVAL, errno(() -> sim.getDirtyBitmap(h, 0x800, 0x1000, 0x800, bm, false)), "not IOAS aligned");
        assertEquals(Errno.EINVAL, errno(() -> sim.getDirtyBitmap(h, 0, 0x1000, 0, bm, false)), "page size 0");
        assertEquals(Errno.EINVAL, errno(() -> sim.getDirtyBitmap(h, 0x1000, 0x2000, 0x2000, bm, false)), "not page-size aligned");
        assertEquals(Errno.EFAULT, errno(() -> sim.getDirtyBitmap(h, 0, 257L * 0x1000, 0x1000, bm, false)), "257 bits > 256");
        sim.getDirtyBitmap(h, 0, 256L * 0x1000, 0x1000, bm, false);
        assertEquals(Errno.ENOENT, errno(() -> sim.getDirtyBitmap(new ObjectId.Hwpt(999), 0, 0x1000, 0x1000, bm, false)));
        assertEquals(Errno.ENOENT, errno(() -> sim.setDirtyTracking(new ObjectId.Hwpt(999), true)));
    }

    @Test
    void shouldRefuseDirtyOpsOnDomainsWithoutThemAndOnNestedHwpts() throws Exception {
        final ObjectId.Device gpu = f.bind("sim:gpu0");
        final ObjectId.Ioas ioas = sim.allocIoas();
        final ObjectId.Hwpt plain = sim.allocHwpt(new HwptAlloc.Paging(gpu, ioas, false, null));
        assertEquals(Errno.EOPNOTSUPP, errno(() -> sim.setDirtyTracking(plain, true)));
        assertEquals(Errno.EOPNOTSUPP, errno(() -> sim.getDirtyBitmap(plain, 0, 0x1000, 0x1000, new long[1], false)));
        final ObjectId.Hwpt parent = sim.allocHwpt(new HwptAlloc.NestParent(gpu, ioas, true));
        final ObjectId.Hwpt nested = sim.allocHwpt(new HwptAlloc.Nested(gpu, parent,
                new HwptAlloc.NestedData.VtdS1(0, 0x1000, 48), null));
        assertEquals(Errno.ENOENT, errno(() -> sim.setDirtyTracking(nested, true)), "dirty state lives in the parent");
        sim.setDirtyTracking(parent, true);
        assertEquals(Errno.EOPNOTSUPP, errno(() -> sim.allocHwpt(new HwptAlloc.Paging(f.bind("sim:old0"), ioas, true, null))));
    }

    @Test
    void shouldClearOnEnableAndKeepRecordedPagesAfterDisableOnVtd() throws Exception {
        final ObjectId.Device gpu = f.bind("sim:gpu0");
        final ObjectId.Hwpt h = dirtyDomain(gpu, sim.allocIoas());
        sim.dma(gpu, -1, 0x1000, new byte[8], true);
        assertArrayEquals(new long[] {0}, read(h, 0x1000, false), "VT-d records nothing before SSADE is on");
        sim.setDirtyTracking(h, true);
        sim.dma(gpu, -1, 0x2000, new byte[8], true);
        sim.setDirtyTracking(h, false);
        sim.dma(gpu, -1, 0x5000, new byte[8], true);
        assertArrayEquals(new long[] {0b100}, read(h, 0x1000, true), "the last round survives the disable");
        sim.setDirtyTracking(h, true);
        assertArrayEquals(new long[] {0}, read(h, 0x1000, false), "enabling starts a clean snapshot");
    }

    @Test
    void shouldAlwaysRecordOnAnSmmuv3DomainWithDirtyOps() throws Exception {
        final ObjectId.Device nic = f.bind("sim:nic0");
        final ObjectId.Hwpt h = dirtyDomain(nic, sim.allocIoas());
        sim.dma(nic, -1, 0x7000, new byte[8], true);
        assertArrayEquals(new long[] {1L << 7}, read(h, 0x1000, false), "arm_smmu_set_dirty_tracking: always enabled");
    }

    @Test
    void shouldFoldDirtyPagesIntoTheBitmapsPageSize() throws Exception {
        final ObjectId.Device gpu = f.bind("sim:gpu0");
        final ObjectId.Hwpt h = dirtyDomain(gpu, sim.allocIoas());
        sim.setDirtyTracking(h, true);
        sim.dma(gpu, -1, 0x3000, new byte[0x1001], true);     // pages 0x3000 and 0x4000
        assertArrayEquals(new long[] {0b110}, read(h, 0x2000, true), "8 KiB bits 1 and 2");
        assertArrayEquals(new long[] {0b1111L << 6}, read(h, 0x800, true), "2 KiB bits 6..9");
        final long[] bm = {1L << 63};
        sim.getDirtyBitmap(h, 0, 0x10000, 0x1000, bm, false);
        assertArrayEquals(new long[] {(1L << 63) | 0b11000}, bm, "bits are ORed in, never cleared");
    }

    @Test
    void shouldDropDirtyStateOfUnmappedPagesAndLogEachCall() throws Exception {
        final ObjectId.Device gpu = f.bind("sim:gpu0");
        final ObjectId.Ioas ioas = sim.allocIoas();
        final ObjectId.Hwpt h = dirtyDomain(gpu, ioas);
        sim.setDirtyTracking(h, true);
        sim.dma(gpu, -1, 0x3000, new byte[8], true);
        sim.unmap(ioas, 0, 0x10000);
        assertArrayEquals(new long[] {0}, read(h, 0x1000, false));
        final SimCall get = sim.calls().getLast();
        assertEquals("IOMMU_HWPT_GET_DIRTY_BITMAP", get.op());
        assertTrue(get.ok());
        assertTrue(sim.ops().contains("IOMMU_HWPT_SET_DIRTY_TRACKING"));
    }

    @Test
    void shouldFailDirtyCallsWithAnInjectedErrno() throws Exception {
        final ObjectId.Device gpu = f.bind("sim:gpu0");
        final ObjectId.Hwpt h = dirtyDomain(gpu, sim.allocIoas());
        sim.failNext("IOMMU_HWPT_GET_DIRTY_BITMAP", Errno.ENOMEM);
        assertEquals(Errno.ENOMEM, errno(() -> read(h, 0x1000, false)));
        assertEquals(Errno.ENOMEM, sim.calls().getLast().errno());
        read(h, 0x1000, false);
    }
}
