package dev.viommu.backend.iommufd;

import dev.viommu.backend.iommufd.uapi.FdIo;
import dev.viommu.backend.iommufd.uapi.Ioctl;
import dev.viommu.backend.iommufd.uapi.Scratch;
import dev.viommu.backend.iommufd.uapi.VfioDeviceAttachIommufdPt;
import dev.viommu.backend.iommufd.uapi.VfioDeviceBindIommufd;
import dev.viommu.backend.iommufd.uapi.VfioDeviceDetachIommufdPt;
import dev.viommu.backend.iommufd.uapi.VfioDeviceInfo;
import dev.viommu.backend.iommufd.uapi.VfioRegionInfo;
import dev.viommu.core.host.HostException;
import dev.viommu.core.host.ObjectId;
import dev.viommu.core.posix.Errno;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.viommu.backend.iommufd.uapi.VfioUapi.*;

/**
 * A VFIO device cdev ({@code /dev/vfio/devices/vfioN}) bound to an iommufd: bind (VFIO_DEVICE_BIND_IOMMUFD),
 * attach/detach of the RID or one PASID (VFIO_DEVICE_ATTACH/DETACH_IOMMUFD_PT; attaching again is an atomic
 * replace), device and region info, and region access by pread/pwrite (config space, BARs). Unbind is close.
 */
public final class VfioDevice implements AutoCloseable {
    /** Device info: VFIO_DEVICE_FLAGS_*, region and IRQ counts. */
    public record Info(int flags, int numRegions, int numIrqs) {}

    /** Region info: VFIO_REGION_INFO_FLAG_*, size, and the region's offset within the device fd. */
    public record Region(int index, int flags, long size, long offset) {}

    private final int fd;
    private final String path;
    private volatile boolean closed;

    private VfioDevice(final int fd, final String path) {
        this.fd = fd;
        this.path = path;
    }

    public static VfioDevice open(final String path) throws HostException {
        return new VfioDevice(FdIo.open(path, FdIo.O_RDWR), path);
    }

    /** Adopts {@code fd}, which this device then closes ({@code path} informational); IommufdBackend passes a dup. */
    public static VfioDevice adopt(final int fd, final String path) { return new VfioDevice(fd, path); }

    public int fd() { return fd; }

    public String path() { return path; }

    /** VFIO_DEVICE_BIND_IOMMUFD (flags 0, no VF token); returns the iommufd device ID. Once per fd. */
    public ObjectId.Device bind(final Iommufd iommufd) throws HostException {
        final MemorySegment a = Scratch.get().struct(VfioDeviceBindIommufd.LAYOUT);
        VfioDeviceBindIommufd.IOMMUFD.set(a, iommufd.fd());
        Ioctl.call("VFIO_DEVICE_BIND_IOMMUFD", fd, VFIO_DEVICE_BIND_IOMMUFD, a);
        return new ObjectId.Device(VfioDeviceBindIommufd.OUT_DEVID.get(a));
    }

    /**
     * VFIO_DEVICE_ATTACH_IOMMUFD_PT of the RID ({@code pasid < 0}) or one PASID to an IOAS, paging or nested
     * HWPT; returns the HWPT attached (the kernel picks or creates one for an IOAS).
     */
    public ObjectId.Hwpt attach(final ObjectId pt, final int pasid) throws HostException {
        final MemorySegment a = Scratch.get().struct(VfioDeviceAttachIommufdPt.LAYOUT);
        VfioDeviceAttachIommufdPt.FLAGS.set(a, pasid >= 0 ? VFIO_DEVICE_ATTACH_PASID : 0);
        VfioDeviceAttachIommufdPt.PT_ID.set(a, pt.value());
        VfioDeviceAttachIommufdPt.PASID.set(a, Math.max(pasid, 0));
        Ioctl.call("VFIO_DEVICE_ATTACH_IOMMUFD_PT", fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, a);
        return new ObjectId.Hwpt(VfioDeviceAttachIommufdPt.PT_ID.get(a));
    }

    /** VFIO_DEVICE_DETACH_IOMMUFD_PT of the RID ({@code pasid < 0}) or one PASID; it then blocks DMA. */
    public void detach(final int pasid) throws HostException {
        final MemorySegment a = Scratch.get().struct(VfioDeviceDetachIommufdPt.LAYOUT);
        VfioDeviceDetachIommufdPt.FLAGS.set(a, pasid >= 0 ? VFIO_DEVICE_DETACH_PASID : 0);
        VfioDeviceDetachIommufdPt.PASID.set(a, Math.max(pasid, 0));
        Ioctl.call("VFIO_DEVICE_DETACH_IOMMUFD_PT", fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, a);
    }

    /** VFIO_DEVICE_GET_INFO (the 24-byte form; the capability chain is not read). */
    public Info info() throws HostException {
        final MemorySegment a = Scratch.get().struct(VfioDeviceInfo.LAYOUT);
        Ioctl.call("VFIO_DEVICE_GET_INFO", fd, VFIO_DEVICE_GET_INFO, a);
        return new Info(VfioDeviceInfo.FLAGS.get(a), VfioDeviceInfo.NUM_REGIONS.get(a), VfioDeviceInfo.NUM_IRQS.get(a));
    }

    /** VFIO_DEVICE_GET_REGION_INFO for region {@code index} (VFIO_PCI_BAR0_REGION_INDEX, CONFIG, ...). */
    public Region regionInfo(final int index) throws HostException {
        final MemorySegment a = Scratch.get().struct(VfioRegionInfo.LAYOUT);
        VfioRegionInfo.INDEX.set(a, index);
        Ioctl.call("VFIO_DEVICE_GET_REGION_INFO", fd, VFIO_DEVICE_GET_REGION_INFO, a);
        return new Region(index, VfioRegionInfo.FLAGS.get(a), VfioRegionInfo.SIZE.get(a), VfioRegionInfo.OFFSET.get(a));
    }

    /** A {@code size}-byte (1, 2, 4, 8) little-endian read at {@code offset} of the device fd (region offset + reg). */
    public long read(final long offset, final int size) throws HostException {
        final MemorySegment b = Scratch.get().data(8);
        final long n = FdIo.pread(fd, b, size, offset);
        if (n != size) throw new HostException("pread " + path + "@0x" + Long.toHexString(offset), n < 0 ? (int) -n : Errno.EIO);
        return switch (size) {
            case 1 -> b.get(ValueLayout.JAVA_BYTE, 0) & 0xFFL;
            case 2 -> b.get(ValueLayout.JAVA_SHORT, 0) & 0xFFFFL;
            case 4 -> b.get(ValueLayout.JAVA_INT, 0) & 0xFFFF_FFFFL;
            default -> b.get(ValueLayout.JAVA_LONG, 0);
        };
    }

    /** A {@code size}-byte little-endian write at {@code offset} of the device fd. */
    public void write(final long offset, final int size, final long value) throws HostException {
        final MemorySegment b = Scratch.get().data(8);
        b.set(ValueLayout.JAVA_LONG, 0, value);
        final long n = FdIo.pwrite(fd, b, size, offset);
        if (n != size) throw new HostException("pwrite " + path + "@0x" + Long.toHexString(offset), n < 0 ? (int) -n : Errno.EIO);
    }

    /**
     * The physical IOMMU the device sits behind: the name of {@code /sys/class/vfio-dev/vfioN/device/iommu}
     * (e.g. {@code dmar0}), or {@code "unknown"} when sysfs does not say (an fd passed without a path).
     */
    public String iommuName() {
        try {
            final String name = Path.of(path).getFileName().toString();
            final Path link = Path.of("/sys/class/vfio-dev", name, "device", "iommu");
            if (Files.exists(link)) return link.toRealPath().getFileName().toString();
        } catch (final IOException | RuntimeException e) {
            // fall through
        }
        return "unknown";
    }


    @Override
    public void close() {
        if (closed) return;
        closed = true;
        FdIo.close(fd);
    }
}
