package dev.viommu.guests;

import com.fasterxml.jackson.databind.JsonNode;
import dev.viommu.core.client.DataPlaneClient;
import dev.viommu.core.client.QmpClient;
import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestRegion;
import dev.viommu.core.mem.MappedRegions;
import dev.viommu.core.posix.Posix;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link GuestMachine} behind the real sidecar process: guest RAM is a memfd shared with the sidecar over
 * SCM_RIGHTS ({@code getfd} + {@code object-add memory-backend-memfd}), the vIOMMU is created with
 * {@code device_add}, and MMIO, DMA translation, doorbells and interrupts cross the data-plane socket, exactly as
 * a hypervisor drives it.
 */
public final class SidecarMachine implements GuestMachine {
    private final SidecarProcess sidecar;
    private final boolean ownsSidecar;
    private final QmpClient qmp;
    private final DataPlaneClient dp;
    private final GuestMemory memory;
    private final GuestRegion region;
    private final int memfd;
    private final String deviceId;
    private final int handle;
    private final List<Interrupt> interrupts = new ArrayList<>();
    private final List<Invalidation> invalidations = new ArrayList<>();
    private final List<PageResponse> pageResponses = new ArrayList<>();

    /** Starts a sidecar of its own and creates one vIOMMU in it. */
    public static SidecarMachine start(final String driver, final Map<String, ?> properties, final long ramSize) {
        try {
            return new SidecarMachine(SidecarProcess.start(null), true, driver, properties, ramSize);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public SidecarMachine(final SidecarProcess sidecar, final boolean ownsSidecar, final String driver,
                          final Map<String, ?> properties, final long ramSize) throws IOException {
        this.sidecar = sidecar;
        this.ownsSidecar = ownsSidecar;
        this.deviceId = "viommu0";
        this.qmp = QmpClient.open(sidecar.control().toString());
        this.memfd = Posix.memfdCreate("guest-ram", ramSize);
        this.region = MappedRegions.mapFd("ram", 0, memfd, 0, ramSize, false);
        this.memory = GuestMemory.of(List.of(region));
        qmp.execute("getfd", Map.of("fdname", "ram"), memfd);
        qmp.execute("object-add", Map.of("qom-type", "memory-backend-memfd", "id", "ram0", "size", ramSize, "fd", "ram", "gpa", 0));
        final Map<String, Object> args = new LinkedHashMap<>();
        args.put("driver", driver);
        args.put("id", deviceId);
        args.putAll(properties);
        qmp.execute("device_add", args);
        int h = -1;
        for (JsonNode d : qmp.execute("query-viommus", Map.of())) if (d.path("id").asText().equals(deviceId)) h = d.path("handle").asInt();
        this.handle = h;
        this.dp = DataPlaneClient.connect(sidecar.dataPlane(), new DataPlaneClient.Listener() {
            @Override public void msi(final int hd, final long address, final int data) { interrupts.add(new Interrupt.Msi(address, data)); }

            @Override public void line(final int hd, final int line, final boolean level) { interrupts.add(new Interrupt.Line(line, level)); }

            @Override public void iotlbInvalidate(final int hd, final int s, final int p, final long iova, final long size) {
                invalidations.add(new Invalidation(s, p, iova, size));
            }

            @Override public void pageResponse(final int hd, final int s, final int p, final int g, final int c) {
                pageResponses.add(new PageResponse(s, p, g, c));
            }
        });
    }

    public QmpClient qmp() { return qmp; }

    public DataPlaneClient dataPlane() { return dp; }

    public SidecarProcess sidecar() { return sidecar; }

    public int handle() { return handle; }

    @Override public GuestMemory memory() { return memory; }

    @Override public long mmioRead(final int r, final long offset, final int size) {
        try { return dp.mmioRead(handle, r, offset, size); } catch (IOException e) { throw new UncheckedIOException(e); }
    }

    @Override public void mmioWrite(final int r, final long offset, final int size, final long value) {
        try { dp.mmioWrite(handle, r, offset, size, value); } catch (IOException e) { throw new UncheckedIOException(e); }
    }

    @Override public void doorbell(final int queue) {
        try { dp.doorbell(handle, queue); } catch (IOException e) { throw new UncheckedIOException(e); }
    }

    @Override public void attachEmulated(final String endpointId, final int sourceId) {
        try {
            qmp.execute("viommu-attach-device", Map.of("viommu", deviceId, "id", endpointId, "kind", "emulated", "source-id", Integer.toUnsignedLong(sourceId)));
        } catch (IOException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    @Override public void detach(final String endpointId) {
        try {
            qmp.execute("viommu-detach-device", Map.of("viommu", deviceId, "id", endpointId));
        } catch (IOException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
    }

    @Override public Translated translate(final int sourceId, final int pasid, final long iova, final int access) {
        try {
            final DataPlaneClient.TranslateReply r = dp.translate(handle, sourceId, pasid, iova, access);
            return new Translated(r.ok(), r.outputAddress(), r.permissions(), r.pageSize(), r.faultCode());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override public boolean pageRequest(final int sourceId, final int pasid, final long address, final int access,
                                         final boolean last, final int groupIndex) {
        try { return dp.pageRequest(handle, sourceId, pasid, address, access, last, groupIndex); } catch (IOException e) { throw new UncheckedIOException(e); }
    }

    @Override public List<PageResponse> takePageResponses() {
        try { dp.ping(0); } catch (IOException e) { throw new UncheckedIOException(e); }
        final List<PageResponse> l = new ArrayList<>(pageResponses);
        pageResponses.clear();
        return l;
    }

    @Override public Remapped remapMsi(final int sourceId, final long address, final int data) {
        try {
            final DataPlaneClient.RemapReply r = dp.remapMsi(handle, sourceId, address, data);
            return new Remapped(r.delivered(), r.address(), r.data(), r.faultReason());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override public List<Interrupt> takeInterrupts(final long timeoutMillis) {
        try {
            dp.ping(0);                                   // everything the sidecar sent before this is now read
            if (interrupts.isEmpty() && timeoutMillis > 0) dp.poll(timeoutMillis);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        final List<Interrupt> l = new ArrayList<>(interrupts);
        interrupts.clear();
        return l;
    }

    @Override public List<Invalidation> takeInvalidations() {
        try { dp.ping(0); } catch (IOException e) { throw new UncheckedIOException(e); }
        final List<Invalidation> l = new ArrayList<>(invalidations);
        invalidations.clear();
        return l;
    }

    @Override public String describe() {
        try {
            return qmp.execute("query-viommu", Map.of("id", deviceId)).toPrettyString();
        } catch (IOException e) {
            return "(query-viommu failed: " + e.getMessage() + ")";
        }
    }

    @Override public void close() {
        try { dp.close(); } catch (IOException ignored) { /* closing anyway */ }
        qmp.close();
        try { MappedRegions.unmap(region); } catch (Exception ignored) { /* closing anyway */ }
        Posix.closeQuietly(memfd);
        if (ownsSidecar) sidecar.close();
    }
}
