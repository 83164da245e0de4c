package dev.viommu.core.posix;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The few libc calls vmm-core needs: mapping guest RAM, memfds, and {@code sendmsg}/{@code recvmsg} with
 * SCM_RIGHTS (Netty's fd mode drops the data bytes, so QMP-style fd passing needs its own recvmsg).
 * Every call captures errno into a per-thread segment and throws {@link PosixException} naming it.
 */
public final class Posix {
    public static final int PROT_READ = 1, PROT_WRITE = 2;
    public static final int MAP_SHARED = 1;
    public static final int MFD_CLOEXEC = 1;
    public static final int O_RDWR = 2, O_CLOEXEC = 0x80000;
    public static final int F_GETFD = 1, F_SETFD = 2, FD_CLOEXEC = 1;
    public static final int AF_UNIX = 1, SOCK_STREAM = 1, SOCK_CLOEXEC = 0x80000;
    public static final int SOL_SOCKET = 1, SCM_RIGHTS = 1;
    public static final int MSG_DONTWAIT = 0x40, MSG_NOSIGNAL = 0x4000, MSG_CMSG_CLOEXEC = 0x40000000;
    public static final int MSG_CTRUNC = 0x8;
    /** Most descriptors accepted in one message: the same limit as QEMU's qio channel (16). */
    public static final int MAX_FDS_PER_MESSAGE = 16;

    /** struct msghdr on LP64: 56 bytes, with the padding the C compiler inserts spelled out. */
    public static final StructLayout MSGHDR = MemoryLayout.structLayout(
            ADDRESS.withName("msg_name"), JAVA_INT.withName("msg_namelen"), MemoryLayout.paddingLayout(4),
            ADDRESS.withName("msg_iov"), JAVA_LONG.withName("msg_iovlen"), ADDRESS.withName("msg_control"),
            JAVA_LONG.withName("msg_controllen"), JAVA_INT.withName("msg_flags"), MemoryLayout.paddingLayout(4));
    /** struct iovec: 16 bytes. */
    public static final StructLayout IOVEC = MemoryLayout.structLayout(
            ADDRESS.withName("iov_base"), JAVA_LONG.withName("iov_len"));
    /** struct cmsghdr header: 16 bytes; data follows, aligned to 8. */
    public static final StructLayout CMSGHDR = MemoryLayout.structLayout(
            JAVA_LONG.withName("cmsg_len"), JAVA_INT.withName("cmsg_level"), JAVA_INT.withName("cmsg_type"));
    /** struct sockaddr_un: 110 bytes. */
    public static final StructLayout SOCKADDR_UN = MemoryLayout.structLayout(
            JAVA_SHORT.withName("sun_family"), MemoryLayout.sequenceLayout(108, java.lang.foreign.ValueLayout.JAVA_BYTE).withName("sun_path"));

    private static final VarHandle MSG_NAME = MSGHDR.varHandle(PathElement.groupElement("msg_name"));
    private static final VarHandle MSG_IOV = MSGHDR.varHandle(PathElement.groupElement("msg_iov"));
    private static final VarHandle MSG_IOVLEN = MSGHDR.varHandle(PathElement.groupElement("msg_iovlen"));
    private static final VarHandle MSG_CONTROL = MSGHDR.varHandle(PathElement.groupElement("msg_control"));
    private static final VarHandle MSG_CONTROLLEN = MSGHDR.varHandle(PathElement.groupElement("msg_controllen"));
    private static final VarHandle MSG_FLAGS = MSGHDR.varHandle(PathElement.groupElement("msg_flags"));
    private static final VarHandle IOV_BASE = IOVEC.varHandle(PathElement.groupElement("iov_base"));
    private static final VarHandle IOV_LEN = IOVEC.varHandle(PathElement.groupElement("iov_len"));
    private static final VarHandle CMSG_LEN = CMSGHDR.varHandle(PathElement.groupElement("cmsg_len"));
    private static final VarHandle CMSG_LEVEL = CMSGHDR.varHandle(PathElement.groupElement("cmsg_level"));
    private static final VarHandle CMSG_TYPE = CMSGHDR.varHandle(PathElement.groupElement("cmsg_type"));

    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = MethodHandles.insertCoordinates(
            CAPTURE.varHandle(PathElement.groupElement("errno")), 1, 0L);
    private static final ThreadLocal<MemorySegment> CAPTURE_SEGMENT =
            ThreadLocal.withInitial(() -> Arena.global().allocate(CAPTURE));

    private static final class Native {
        static final Linker LINKER = Linker.nativeLinker();
        static final SymbolLookup LIBC = LINKER.defaultLookup();
    }

    // Each downcall is linked on first use, in a holder class of its own: linking spins bytecode, and the
    // sidecar must not pay for calls it has not made yet (start-up is measured).
    private static final class MmapH { static final MethodHandle H = link("mmap",
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG)); }
    private static final class MunmapH { static final MethodHandle H = link("munmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG)); }
    private static final class CloseH { static final MethodHandle H = link("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT)); }
    private static final class MemfdCreateH { static final MethodHandle H = link("memfd_create",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT)); }
    private static final class FtruncateH { static final MethodHandle H = link("ftruncate", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG)); }
    private static final class RecvmsgH { static final MethodHandle H = link("recvmsg", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT)); }
    private static final class SendmsgH { static final MethodHandle H = link("sendmsg", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT)); }
    private static final class SocketH { static final MethodHandle H = link("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT)); }
    private static final class ConnectH { static final MethodHandle H = link("connect", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT)); }
    private static final class GetuidH { static final MethodHandle H = Native.LINKER.downcallHandle(Native.LIBC.findOrThrow("getuid"),
            FunctionDescriptor.of(JAVA_INT)); }
    private static final class FcntlH { static final MethodHandle H = Native.LINKER.downcallHandle(Native.LIBC.findOrThrow("fcntl"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
            Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno")); }
    private static final class OpenH { static final MethodHandle H = Native.LINKER.downcallHandle(Native.LIBC.findOrThrow("open"),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
            Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno")); }
    private static final class LseekH { static final MethodHandle H = link("lseek", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT)); }

    private Posix() {}

    private static MethodHandle link(final String name, final FunctionDescriptor fd) {
        return Native.LINKER.downcallHandle(Native.LIBC.findOrThrow(name), fd, Linker.Option.captureCallState("errno"));
    }

    private static MemorySegment capture() { return CAPTURE_SEGMENT.get(); }

    private static int errno(final MemorySegment capture) { return (int) ERRNO.get(capture); }

    private static AssertionError linkage(final Throwable t) { return new AssertionError("libc linkage", t); }

    /** mmap(NULL, length, prot, MAP_SHARED, fd, offset): the mapping, sized {@code length}, unbounded lifetime. */
    public static MemorySegment mmapShared(final int fd, final long length, final long offset, final boolean writable)
            throws PosixException {
        final MemorySegment cap = capture();
        final MemorySegment addr;
        try {
            addr = (MemorySegment) MmapH.H.invokeExact(cap, MemorySegment.NULL, length,
                    writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, offset);
        } catch (Throwable t) { throw linkage(t); }
        if (addr.address() == -1L) throw new PosixException("mmap", errno(cap));
        return addr.reinterpret(length);
    }

    public static void munmap(final MemorySegment mapping) throws PosixException {
        final MemorySegment cap = capture();
        final int rc;
        try { rc = (int) MunmapH.H.invokeExact(cap, mapping, mapping.byteSize()); } catch (Throwable t) { throw linkage(t); }
        if (rc < 0) throw new PosixException("munmap", errno(cap));
    }

    public static void close(final int fd) throws PosixException {
        final MemorySegment cap = capture();
        final int rc;
        try { rc = (int) CloseH.H.invokeExact(cap, fd); } catch (Throwable t) { throw linkage(t); }
        if (rc < 0) throw new PosixException("close", errno(cap));
    }

    /** Closes, ignoring errors: for cleanup paths that have already failed. */
    public static void closeQuietly(final int fd) {
        if (fd < 0) return;
        try { close(fd); } catch (PosixException ignored) { /* nothing more to do */ }
    }

    public static int memfdCreate(final String name, final long size) throws PosixException {
        final MemorySegment cap = capture();
        final int fd;
        try (Arena a = Arena.ofConfined()) {
            fd = (int) MemfdCreateH.H.invokeExact(cap, a.allocateFrom(name), MFD_CLOEXEC);
        } catch (Throwable t) { throw linkage(t); }
        if (fd < 0) throw new PosixException("memfd_create", errno(cap));
        final int rc;
        try { rc = (int) FtruncateH.H.invokeExact(cap, fd, size); } catch (Throwable t) { throw linkage(t); }
        if (rc < 0) {
            final int e = errno(cap);
            closeQuietly(fd);
            throw new PosixException("ftruncate", e);
        }
        return fd;
    }

    public static int open(final String path, final int flags) throws PosixException {
        final MemorySegment cap = capture();
        final int fd;
        try (Arena a = Arena.ofConfined()) {
            fd = (int) OpenH.H.invokeExact(cap, a.allocateFrom(path), flags, 0);
        } catch (Throwable t) { throw linkage(t); }
        if (fd < 0) throw new PosixException("open " + path, errno(cap));
        return fd;
    }

    /** The size of the file behind {@code fd} (lseek to the end). */
    public static long fileSize(final int fd) throws PosixException {
        final MemorySegment cap = capture();
        final long r;
        try { r = (long) LseekH.H.invokeExact(cap, fd, 0L, 2 /* SEEK_END */); } catch (Throwable t) { throw linkage(t); }
        if (r < 0) throw new PosixException("lseek", errno(cap));
        return r;
    }

    /** The real uid of this process (from the owner of /proc/self, which costs no native linking at start-up). */
    public static int getuid() {
        try {
            return (Integer) java.nio.file.Files.getAttribute(java.nio.file.Path.of("/proc/self"), "unix:uid");
        } catch (java.io.IOException | UnsupportedOperationException e) {
            try { return (int) GetuidH.H.invokeExact(); } catch (Throwable t) { throw linkage(t); }
        }
    }

    /** Sets FD_CLOEXEC: Netty's recvFd leaves it clear (style guide, part C.5). */
    public static void setCloexec(final int fd) throws PosixException {
        final MemorySegment cap = capture();
        final int rc;
        try { rc = (int) FcntlH.H.invokeExact(cap, fd, F_SETFD, FD_CLOEXEC); } catch (Throwable t) { throw linkage(t); }
        if (rc < 0) throw new PosixException("fcntl(F_SETFD)", errno(cap));
    }

    public static boolean isOpen(final int fd) {
        final MemorySegment cap = capture();
        try { return (int) FcntlH.H.invokeExact(cap, fd, F_GETFD, 0) >= 0; } catch (Throwable t) { throw linkage(t); }
    }

    /** A connected AF_UNIX stream socket (blocking). */
    public static int connectUnix(final String path) throws PosixException {
        final byte[] p = path.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (p.length >= 108) throw new PosixException("connect (path too long)", Errno.ENAMETOOLONG);
        final MemorySegment cap = capture();
        final int fd;
        try { fd = (int) SocketH.H.invokeExact(cap, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0); } catch (Throwable t) { throw linkage(t); }
        if (fd < 0) throw new PosixException("socket", errno(cap));
        try (Arena a = Arena.ofConfined()) {
            final MemorySegment sa = a.allocate(SOCKADDR_UN);
            sa.set(JAVA_SHORT, 0, (short) AF_UNIX);
            MemorySegment.copy(p, 0, sa, java.lang.foreign.ValueLayout.JAVA_BYTE, 2, p.length);
            final int rc;
            try { rc = (int) ConnectH.H.invokeExact(cap, fd, sa, (int) SOCKADDR_UN.byteSize()); } catch (Throwable t) { throw linkage(t); }
            if (rc < 0) {
                final int e = errno(cap);
                closeQuietly(fd);
                throw new PosixException("connect " + path, e);
            }
        }
        return fd;
    }

    /**
     * sendmsg of {@code data} with {@code fds} as one SCM_RIGHTS control message, the way a QMP client sends
     * {@code getfd}: the descriptors ride on the command's own bytes. Blocks until all bytes are sent.
     */
    public static void sendWithFds(final int sock, final byte[] data, final int... fds) throws PosixException {
        if (fds.length > MAX_FDS_PER_MESSAGE) throw new IllegalArgumentException("too many fds: " + fds.length);
        final MemorySegment cap = capture();
        try (Arena a = Arena.ofConfined()) {
            final MemorySegment buf = a.allocate(Math.max(1, data.length));
            MemorySegment.copy(data, 0, buf, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, data.length);
            long off = 0;
            boolean fdsSent = fds.length == 0;
            while (off < data.length || !fdsSent) {
                final MemorySegment iov = a.allocate(IOVEC);
                IOV_BASE.set(iov, 0L, buf.asSlice(off));
                IOV_LEN.set(iov, 0L, data.length - off);
                final MemorySegment msg = a.allocate(MSGHDR);
                MSG_NAME.set(msg, 0L, MemorySegment.NULL);
                MSG_IOV.set(msg, 0L, iov);
                MSG_IOVLEN.set(msg, 0L, 1L);
                if (!fdsSent) {
                    final long space = cmsgSpace(4L * fds.length);
                    final MemorySegment ctl = a.allocate(space, 8);
                    CMSG_LEN.set(ctl, 0L, cmsgLen(4L * fds.length));
                    CMSG_LEVEL.set(ctl, 0L, SOL_SOCKET);
                    CMSG_TYPE.set(ctl, 0L, SCM_RIGHTS);
                    for (int i = 0; i < fds.length; i++) ctl.set(JAVA_INT, CMSGHDR.byteSize() + 4L * i, fds[i]);
                    MSG_CONTROL.set(msg, 0L, ctl);
                    MSG_CONTROLLEN.set(msg, 0L, space);
                } else {
                    MSG_CONTROL.set(msg, 0L, MemorySegment.NULL);
                    MSG_CONTROLLEN.set(msg, 0L, 0L);
                }
                final long n;
                try { n = (long) SendmsgH.H.invokeExact(cap, sock, msg, MSG_NOSIGNAL); } catch (Throwable t) { throw linkage(t); }
                if (n < 0) {
                    final int e = errno(cap);
                    if (e == Errno.EINTR) continue;
                    throw new PosixException("sendmsg", e);
                }
                fdsSent = true;
                off += n;
            }
        }
    }

    public static long cmsgSpace(final long dataLen) { return CMSGHDR.byteSize() + ((dataLen + 7) & ~7L); }

    public static long cmsgLen(final long dataLen) { return CMSGHDR.byteSize() + dataLen; }

    /**
     * One recvmsg into {@code buf} (non-blocking unless {@code blocking}), with room for
     * {@link #MAX_FDS_PER_MESSAGE} descriptors, received close-on-exec. Received fds are appended to
     * {@code fdsOut} (the caller owns them). Returns the bytes read, 0 at end of stream, or -1 on EAGAIN.
     * A truncated control message (more fds than room) has its fds closed by the kernel and is reported
     * through {@link RecvResult#ctrunc}.
     */
    public static long recvWithFds(final int sock, final MemorySegment buf, final RecvScratch scratch,
                                   final java.util.function.IntConsumer fdsOut, final boolean blocking)
            throws PosixException {
        final MemorySegment cap = capture();
        final MemorySegment msg = scratch.msg, iov = scratch.iov, ctl = scratch.ctl;
        msg.fill((byte) 0);
        ctl.fill((byte) 0);
        IOV_BASE.set(iov, 0L, buf);
        IOV_LEN.set(iov, 0L, buf.byteSize());
        MSG_IOV.set(msg, 0L, iov);
        MSG_IOVLEN.set(msg, 0L, 1L);
        MSG_CONTROL.set(msg, 0L, ctl);
        MSG_CONTROLLEN.set(msg, 0L, ctl.byteSize());
        long n;
        while (true) {
            try {
                n = (long) RecvmsgH.H.invokeExact(cap, sock, msg, MSG_CMSG_CLOEXEC | (blocking ? 0 : MSG_DONTWAIT));
            } catch (Throwable t) { throw linkage(t); }
            if (n >= 0) break;
            final int e = errno(cap);
            if (e == Errno.EINTR) continue;
            if (e == Errno.EAGAIN) return -1;
            throw new PosixException("recvmsg", e);
        }
        scratch.ctrunc = ((int) MSG_FLAGS.get(msg, 0L) & MSG_CTRUNC) != 0;
        final long ctlLen = (long) MSG_CONTROLLEN.get(msg, 0L);
        long off = 0;
        while (off + CMSGHDR.byteSize() <= ctlLen) {
            final long len = (long) CMSG_LEN.get(ctl, off);
            if (len < CMSGHDR.byteSize() || off + len > ctlLen) break;
            if ((int) CMSG_LEVEL.get(ctl, off) == SOL_SOCKET && (int) CMSG_TYPE.get(ctl, off) == SCM_RIGHTS) {
                final long count = (len - CMSGHDR.byteSize()) / 4;
                for (long i = 0; i < count; i++) fdsOut.accept(ctl.get(JAVA_INT, off + CMSGHDR.byteSize() + 4 * i));
            }
            off += (len + 7) & ~7L;
        }
        return n;
    }

    /** Reusable native buffers for {@link #recvWithFds}: one per reading thread or connection. */
    public static final class RecvScratch {
        final MemorySegment msg, iov, ctl;
        boolean ctrunc;

        public RecvScratch(final Arena arena) {
            msg = arena.allocate(MSGHDR);
            iov = arena.allocate(IOVEC);
            ctl = arena.allocate(cmsgSpace(4L * MAX_FDS_PER_MESSAGE), 8);
        }

        /** Whether the last receive had its control data truncated (the kernel closed the excess fds). */
        public boolean ctrunc() { return ctrunc; }
    }
}
