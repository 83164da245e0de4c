package dev.viommu.core.host;

import dev.viommu.core.posix.Errno;

import java.util.List;
import java.util.function.Consumer;

/**
 * The host backend of a sidecar with no host IOMMU configured: every operation fails with ENODEV, so a vIOMMU
 * can serve emulated endpoints and refuses passthrough ones clearly.
 */
public final class NoHostBackend implements HostBackend {
    private static HostException none(final String op) { return new HostException(op, Errno.ENODEV, "no host IOMMU backend"); }

    @Override public String kind() { return "none"; }
    @Override public ObjectId.Device bindDevice(final HostDeviceRef d) throws HostException { throw none("bind"); }
    @Override public void unbindDevice(final ObjectId.Device d) throws HostException { throw none("unbind"); }
    @Override public HwInfo hwInfo(final ObjectId.Device d) throws HostException { throw none("get-hw-info"); }
    @Override public ObjectId.Ioas allocIoas() throws HostException { throw none("ioas-alloc"); }
    @Override public void allowIovas(final ObjectId.Ioas i, final List<IovaRange> r) throws HostException { throw none("allow-iovas"); }
    @Override public void setDirtyTracking(final ObjectId.Hwpt h, final boolean on) throws HostException { throw none("set-dirty-tracking"); }
    @Override public void getDirtyBitmap(final ObjectId.Hwpt h, final long iova, final long len, final long ps, final long[] b, final boolean nc) throws HostException { throw none("get-dirty-bitmap"); }
    @Override public ObjectId.Viommu allocViommu(final ObjectId.Device d, final int t, final ObjectId.Hwpt p, final byte[] data) throws HostException { throw none("viommu-alloc"); }
    @Override public List<IovaRange> iovaRanges(final ObjectId.Ioas i) throws HostException { throw none("iova-ranges"); }
    @Override public void map(final ObjectId.Ioas i, final long iova, final long gpa, final long len, final int prot) throws HostException { throw none("ioas-map"); }
    @Override public long unmap(final ObjectId.Ioas i, final long iova, final long len) throws HostException { throw none("ioas-unmap"); }
    @Override public ObjectId.Hwpt allocHwpt(final HwptAlloc r) throws HostException { throw none("hwpt-alloc"); }
    @Override public ObjectId.Hwpt attach(final ObjectId.Device d, final int pasid, final ObjectId pt) throws HostException { throw none("attach"); }
    @Override public void detach(final ObjectId.Device d, final int pasid) throws HostException { throw none("detach"); }
    @Override public ObjectId.Viommu allocViommu(final ObjectId.Device d, final int t, final ObjectId.Hwpt p) throws HostException { throw none("viommu-alloc"); }
    @Override public ObjectId.Vdevice allocVdevice(final ObjectId.Viommu v, final ObjectId.Device d, final long id) throws HostException { throw none("vdevice-alloc"); }
    @Override public InvalidationResult invalidate(final ObjectId t, final List<? extends InvalidationEntry> e) throws HostException { throw none("invalidate"); }
    @Override public ObjectId.FaultQueue allocFaultQueue() throws HostException { throw none("fault-queue-alloc"); }
    @Override public int readPageRequests(final ObjectId.FaultQueue q, final int max, final Consumer<PageRequest> s) throws HostException { throw none("fault-read"); }
    @Override public void respond(final ObjectId.FaultQueue q, final PageResponse r) throws HostException { throw none("fault-respond"); }
    @Override public ObjectId.Veventq allocVeventq(final ObjectId.Viommu v, final int t, final int d) throws HostException { throw none("veventq-alloc"); }
    @Override public int readEvents(final ObjectId.Veventq q, final int max, final Consumer<VEvent> s) throws HostException { throw none("veventq-read"); }
    @Override public void destroy(final ObjectId id) throws HostException { throw none("destroy"); }
    @Override public void close() { }
}
