package dev.viommu.backend.iommufd.uapi;

import dev.viommu.core.host.HostException;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * {@code int ioctl(int fd, unsigned long request, ...)} through FFM: variadic from argument 2, with errno captured
 * into the calling thread's capture segment ({@link Scratch}), so concurrent callers never race on errno and no
 * call allocates. {@link #invoke} returns {@code -errno} instead of throwing, for hot paths and for calls whose
 * failure is a value (IOMMU_HWPT_INVALIDATE's partial failure); {@link #call} throws a {@link HostException}
 * naming the operation and the errno.
 */
public final class Ioctl {
    static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = MethodHandles.insertCoordinates(
            CAPTURE.varHandle(PathElement.groupElement("errno")), 1, 0L);
    private static final MethodHandle IOCTL = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().findOrThrow("ioctl"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS),
            Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno"));

    private Ioctl() {}

    /** The ioctl's non-negative result, or {@code -errno}. Never allocates. */
    public static int invoke(final int fd, final long request, final MemorySegment arg) {
        final MemorySegment capture = Scratch.get().capture();
        final int rc;
        try {
            rc = (int) IOCTL.invokeExact(capture, fd, request, arg);
        } catch (final Throwable t) {
            throw new AssertionError("ioctl linkage", t);
        }
        return rc >= 0 ? rc : -(int) ERRNO.get(capture);
    }

    /** The ioctl's result; a failure becomes a {@link HostException} naming {@code op} and the errno. */
    public static int call(final String op, final int fd, final long request, final MemorySegment arg)
            throws HostException {
        final int rc = invoke(fd, request, arg);
        if (rc < 0) throw new HostException(op, -rc);
        return rc;
    }

    /** The errno left in this thread's capture segment by the last captured call. */
    static int lastErrno() { return (int) ERRNO.get(Scratch.get().capture()); }
}
