import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * Rig self-check: the host JDK, run inside the guest, reaches iommufd through FFM.
 * Opens /dev/iommu, does IOMMU_IOAS_ALLOC, binds /dev/vfio/devices/vfio0 (VFIO_DEVICE_BIND_IOMMUFD) and
 * reads IOMMU_GET_HW_INFO. Numbers and offsets are the 7.3 uAPI's (see uapi-dump). Prints "FFM-PROBE PASS".
 * Compiled on the host by smoke.sh into $CACHE/java-probe and run with
 * {@code run-vm.sh -- /guest/java --enable-native-access=ALL-UNNAMED -cp $CACHE/java-probe RigFfmProbe}.
 */
public final class RigFfmProbe {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO =
            CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle OPEN = LINKER.downcallHandle(
            LINKER.defaultLookup().findOrThrow("open"),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
            Linker.Option.captureCallState("errno"));
    private static final MethodHandle IOCTL = LINKER.downcallHandle(
            LINKER.defaultLookup().findOrThrow("ioctl"),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                    ValueLayout.ADDRESS),
            Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno"));

    private static final int O_RDWR = 2;
    private static final int O_CLOEXEC = 0x80000;
    private static final long IOMMU_IOAS_ALLOC = 0x3b81;
    private static final long IOMMU_GET_HW_INFO = 0x3b8a;
    private static final long VFIO_DEVICE_BIND_IOMMUFD = 0x3b76;

    public static void main(String[] args) throws Throwable {
        String cdev = args.length > 0 ? args[0] : "/dev/vfio/devices/vfio0";
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURE);
            int iommufd = (int) OPEN.invokeExact(state, arena.allocateFrom("/dev/iommu"), O_RDWR | O_CLOEXEC);
            check(iommufd >= 0, state, "open /dev/iommu -> fd " + iommufd);

            MemorySegment ioas = arena.allocate(12, 4);       // struct iommu_ioas_alloc
            ioas.set(ValueLayout.JAVA_INT, 0, 12);             // size
            int rc = (int) IOCTL.invokeExact(state, iommufd, IOMMU_IOAS_ALLOC, ioas);
            check(rc == 0, state, "IOMMU_IOAS_ALLOC -> ioas_id " + ioas.get(ValueLayout.JAVA_INT, 8));

            int devfd = (int) OPEN.invokeExact(state, arena.allocateFrom(cdev), O_RDWR | O_CLOEXEC);
            check(devfd >= 0, state, "open " + cdev + " -> fd " + devfd);
            MemorySegment bind = arena.allocate(24, 8);       // struct vfio_device_bind_iommufd
            bind.set(ValueLayout.JAVA_INT, 0, 24);             // argsz
            bind.set(ValueLayout.JAVA_INT, 8, iommufd);        // iommufd
            rc = (int) IOCTL.invokeExact(state, devfd, VFIO_DEVICE_BIND_IOMMUFD, bind);
            int devId = bind.get(ValueLayout.JAVA_INT, 12);    // out_devid
            check(rc == 0, state, "VFIO_DEVICE_BIND_IOMMUFD -> dev_id " + devId);

            MemorySegment vtd = arena.allocate(24, 8);        // struct iommu_hw_info_vtd
            MemorySegment info = arena.allocate(40, 8);       // struct iommu_hw_info
            info.set(ValueLayout.JAVA_INT, 0, 40);             // size
            info.set(ValueLayout.JAVA_INT, 8, devId);          // dev_id
            info.set(ValueLayout.JAVA_INT, 12, 24);            // data_len
            info.set(ValueLayout.JAVA_LONG, 16, vtd.address()); // data_uptr
            rc = (int) IOCTL.invokeExact(state, iommufd, IOMMU_GET_HW_INFO, info);
            check(rc == 0, state, String.format("IOMMU_GET_HW_INFO -> type %d cap_reg 0x%x ecap_reg 0x%x",
                    info.get(ValueLayout.JAVA_INT, 24), vtd.get(ValueLayout.JAVA_LONG, 8),
                    vtd.get(ValueLayout.JAVA_LONG, 16)));
        }
        System.out.println("FFM-PROBE PASS");
    }

    private static void check(boolean ok, MemorySegment state, String what) {
        if (ok) {
            System.out.println("PASS " + what);
            return;
        }
        System.out.println("FAIL " + what + " (errno " + (int) ERRNO.get(state, 0L) + ")");
        System.out.println("FFM-PROBE FAIL");
        System.exit(1);
    }
}
