package dev.viommu.backend.iommufd;

import dev.viommu.backend.iommufd.uapi.FdIo;
import dev.viommu.core.host.HostException;
import dev.viommu.core.host.ObjectId;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.posix.Errno;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * IommufdBackend's own logic on a machine without /dev/iommu: an "iommufd" that is really /dev/null answers every
 * ioctl with ENOTTY, so what happens before (and around) the ioctl shows. The real kernel runs in the rig.
 */
class IommufdBackendTest {
    static IommufdBackend onDevNull() throws HostException {
        return new IommufdBackend(Iommufd.adopt(FdIo.open("/dev/null", FdIo.O_RDWR)), GuestMemory::empty);
    }

    @Test
    void shouldRefuseADirtyBitmapShorterThanTheRangeWithEfaultBeforeAnyIoctl() throws Exception {
        try (IommufdBackend b = onDevNull()) {
            final ObjectId.Hwpt h = new ObjectId.Hwpt(5);
            final HostException shortMap = assertThrows(HostException.class,
                    () -> b.getDirtyBitmap(h, 0, 65 * 4096L, 4096, new long[1], false));
            assertEquals(Errno.EFAULT, shortMap.errno());
            final long[] bm = {0xF0};
            final HostException sent = assertThrows(HostException.class,
                    () -> b.getDirtyBitmap(h, 0, 64 * 4096L, 4096, bm, false));
            assertEquals(Errno.ENOTTY, sent.errno(), "a fitting bitmap reaches the ioctl");
            assertEquals("IOMMU_HWPT_GET_DIRTY_BITMAP", sent.operation());
            assertEquals(0xF0, bm[0], "the caller's words are left as they were");
            assertEquals(Errno.ENOTTY, assertThrows(HostException.class,
                    () -> b.getDirtyBitmap(h, 0, 4096, 0, new long[0], false)).errno(), "page size 0 is the kernel's to refuse");
        }
    }

    @Test
    void shouldNameTheIoctlAndErrnoOfEveryNewSpiCall() throws Exception {
        try (IommufdBackend b = onDevNull()) {
            assertEquals("IOMMU_IOAS_ALLOW_IOVAS", assertThrows(HostException.class,
                    () -> b.allowIovas(new ObjectId.Ioas(1), java.util.List.of())).operation());
            assertEquals("IOMMU_HWPT_SET_DIRTY_TRACKING", assertThrows(HostException.class,
                    () -> b.setDirtyTracking(new ObjectId.Hwpt(1), true)).operation());
            final byte[] data = {1, 2, 3};
            final HostException v = assertThrows(HostException.class,
                    () -> b.allocViommu(new ObjectId.Device(1), 1, new ObjectId.Hwpt(2), data));
            assertEquals("IOMMU_VIOMMU_ALLOC", v.operation());
            assertEquals(Errno.ENOTTY, v.errno());
            assertArrayEquals(new byte[] {1, 2, 3}, data);
            assertEquals(Errno.ENOENT, assertThrows(HostException.class,
                    () -> b.capabilities(new ObjectId.Device(1))).errno(), "a device not bound here");
        }
    }
}
