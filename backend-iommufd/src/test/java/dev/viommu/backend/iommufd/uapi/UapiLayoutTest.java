package dev.viommu.backend.iommufd.uapi;

import dev.viommu.core.host.HostException;
import dev.viommu.core.posix.Errno;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The layouts against the sizes, offsets and request numbers of iommufd-uapi.md (checked there with gcc); the
 * {@link LayoutConformanceTest} checks them against the real 7.3 headers.
 */
class UapiLayoutTest {
    static final Map<StructLayout, Long> SIZES = Map.ofEntries(
            Map.entry(IommuDestroy.LAYOUT, 8L), Map.entry(IommuIoasAlloc.LAYOUT, 12L),
            Map.entry(IommuIoasAllowIovas.LAYOUT, 24L), Map.entry(IommuIoasCopy.LAYOUT, 40L),
            Map.entry(IommuIoasIovaRanges.LAYOUT, 32L), Map.entry(IommuIoasMap.LAYOUT, 40L),
            Map.entry(IommuIoasUnmap.LAYOUT, 24L), Map.entry(IommuOption.LAYOUT, 24L),
            Map.entry(IommuVfioIoas.LAYOUT, 12L), Map.entry(IommuHwptAlloc.LAYOUT, 48L),
            Map.entry(IommuHwInfo.LAYOUT, 40L), Map.entry(IommuHwptSetDirtyTracking.LAYOUT, 16L),
            Map.entry(IommuHwptGetDirtyBitmap.LAYOUT, 48L), Map.entry(IommuHwptInvalidate.LAYOUT, 32L),
            Map.entry(IommuFaultAlloc.LAYOUT, 16L), Map.entry(IommuIoasMapFile.LAYOUT, 40L),
            Map.entry(IommuViommuAlloc.LAYOUT, 40L), Map.entry(IommuVdeviceAlloc.LAYOUT, 24L),
            Map.entry(IommuIoasChangeProcess.LAYOUT, 8L), Map.entry(IommuVeventqAlloc.LAYOUT, 32L),
            Map.entry(IommuHwQueueAlloc.LAYOUT, 40L), Map.entry(IommuIoasNoiommuGetPa.LAYOUT, 40L),
            Map.entry(IommuHwptVtdS1.LAYOUT, 24L), Map.entry(IommuHwptArmSmmuv3.LAYOUT, 16L),
            Map.entry(IommuHwInfoVtd.LAYOUT, 24L), Map.entry(IommuHwInfoArmSmmuv3.LAYOUT, 40L),
            Map.entry(IommuHwptVtdS1Invalidate.LAYOUT, 24L), Map.entry(IommuViommuArmSmmuv3Invalidate.LAYOUT, 16L),
            Map.entry(IommuHwptPgfault.LAYOUT, 40L), Map.entry(IommuHwptPageResponse.LAYOUT, 8L),
            Map.entry(IommufdVeventHeader.LAYOUT, 8L), Map.entry(IommuVeventArmSmmuv3.LAYOUT, 32L),
            Map.entry(VfioDeviceBindIommufd.LAYOUT, 24L), Map.entry(VfioDeviceAttachIommufdPt.LAYOUT, 16L),
            Map.entry(VfioDeviceDetachIommufdPt.LAYOUT, 12L), Map.entry(VfioDeviceInfo.LAYOUT, 24L),
            Map.entry(VfioRegionInfo.LAYOUT, 32L), Map.entry(IommuTestCmd.LAYOUT, 72L));

    @Test
    void shouldMatchTheReferenceSizes() {
        SIZES.forEach((l, size) -> assertEquals(size, l.byteSize(), l.name().orElseThrow()));
        assertEquals(4, IommuHwInfoArmSmmuv3.LAYOUT.byteAlignment(), "hw_info_arm_smmuv3 has only u32s");
    }

    @Test
    void shouldPlaceTheFieldsWhereTheKernelReadsThem() {
        assertEquals(24, IommuHwInfo.OUT_DATA_TYPE.offset());
        assertEquals(24, IommuHwInfo.IN_DATA_TYPE.offset());
        assertEquals(28, IommuHwInfo.OUT_MAX_PASID_LOG2.offset());
        assertEquals(32, IommuHwInfo.OUT_CAPABILITIES.offset());
        assertEquals(40, IommuHwptAlloc.FAULT_ID.offset());
        assertEquals(24, IommuHwptInvalidate.ENTRY_NUM.offset());
        assertEquals(36, IommuHwptPgfault.COOKIE.offset());
        assertEquals(8, IommuHwInfoArmSmmuv3.IDR.offset());
        assertEquals(32, IommuHwInfoArmSmmuv3.IIDR.offset());
        assertEquals(16, VfioDeviceBindIommufd.TOKEN_UUID_PTR.offset());
        assertEquals(10, IommuOption.LAYOUT.byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement("__reserved")));
        assertEquals(64, IommuTestCmd.LAST.offset());
    }

    @Test
    void shouldEncodeEveryIoctlAsUnderscoreIoOfSemicolon() {
        assertEquals(0x3B80, IommufdUapi.IOMMU_DESTROY);
        assertEquals(0x3B85, IommufdUapi.IOMMU_IOAS_MAP);
        assertEquals(0x3B8D, IommufdUapi.IOMMU_HWPT_INVALIDATE);
        assertEquals(0x3B93, IommufdUapi.IOMMU_VEVENTQ_ALLOC);
        assertEquals(0x3B95, IommufdUapi.IOMMU_IOAS_NOIOMMU_GET_PA);
        assertEquals(0x3BA0, IommuTestCmd.IOMMU_TEST_CMD);
        assertEquals(0x3B6B, VfioUapi.VFIO_DEVICE_GET_INFO);
        assertEquals(0x3B76, VfioUapi.VFIO_DEVICE_BIND_IOMMUFD);
        assertEquals(0x3B77, VfioUapi.VFIO_DEVICE_ATTACH_IOMMUFD_PT);
        assertEquals(0x3B78, VfioUapi.VFIO_DEVICE_DETACH_IOMMUFD_PT);
    }

    @Test
    void shouldZeroTheScratchStructAndSetItsSize() {
        final MemorySegment a = Scratch.get().struct(IommuIoasMap.LAYOUT);
        IommuIoasMap.IOVA.set(a, -1L);
        final MemorySegment b = Scratch.get().struct(IommuIoasMap.LAYOUT);
        assertEquals(0, IommuIoasMap.IOVA.get(b));
        assertEquals(40, IommuIoasMap.SIZE.get(b));
    }

    @Test
    void shouldCaptureErrnoOfARealIoctlPerThread() throws Exception {
        final int fd = FdIo.open("/dev/null", FdIo.O_RDWR);
        try {
            final MemorySegment a = Scratch.get().struct(IommuIoasAlloc.LAYOUT);
            assertEquals(-Errno.ENOTTY, Ioctl.invoke(fd, IommufdUapi.IOMMU_IOAS_ALLOC, a));
            final HostException e = assertThrows(HostException.class,
                    () -> Ioctl.call("IOMMU_IOAS_ALLOC", fd, IommufdUapi.IOMMU_IOAS_ALLOC, a));
            assertEquals(Errno.ENOTTY, e.errno());
            assertTrue(e.getMessage().contains("ENOTTY"), e.getMessage());
            assertEquals(-Errno.EBADF, Ioctl.invoke(-1, IommufdUapi.IOMMU_DESTROY, a));
        } finally {
            FdIo.close(fd);
        }
        assertEquals(Errno.ENOENT, assertThrows(HostException.class, () -> FdIo.open("/nonexistent/iommu", FdIo.O_RDWR)).errno());
    }

    @Test
    void shouldWriteStePayloadLittleEndian() {
        try (Arena arena = Arena.ofConfined()) {
            final MemorySegment s = arena.allocate(IommuHwptArmSmmuv3.LAYOUT);
            IommuHwptArmSmmuv3.STE.set(s, 1, 0x0102030405060708L);
            assertEquals(0x08, s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 8));
        }
    }

    @Test
    void shouldNotAllocateOnTheIoctlPathAfterWarmup() throws Exception {
        final int fd = FdIo.open("/dev/null", FdIo.O_RDWR);
        try {
            final com.sun.management.ThreadMXBean mx =
                    (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
            // warm up until C2 has compiled the path (up to 20 rounds), then require a flat round
            long best = Long.MAX_VALUE;
            for (int round = 0; round < 20 && best >= 1_000; round++) {
                final long before = mx.getCurrentThreadAllocatedBytes();
                for (int i = 0; i < 50_000; i++) Ioctl.invoke(fd, IommufdUapi.IOMMU_DESTROY, Scratch.get().struct(IommuDestroy.LAYOUT));
                best = Math.min(best, mx.getCurrentThreadAllocatedBytes() - before);
            }
            assertTrue(best < 1_000, "allocated " + best + " bytes for 50k ioctls after warm-up");
        } finally {
            FdIo.close(fd);
        }
    }
}
