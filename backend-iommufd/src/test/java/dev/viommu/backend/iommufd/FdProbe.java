package dev.viommu.backend.iommufd;

import dev.viommu.core.posix.Posix;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Descriptor probes for the ownership tests: what a number points at (/proc/self/fd), how many descriptors point
 * at a file, a descriptor placed at (or above) a chosen number, an eventfd and a memfd. A file opened for one test
 * has a path no other descriptor shares, so counting the links to it counts that test's descriptors.
 */
public final class FdProbe {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle FCNTL = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("fcntl"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle EVENTFD = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("eventfd"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle MEMFD = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("memfd_create"),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final int F_DUPFD_CLOEXEC = 1030, CLOEXEC = 0x80000;

    private FdProbe() {}

    /** What descriptor {@code fd} points at, or null when it is not open. */
    public static String target(final int fd) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
        } catch (IOException e) {
            return null;
        }
    }

    /** How many of this process's descriptors point at {@code target}. */
    public static int countOn(final String target) throws IOException {
        int n = 0;
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            for (Path p : s.toList()) {
                try {
                    if (Files.readSymbolicLink(p).toString().equals(target)) n++;
                } catch (IOException e) {
                    // closed while listing
                }
            }
        }
        return n;
    }

    /** A duplicate of {@code fd} at the lowest free number {@code >= min} (F_DUPFD_CLOEXEC). */
    public static int dupAtLeast(final int fd, final int min) throws Throwable {
        final int d = (int) FCNTL.invokeExact(fd, F_DUPFD_CLOEXEC, min);
        if (d < 0) throw new IllegalStateException("fcntl(F_DUPFD_CLOEXEC) failed");
        return d;
    }

    /**
     * Opens {@code file} on the lowest free number {@code >= min}: on {@code min} itself when it is free (open takes
     * the lowest free number, so a result above {@code min} means {@code min} is in use).
     */
    public static int openAtLeast(final Path file, final int min) throws Throwable {
        final int fd = Posix.open(file.toString(), Posix.O_RDWR | Posix.O_CLOEXEC);
        if (fd >= min) return fd;
        final int moved = dupAtLeast(fd, min);
        Posix.close(fd);
        return moved;
    }

    public static int eventfd() throws Throwable {
        final int fd = (int) EVENTFD.invokeExact(0, CLOEXEC);
        if (fd < 0) throw new IllegalStateException("eventfd failed");
        return fd;
    }

    public static int memfd(final String name) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            final int fd = (int) MEMFD.invokeExact(a.allocateFrom(name), 1 /* MFD_CLOEXEC */);
            if (fd < 0) throw new IllegalStateException("memfd_create failed");
            return fd;
        }
    }
}
