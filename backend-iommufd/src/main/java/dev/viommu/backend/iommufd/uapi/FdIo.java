package dev.viommu.backend.iommufd.uapi;

import dev.viommu.core.host.HostException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The plain libc calls around the iommufd and VFIO fds: open/close, dup and statx, read/write on the fault and
 * vEVENTQ fds, pread/pwrite on VFIO regions, and getpid (the baseline downcall of the FFM-overhead benchmark). errno goes to
 * the calling thread's capture segment, as for {@link Ioctl}.
 */
public final class FdIo {
    public static final int O_RDWR = 2, O_CLOEXEC = 0x80000;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final VarHandle ERRNO = MethodHandles.insertCoordinates(
            Ioctl.CAPTURE.varHandle(PathElement.groupElement("errno")), 1, 0L);
    private static final Linker.Option ERRNO_OPT = Linker.Option.captureCallState("errno");

    private static final MethodHandle OPEN = LINKER.downcallHandle(LIBC.findOrThrow("open"),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2), ERRNO_OPT);
    private static final MethodHandle CLOSE = LINKER.downcallHandle(LIBC.findOrThrow("close"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT), ERRNO_OPT);
    private static final MethodHandle READ = LINKER.downcallHandle(LIBC.findOrThrow("read"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), ERRNO_OPT);
    private static final MethodHandle WRITE = LINKER.downcallHandle(LIBC.findOrThrow("write"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), ERRNO_OPT);
    private static final MethodHandle PREAD = LINKER.downcallHandle(LIBC.findOrThrow("pread"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG), ERRNO_OPT);
    private static final MethodHandle PWRITE = LINKER.downcallHandle(LIBC.findOrThrow("pwrite"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG), ERRNO_OPT);
    private static final MethodHandle GETPID = LINKER.downcallHandle(LIBC.findOrThrow("getpid"),
            FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle FCNTL = LINKER.downcallHandle(LIBC.findOrThrow("fcntl"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2), ERRNO_OPT);
    private static final MethodHandle STATX = LINKER.downcallHandle(LIBC.findOrThrow("statx"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS), ERRNO_OPT);

    /** fcntl(2) F_DUPFD_CLOEXEC. */
    static final int F_DUPFD_CLOEXEC = 1030;
    /** statx(2): AT_FDCWD, AT_EMPTY_PATH, STATX_TYPE | STATX_MODE. */
    static final int AT_FDCWD = -100, AT_EMPTY_PATH = 0x1000, STATX_MODE_MASK = 0x3;
    /** struct statx (linux/stat.h, 256 bytes; the same on every architecture): the offsets read here. */
    static final long STATX_SIZE = 256, STX_MODE = 0x1C, STX_RDEV_MAJOR = 0x80, STX_RDEV_MINOR = 0x84;
    /** S_IFMT and S_IFCHR (the file type bits of st_mode). */
    public static final int S_IFMT = 0xF000, S_IFCHR = 0x2000;

    /** What statx said of a file: its mode and, for a device node, the device number it stands for. */
    public record Stat(int mode, int rdevMajor, int rdevMinor) {
        public boolean isCharDevice() { return (mode & S_IFMT) == S_IFCHR; }
    }

    private FdIo() {}

    private static int errno(final MemorySegment capture) { return (int) ERRNO.get(capture); }

    public static int open(final String path, final int flags) throws HostException {
        try (Arena a = Arena.ofConfined()) {
            final MemorySegment capture = Scratch.get().capture();
            final int fd = (int) OPEN.invokeExact(capture, a.allocateFrom(path), flags | O_CLOEXEC, 0);
            if (fd < 0) throw new HostException("open " + path, errno(capture));
            return fd;
        } catch (final HostException e) {
            throw e;
        } catch (final Throwable t) {
            throw new AssertionError("open linkage", t);
        }
    }

    /** close(2); returns 0 or -errno. */
    public static int close(final int fd) {
        final MemorySegment capture = Scratch.get().capture();
        try {
            final int rc = (int) CLOSE.invokeExact(capture, fd);
            return rc < 0 ? -errno(capture) : 0;
        } catch (final Throwable t) {
            throw new AssertionError("close linkage", t);
        }
    }

    /** read(2) into {@code buf}; bytes read or -errno. */
    public static long read(final int fd, final MemorySegment buf, final long len) {
        final MemorySegment capture = Scratch.get().capture();
        try {
            final long n = (long) READ.invokeExact(capture, fd, buf, len);
            return n < 0 ? -errno(capture) : n;
        } catch (final Throwable t) {
            throw new AssertionError("read linkage", t);
        }
    }

    /** write(2) from {@code buf}; bytes written or -errno. */
    public static long write(final int fd, final MemorySegment buf, final long len) {
        final MemorySegment capture = Scratch.get().capture();
        try {
            final long n = (long) WRITE.invokeExact(capture, fd, buf, len);
            return n < 0 ? -errno(capture) : n;
        } catch (final Throwable t) {
            throw new AssertionError("write linkage", t);
        }
    }

    /** pread(2) (VFIO region access at region offset + register); bytes read or -errno. */
    public static long pread(final int fd, final MemorySegment buf, final long len, final long offset) {
        final MemorySegment capture = Scratch.get().capture();
        try {
            final long n = (long) PREAD.invokeExact(capture, fd, buf, len, offset);
            return n < 0 ? -errno(capture) : n;
        } catch (final Throwable t) {
            throw new AssertionError("pread linkage", t);
        }
    }

    /** pwrite(2); bytes written or -errno. */
    public static long pwrite(final int fd, final MemorySegment buf, final long len, final long offset) {
        final MemorySegment capture = Scratch.get().capture();
        try {
            final long n = (long) PWRITE.invokeExact(capture, fd, buf, len, offset);
            return n < 0 ? -errno(capture) : n;
        } catch (final Throwable t) {
            throw new AssertionError("pwrite linkage", t);
        }
    }

    /**
     * fcntl(fd, F_DUPFD_CLOEXEC, 0): a new descriptor for the same open file, owned by the caller. A backend
     * keeps one of these for a device it was lent, so the lender's close never pulls the file from under it.
     */
    public static int dupCloexec(final int fd) throws HostException {
        final MemorySegment capture = Scratch.get().capture();
        final int dup;
        try {
            dup = (int) FCNTL.invokeExact(capture, fd, F_DUPFD_CLOEXEC, 0);
        } catch (final Throwable t) {
            throw new AssertionError("fcntl linkage", t);
        }
        if (dup < 0) throw new HostException("fcntl(F_DUPFD_CLOEXEC) of fd " + fd, errno(capture));
        return dup;
    }

    /** statx(2) of an open descriptor (AT_EMPTY_PATH): the file's type and device number. */
    public static Stat fstat(final int fd) throws HostException {
        return statx(fd, "", AT_EMPTY_PATH, "statx of fd " + fd);
    }

    /** statx(2) of a path, following symlinks (udev's /dev nodes may be links). */
    public static Stat stat(final String path) throws HostException {
        return statx(AT_FDCWD, path, 0, "statx " + path);
    }

    private static Stat statx(final int dirfd, final String path, final int flags, final String what) throws HostException {
        try (Arena a = Arena.ofConfined()) {
            final MemorySegment buf = a.allocate(STATX_SIZE, 8);
            final MemorySegment capture = Scratch.get().capture();
            final int rc;
            try {
                rc = (int) STATX.invokeExact(capture, dirfd, a.allocateFrom(path), flags, STATX_MODE_MASK, buf);
            } catch (final Throwable t) {
                throw new AssertionError("statx linkage", t);
            }
            if (rc < 0) throw new HostException(what, errno(capture));
            return new Stat(Short.toUnsignedInt(buf.get(java.lang.foreign.ValueLayout.JAVA_SHORT, STX_MODE)),
                    buf.get(JAVA_INT, STX_RDEV_MAJOR), buf.get(JAVA_INT, STX_RDEV_MINOR));
        }
    }

    /** getpid(2): the cheapest downcall, the baseline for the ioctl round-trip benchmark. */
    public static int getpid() {
        try {
            return (int) GETPID.invokeExact();
        } catch (final Throwable t) {
            throw new AssertionError("getpid linkage", t);
        }
    }
}
