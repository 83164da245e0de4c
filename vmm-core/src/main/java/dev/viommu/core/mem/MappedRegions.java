package dev.viommu.core.mem;

import dev.viommu.core.posix.Posix;
import dev.viommu.core.posix.PosixException;

import java.lang.foreign.MemorySegment;

/**
 * Maps the files behind guest RAM: a memfd the hypervisor passed over SCM_RIGHTS, or a path under /dev/shm or
 * hugetlbfs. Mappings are {@code MAP_SHARED}, so the guest and the hypervisor see the sidecar's writes.
 */
public final class MappedRegions {
    private MappedRegions() {}

    /**
     * Maps {@code size} bytes of {@code fd} from {@code offset}. The file must be at least that long: mapping past
     * its end would turn guest accesses into SIGBUS. The caller keeps ownership of {@code fd}.
     */
    public static GuestRegion mapFd(final String name, final long gpaBase, final int fd, final long offset,
                                    final long size, final boolean readOnly) throws PosixException {
        if (size <= 0 || offset < 0 || (offset & 4095) != 0) {
            throw new IllegalArgumentException("size must be > 0 and offset page aligned");
        }
        final long fileSize = Posix.fileSize(fd);
        if (offset + size > fileSize) {
            throw new IllegalArgumentException("file is " + fileSize + " bytes, region needs " + (offset + size));
        }
        final MemorySegment seg = Posix.mmapShared(fd, size, offset, !readOnly);
        return new GuestRegion(name, gpaBase, size, seg, readOnly);
    }

    /** Opens and maps a path (for example /dev/shm/vm0-ram or a hugetlbfs file); the fd is closed after mapping. */
    public static GuestRegion mapPath(final String name, final long gpaBase, final String path, final long offset,
                                      final long size, final boolean readOnly) throws PosixException {
        final int fd = Posix.open(path, (readOnly ? 0 : Posix.O_RDWR) | Posix.O_CLOEXEC);
        try {
            return mapFd(name, gpaBase, fd, offset, size, readOnly);
        } finally {
            Posix.closeQuietly(fd);
        }
    }

    public static void unmap(final GuestRegion region) throws PosixException {
        Posix.munmap(region.segment());
    }
}
