package dev.viommu.core.guest;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.core.translate.AccessType;
import dev.viommu.core.translate.TranslationService;

import java.util.List;

/**
 * What a guest driver sees of one vIOMMU: its MMIO regions, guest RAM, the interrupts it raises, and DMA from
 * emulated endpoints behind it. Two machines implement it: {@link DirectMachine} calls the device model in
 * process (fast unit tests), {@code SidecarMachine} goes through the real sidecar process over its sockets.
 * Guest drivers are written once against this interface.
 */
public interface GuestMachine extends AutoCloseable {

    /** An interrupt the vIOMMU raised. */
    sealed interface Interrupt {
        record Msi(long address, int data) implements Interrupt {}

        record Line(int line, boolean level) implements Interrupt {}
    }

    /** An IOTLB-invalidation notice sent to translation consumers. */
    record Invalidation(int sourceId, int pasid, long iova, long size) {}

    /** The result of a DMA translation request from an emulated endpoint. */
    record Translated(boolean ok, long outputAddress, int permissions, long pageSize, int faultCode) {}

    /** The vIOMMU's answer to an emulated endpoint's page request group. */
    record PageResponse(int sourceId, int pasid, int groupIndex, int code) {}

    /** What interrupt remapping made of an MSI. */
    record Remapped(boolean delivered, long address, int data, int faultReason) {}

    /** Guest RAM, shared with the vIOMMU. */
    GuestMemory memory();

    long mmioRead(int region, long offset, int size);

    void mmioWrite(int region, long offset, int size, long value);

    default int read32(final long offset) { return (int) mmioRead(0, offset, 4); }

    default long read64(final long offset) { return mmioRead(0, offset, 8); }

    default void write32(final long offset, final int value) { mmioWrite(0, offset, 4, Integer.toUnsignedLong(value)); }

    default void write64(final long offset, final long value) { mmioWrite(0, offset, 8, value); }

    /** A queue notification (virtio). */
    void doorbell(int queue);

    /** Puts an emulated endpoint behind the vIOMMU (the control plane's viommu-attach-device). */
    void attachEmulated(String endpointId, int sourceId);

    void detach(String endpointId);

    Translated translate(int sourceId, int pasid, long iova, int access);

    /** An emulated endpoint's page request (PCIe PRI); false if the vIOMMU refused it outright. */
    boolean pageRequest(int sourceId, int pasid, long address, int access, boolean last, int groupIndex);

    /** Page responses sent back to endpoints since the last call. */
    List<PageResponse> takePageResponses();

    /** An endpoint's MSI write, through the vIOMMU's interrupt remapping. */
    Remapped remapMsi(int sourceId, long address, int data);

    /** Interrupts raised since the last call. Waits up to {@code timeoutMillis} for at least one if none yet. */
    List<Interrupt> takeInterrupts(long timeoutMillis);

    /** Invalidation notices received since the last call. */
    List<Invalidation> takeInvalidations();

    /** A short description of the device state (query-viommu), for failure messages. */
    String describe();

    @Override
    void close();

    /**
     * An emulated endpoint writes {@code data} by DMA at {@code iova}: translated page by page, then written
     * to guest RAM. Returns the fault code of the first failing page (0 if all succeeded).
     */
    default int dmaWrite(final int sourceId, final int pasid, final long iova, final byte[] data) {
        return dma(sourceId, pasid, iova, data, true);
    }

    /** An emulated endpoint reads {@code into.length} bytes by DMA from {@code iova}. */
    default int dmaRead(final int sourceId, final int pasid, final long iova, final byte[] into) {
        return dma(sourceId, pasid, iova, into, false);
    }

    private int dma(final int sourceId, final int pasid, final long iova, final byte[] buf, final boolean write) {
        int done = 0;
        while (done < buf.length) {
            final long a = iova + done;
            final Translated t = translate(sourceId, pasid, a, write ? AccessType.WRITE : AccessType.READ);
            if (!t.ok()) return t.faultCode() == 0 ? -1 : t.faultCode();
            final long page = t.pageSize() == 0 ? 4096 : t.pageSize();
            final int n = (int) Math.min(buf.length - done, page - (a & (page - 1)));
            try {
                if (write) memory().write(t.outputAddress(), buf, done, n);
                else memory().read(t.outputAddress(), buf, done, n);
            } catch (GuestMemoryException e) {
                return -2;
            }
            done += n;
        }
        return 0;
    }

    /** No PASID on a request. */
    int NO_PASID = TranslationService.NO_PASID;
}
