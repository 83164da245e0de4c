package dev.viommu.backend.sim;

import dev.viommu.core.host.HwptAlloc;
import dev.viommu.core.host.ObjectId;
import dev.viommu.core.posix.Errno;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.viommu.backend.sim.SimFixture.errno;
import static org.junit.jupiter.api.Assertions.*;

/** IOMMU_VIOMMU_ALLOC with and without driver data, in iommufd_viommu_alloc_ioctl's order of checks. */
class SimViommuAllocTest {
    static final int ARM_SMMUV3 = 1, TEGRA241_CMDQV = 2;
    final SimFixture f = new SimFixture();
    final SimHostBackend sim = f.sim;

    @Test
    void shouldCheckTypeThenDeviceThenDriverThenParentLikeTheKernel() throws Exception {
        final ObjectId.Device nic = f.bind("sim:nic0");
        final ObjectId.Ioas ioas = sim.allocIoas();
        final ObjectId.Hwpt parent = sim.allocHwpt(new HwptAlloc.NestParent(nic, ioas, false));
        final ObjectId.Hwpt paging = sim.allocHwpt(new HwptAlloc.Paging(nic, ioas, false, null));
        assertEquals(Errno.EOPNOTSUPP, errno(() -> sim.allocViommu(new ObjectId.Device(999), 0, parent, null)),
                "type DEFAULT is refused before the device is looked up");
        assertEquals(Errno.ENOENT, errno(() -> sim.allocViommu(new ObjectId.Device(999), ARM_SMMUV3, parent, null)));
        assertEquals(Errno.EOPNOTSUPP, errno(() -> sim.allocViommu(nic, TEGRA241_CMDQV, parent, new byte[16])),
                "no CMDQV on this SMMU: get_viommu_size returns 0");
        assertEquals(Errno.ENOENT, errno(() -> sim.allocViommu(nic, ARM_SMMUV3, new ObjectId.Hwpt(999), null)));
        assertEquals(Errno.EINVAL, errno(() -> sim.allocViommu(nic, ARM_SMMUV3, paging, null)), "not a nest parent");
        final ObjectId.Device nic1 = f.bind("sim:nic1");
        final ObjectId.Hwpt otherParent = sim.allocHwpt(new HwptAlloc.NestParent(nic1, sim.allocIoas(), false));
        assertEquals(Errno.EINVAL, errno(() -> sim.allocViommu(nic, ARM_SMMUV3, otherParent, null)), "arm_vsmmu_init");
        final ObjectId.Viommu vi = sim.allocViommu(nic, ARM_SMMUV3, parent, null);
        final ObjectId.Hwpt nested = sim.allocHwpt(new HwptAlloc.Nested(nic, vi,
                new HwptAlloc.NestedData.SmmuV3Ste(0, 0), null));
        assertEquals(Errno.ENOENT, errno(() -> sim.allocViommu(nic, ARM_SMMUV3, nested, null)),
                "a nested HWPT is not a paging one");
    }

    @Test
    void shouldRefuseVtdAndNonNestingSmmuWithEopnotsupp() throws Exception {
        final ObjectId.Device gpu = f.bind("sim:gpu0");
        final ObjectId.Hwpt vtdParent = sim.allocHwpt(new HwptAlloc.NestParent(gpu, sim.allocIoas(), false));
        assertEquals(Errno.EOPNOTSUPP, errno(() -> sim.allocViommu(gpu, ARM_SMMUV3, vtdParent, null)),
                "intel-iommu has no viommu_init in 7.3");
        final ObjectId.Device nic2 = f.bind("sim:nic2");
        final ObjectId.Hwpt paging = sim.allocHwpt(new HwptAlloc.Paging(nic2, sim.allocIoas(), false, null));
        assertEquals(Errno.EOPNOTSUPP, errno(() -> sim.allocViommu(nic2, ARM_SMMUV3, paging, null)),
                "no ARM_SMMU_FEAT_NESTING, checked before the parent");
    }

    @Test
    void shouldAcceptAndIgnoreDriverDataForArmSmmuv3AndLogItsLength() throws Exception {
        final ObjectId.Device nic = f.bind("sim:nic0");
        final ObjectId.Hwpt parent = sim.allocHwpt(new HwptAlloc.NestParent(nic, sim.allocIoas(), false));
        final byte[] data = {1, 2, 3, 4, 5, 6, 7, 8};
        final ObjectId.Viommu vi = sim.allocViommu(nic, ARM_SMMUV3, parent, data);
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, data, "no out fields for ARM_SMMUV3");
        final SimCall call = sim.calls().getLast();
        assertEquals("IOMMU_VIOMMU_ALLOC", call.op());
        assertEquals(List.of(nic, ARM_SMMUV3, parent, 8), call.args());
        assertEquals(Errno.EBUSY, errno(() -> sim.destroy(parent)), "the vIOMMU holds its parent");
        sim.destroy(vi);
        sim.destroy(parent);
    }
}
