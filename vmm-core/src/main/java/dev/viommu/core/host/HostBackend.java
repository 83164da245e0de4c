package dev.viommu.core.host;

import java.util.List;
import java.util.function.Consumer;

/**
 * The one interface through which a device model programs the host IOMMU: iommufd on real hardware, or the
 * in-process simulated host. Every operation is a typed request; failures are {@link HostException}s that
 * carry the errno. Implementations are thread-safe.
 */
public interface HostBackend extends AutoCloseable {
    /** {@code "iommufd"}, {@code "sim"} or {@code "none"}. */
    String kind();

    /**
     * Binds a VFIO cdev to this backend's iommufd (VFIO_DEVICE_BIND_IOMMUFD). A device given by descriptor
     * ({@code device.fd() >= 0}) is borrowed: the backend keeps its own duplicate of it and never closes the
     * caller's, whether the bind succeeds or fails (ownership rule: {@link dev.viommu.core.spi.Endpoint}).
     */
    ObjectId.Device bindDevice(HostDeviceRef device) throws HostException;

    /** Unbinds the device and closes what the backend opened or duplicated for it (never the caller's descriptor). */
    void unbindDevice(ObjectId.Device device) throws HostException;

    /** IOMMU_GET_HW_INFO. */
    HwInfo hwInfo(ObjectId.Device device) throws HostException;

    /**
     * What the host IOMMU behind {@code device} can really do, for clamping what a vIOMMU advertises. The default
     * decodes {@link #hwInfo}; a backend that can probe more (SMMUv3 nesting, which hw info hides) overrides it.
     */
    default HostCapabilities capabilities(final ObjectId.Device device) throws HostException {
        return HwInfoDecoder.decode(hwInfo(device));
    }

    ObjectId.Ioas allocIoas() throws HostException;

    /** IOMMU_IOAS_ALLOW_IOVAS: restricts the IOVAs later mappings may use (the guest-visible aperture). */
    void allowIovas(ObjectId.Ioas ioas, List<IovaRange> allowed) throws HostException;

    /** IOMMU_IOAS_IOVA_RANGES: the usable IOVA ranges of an IOAS (reserved regions excluded). */
    List<IovaRange> iovaRanges(ObjectId.Ioas ioas) throws HostException;

    /**
     * Maps guest RAM {@code [gpa, gpa+length)} at {@code iova} (IOMMU_IOAS_MAP with FIXED_IOVA). The backend
     * resolves the guest-physical range to its own mapping of guest RAM.
     *
     * @param prot {@link dev.viommu.core.translate.AccessType} READ/WRITE
     */
    void map(ObjectId.Ioas ioas, long iova, long gpa, long length, int prot) throws HostException;

    /** IOMMU_IOAS_UNMAP; returns the number of bytes unmapped. */
    long unmap(ObjectId.Ioas ioas, long iova, long length) throws HostException;

    ObjectId.Hwpt allocHwpt(HwptAlloc request) throws HostException;

    /** IOMMU_HWPT_SET_DIRTY_TRACKING (the HWPT must have been allocated with dirty tracking). */
    void setDirtyTracking(ObjectId.Hwpt hwpt, boolean enable) throws HostException;

    /**
     * IOMMU_HWPT_GET_DIRTY_BITMAP: for {@code [iova, iova+length)} at {@code pageSize} granularity, sets bit i of
     * {@code bitmap} (little-endian words) for each dirty page; clears the dirty state unless {@code noClear}.
     */
    void getDirtyBitmap(ObjectId.Hwpt hwpt, long iova, long length, long pageSize, long[] bitmap, boolean noClear)
            throws HostException;

    /**
     * Attaches a device, or one PASID of it ({@code pasid >= 0}), to an IOAS or HWPT. Returns the HWPT the
     * device ended up on (the kernel allocates one when attaching to an IOAS).
     */
    ObjectId.Hwpt attach(ObjectId.Device device, int pasid, ObjectId pageTable) throws HostException;

    void detach(ObjectId.Device device, int pasid) throws HostException;

    /** IOMMU_VIOMMU_ALLOC over a nest-parent HWPT. */
    ObjectId.Viommu allocViommu(ObjectId.Device device, int viommuType, ObjectId.Hwpt nestParent) throws HostException;

    /** IOMMU_VIOMMU_ALLOC with type-specific driver data (for example Tegra241 CMDQV's). */
    ObjectId.Viommu allocViommu(ObjectId.Device device, int viommuType, ObjectId.Hwpt nestParent, byte[] driverData)
            throws HostException;

    /** IOMMU_VDEVICE_ALLOC: tells the vIOMMU the device's virtual ID (vSID or virtual RID). */
    ObjectId.Vdevice allocVdevice(ObjectId.Viommu viommu, ObjectId.Device device, long virtualId) throws HostException;

    /**
     * IOMMU_HWPT_INVALIDATE on a nested HWPT or a vIOMMU. Never throws for a partial failure: the result says
     * how many entries were processed and the errno that stopped the batch.
     */
    InvalidationResult invalidate(ObjectId target, List<? extends InvalidationEntry> entries) throws HostException;

    ObjectId.FaultQueue allocFaultQueue() throws HostException;

    /** Reads pending page requests (up to {@code max}) into {@code sink}; returns how many. Non-blocking. */
    int readPageRequests(ObjectId.FaultQueue queue, int max, Consumer<PageRequest> sink) throws HostException;

    void respond(ObjectId.FaultQueue queue, PageResponse response) throws HostException;

    ObjectId.Veventq allocVeventq(ObjectId.Viommu viommu, int type, int depth) throws HostException;

    /** Reads pending vEVENTs (up to {@code max}); returns how many. Non-blocking. */
    int readEvents(ObjectId.Veventq queue, int max, Consumer<VEvent> sink) throws HostException;

    /** IOMMU_DESTROY; EBUSY while another object still refers to it. */
    void destroy(ObjectId id) throws HostException;

    @Override
    void close();
}
