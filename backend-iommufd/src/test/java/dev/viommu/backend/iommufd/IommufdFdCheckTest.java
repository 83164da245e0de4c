package dev.viommu.backend.iommufd;

import dev.viommu.backend.iommufd.uapi.FdIo;
import dev.viommu.core.host.HostDeviceRef;
import dev.viommu.core.host.HostException;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.posix.Errno;
import dev.viommu.core.posix.Posix;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The iommufd provider takes a passed descriptor only if it is /dev/iommu, and leaves a refused one open (still
 * the caller's); the iommufd backend never closes a device descriptor it was lent, even when the bind fails.
 */
class IommufdFdCheckTest {
    private final IommufdBackendProvider provider = new IommufdBackendProvider();

    private HostException refused(final int fd) {
        return assertThrows(HostException.class, () -> provider.create(Map.of("fd", fd), GuestMemory::empty));
    }

    @Test
    void shouldRefuseAMemfdAsNotACharacterDeviceAndLeaveItOpen() throws Throwable {
        final int memfd = FdProbe.memfd("not-an-iommufd");
        try {
            final String target = FdProbe.target(memfd);
            final HostException e = refused(memfd);
            assertEquals(Errno.ENOTTY, e.errno());
            assertTrue(e.getMessage().contains("not a character device"), e.getMessage());
            assertEquals(target, FdProbe.target(memfd), "still open, still the caller's");
        } finally {
            Posix.close(memfd);
        }
    }

    @Test
    void shouldRefuseAnEventfdAndLeaveItOpen() throws Throwable {
        final int efd = FdProbe.eventfd();
        try {
            assertEquals(Errno.ENOTTY, refused(efd).errno());
            assertEquals("anon_inode:[eventfd]", FdProbe.target(efd));
        } finally {
            Posix.close(efd);
        }
    }

    @Test
    void shouldRefuseAnotherCharacterDeviceByItsNumberOrItsAnswerToIommuOption() throws Exception {
        final int devNull = Posix.open("/dev/null", Posix.O_RDWR | Posix.O_CLOEXEC);
        try {
            final HostException e = refused(devNull);
            assertEquals(Errno.ENOTTY, e.errno());
            // with /dev/iommu visible the device numbers differ; without, /dev/null does not know IOMMU_OPTION
            assertTrue(e.getMessage().contains(Files.exists(Path.of(Iommufd.DEV_IOMMU)) ? "is not /dev/iommu" : "does not answer IOMMU_OPTION"),
                    e.getMessage());
            assertEquals("/dev/null", FdProbe.target(devNull));
        } finally {
            Posix.close(devNull);
        }
    }

    @Test
    void shouldRefuseANumberThatIsNotOpenWithEbadf() throws Throwable {
        final int devNull = Posix.open("/dev/null", Posix.O_RDWR | Posix.O_CLOEXEC);
        final int gone = FdProbe.dupAtLeast(devNull, 0);
        Posix.close(gone);
        Posix.close(devNull);
        assertEquals(Errno.EBADF, refused(gone).errno());
    }

    @Test
    void shouldReadTheTypeAndDeviceNumberOfAnOpenDescriptor() throws Exception {
        final int devNull = Posix.open("/dev/null", Posix.O_RDWR | Posix.O_CLOEXEC);
        try {
            final FdIo.Stat st = FdIo.fstat(devNull);
            assertTrue(st.isCharDevice());
            assertEquals(1, st.rdevMajor(), "/dev/null is 1:3");
            assertEquals(3, st.rdevMinor());
            assertEquals(st, FdIo.stat("/dev/null"), "the path and the descriptor agree");
        } finally {
            Posix.close(devNull);
        }
    }

    // A real /dev/iommu passing the check is proved in the rig VM (InGuestChecks.descriptorCheck): this host has none.

    @Test
    void shouldCloseOnlyItsOwnDuplicateWhenBindingALentDescriptorFails() throws Exception {
        final Path dir = Files.createTempDirectory("iommufd-lent");
        final Path file = Files.createFile(dir.resolve("vfio-cdev"));
        final int lent = Posix.open(file.toString(), Posix.O_RDWR | Posix.O_CLOEXEC);
        try (IommufdBackend b = IommufdBackendTest.onDevNull()) {
            // a regular file is no VFIO cdev: VFIO_DEVICE_BIND_IOMMUFD fails (ENOTTY) on the backend's duplicate
            assertEquals(Errno.ENOTTY, assertThrows(HostException.class,
                    () -> b.bindDevice(new HostDeviceRef("fd:vfio", lent))).errno());
            assertEquals(file.toString(), FdProbe.target(lent), "the lender's descriptor is untouched");
            assertEquals(1, FdProbe.countOn(file.toString()), "and the duplicate is gone");
        } finally {
            Posix.close(lent);
            Files.delete(file);
            Files.delete(dir);
        }
    }
}
