package dev.viommu.bench.iommufd;

import dev.viommu.backend.iommufd.Iommufd;
import dev.viommu.backend.iommufd.uapi.FdIo;
import dev.viommu.backend.iommufd.uapi.IommuIoasIovaRanges;
import dev.viommu.backend.iommufd.uapi.IommufdUapi;
import dev.viommu.backend.iommufd.uapi.Ioctl;
import dev.viommu.backend.iommufd.uapi.Scratch;
import dev.viommu.core.host.HostException;
import dev.viommu.core.posix.Errno;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The FFM overhead of the iommufd bindings: one raw ioctl round trip through them ({@link #ioctlRoundTrip}: the
 * thread's scratch struct zeroed and filled, the variadic {@code ioctl} downcall with errno capture, errno read
 * back) against the cheapest downcall there is, {@code getpid(2)} without errno capture ({@link #getpid}). Both
 * enter the kernel once, so the ratio is what the binding adds on top of a syscall plus the kernel's own ioctl
 * dispatch.
 *
 * <p>The ioctl is IOMMU_IOAS_IOVA_RANGES on an IOAS ID that does not exist, which the kernel answers with ENOENT
 * from its object lookup ({@link Iommufd#iovaRangesRaw}). On a machine without {@code /dev/iommu} the same struct
 * and request go to {@code /dev/null}, which has no ioctl handler, so {@code vfs_ioctl} answers ENOTTY as fast as
 * the kernel can. Set-up checks the expected errno and prints which target ran ({@code # ioctl target: ...}).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class IommufdIoctlBench {
    /** No IOAS has this ID (IDs are handed out from 1 upwards; the bench allocates none). */
    static final int BAD_IOAS_ID = 0x7fff_fff0;

    private Iommufd iommufd;
    private int devNull = -1;

    /** Which fd the ioctl went to: {@code "/dev/iommu (ENOENT)"} or {@code "/dev/null (ENOTTY)"}. */
    public static String target() {
        return Files.exists(Path.of(Iommufd.DEV_IOMMU)) ? "/dev/iommu (ENOENT)" : "/dev/null (ENOTTY)";
    }

    @Setup(Level.Trial)
    public void setUp() throws HostException {
        if (Files.exists(Path.of(Iommufd.DEV_IOMMU))) {
            iommufd = Iommufd.open();
            final int rc = iommufd.iovaRangesRaw(BAD_IOAS_ID);
            if (rc != -Errno.ENOENT) throw new IllegalStateException("expected -ENOENT from /dev/iommu, got " + rc);
        } else {
            devNull = FdIo.open("/dev/null", FdIo.O_RDWR);
            final int rc = devNullIovaRanges();
            if (rc != -Errno.ENOTTY) throw new IllegalStateException("expected -ENOTTY from /dev/null, got " + rc);
        }
        System.out.println("# ioctl target: " + target() + ", IOMMU_IOAS_IOVA_RANGES 0x"
                + Long.toHexString(IommufdUapi.IOMMU_IOAS_IOVA_RANGES));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (iommufd != null) iommufd.close();
        if (devNull >= 0) FdIo.close(devNull);
    }

    /** The same work as {@link Iommufd#iovaRangesRaw}, aimed at /dev/null. */
    private int devNullIovaRanges() {
        final MemorySegment a = Scratch.get().struct(IommuIoasIovaRanges.LAYOUT);
        IommuIoasIovaRanges.IOAS_ID.set(a, BAD_IOAS_ID);
        return Ioctl.invoke(devNull, IommufdUapi.IOMMU_IOAS_IOVA_RANGES, a);
    }

    @Benchmark
    public int ioctlRoundTrip() {
        return iommufd != null ? iommufd.iovaRangesRaw(BAD_IOAS_ID) : devNullIovaRanges();
    }

    @Benchmark
    public int getpid() {
        return FdIo.getpid();
    }
}
