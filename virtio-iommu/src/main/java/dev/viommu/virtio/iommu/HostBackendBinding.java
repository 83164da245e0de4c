package dev.viommu.virtio.iommu;

import dev.viommu.core.host.HostBackend;
import dev.viommu.core.host.HostException;
import dev.viommu.core.host.IovaRange;
import dev.viommu.core.host.ObjectId;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestRegion;
import dev.viommu.core.posix.Errno;
import dev.viommu.core.spi.Endpoint;
import dev.viommu.core.translate.AccessType;
import dev.viommu.core.translate.TranslationService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The default host binding for passthrough endpoints, over the sidecar's {@link HostBackend} (iommufd, or the
 * simulated host): one IOAS per virtio-iommu domain that has a passthrough endpoint, the guest's MAP/UNMAP as
 * IOAS map/unmap (guest-physical addresses, which the backend resolves to its mapping of guest RAM), ATTACH as
 * an attach of the VFIO device to the domain's IOAS (the kernel picks the paging domain), DETACH as a detach.
 * A bypass domain is an IOAS that identity-maps every guest RAM region. A domain's IOAS is destroyed with its
 * last passthrough endpoint (the device sends no UNMAPs for a vanishing domain, see {@link HostBindingEvent}).
 * <p>
 * The host's reserved IOVA ranges of an endpoint are found once, when it is put behind the vIOMMU: a scratch IOAS
 * with the device attached lists its usable ranges (IOMMU_IOAS_IOVA_RANGES), and the gaps are reported by PROBE.
 * Calls come from the device, which the sidecar serialises.
 */
public final class HostBackendBinding implements HostBinding {
    private static final Logger LOG = LoggerFactory.getLogger(HostBackendBinding.class);
    private static final int NO_PASID = TranslationService.NO_PASID;

    /** A domain's host address space and the passthrough endpoints attached to it. */
    private static final class DomainIoas {
        final ObjectId.Ioas ioas;
        final boolean bypass;
        final Set<String> members = new HashSet<>();

        DomainIoas(final ObjectId.Ioas ioas, final boolean bypass) {
            this.ioas = ioas;
            this.bypass = bypass;
        }
    }

    private final HostBackend host;
    private final Supplier<GuestMemory> memory;
    private final Map<String, ObjectId.Device> devices = new HashMap<>();
    private final Map<Long, DomainIoas> domains = new HashMap<>();

    public HostBackendBinding(final HostBackend host, final Supplier<GuestMemory> memory) {
        this.host = host;
        this.memory = memory;
    }

    @Override
    public void apply(final HostBindingEvent event) throws HostException {
        switch (event) {
            case HostBindingEvent.Attach a -> attach(a);
            case HostBindingEvent.Detach d -> detach(d);
            case HostBindingEvent.Map m -> host.map(domain(m.domain()).ioas, m.iova(), m.gpa(), m.last() - m.iova() + 1, m.prot());
            case HostBindingEvent.Unmap u -> host.unmap(domain(u.domain()).ioas, u.iova(), u.last() - u.iova() + 1);
        }
    }

    private DomainIoas domain(final long id) throws HostException {
        final DomainIoas d = domains.get(id);
        if (d == null) throw new HostException("virtio-iommu domain " + id, Errno.ENOENT, "no host address space");
        return d;
    }

    private ObjectId.Device device(final Endpoint ep) throws HostException {
        ObjectId.Device dev = devices.get(ep.id());
        if (dev == null) {
            dev = host.bindDevice(ep.hostDevice().orElseThrow());
            devices.put(ep.id(), dev);
        }
        return dev;
    }

    private void attach(final HostBindingEvent.Attach a) throws HostException {
        final ObjectId.Device dev = device(a.endpoint());
        DomainIoas d = domains.get(a.domain());
        boolean created = false;
        if (d == null) {
            d = new DomainIoas(host.allocIoas(), a.bypass());
            created = true;
            try {
                if (a.bypass()) identityMap(d.ioas);
            } catch (HostException e) {
                destroyQuietly(d.ioas);
                throw e;
            }
        }
        try {
            host.attach(dev, NO_PASID, d.ioas);          // replaces an attachment to the previous domain's IOAS
        } catch (HostException e) {
            if (created) destroyQuietly(d.ioas);
            throw e;
        }
        if (created) domains.put(a.domain(), d);
        d.members.add(a.endpoint().id());
        if (a.previousDomain() >= 0 && a.previousDomain() != a.domain()) leave(a.previousDomain(), a.endpoint().id());
    }

    /** Bypass: IOVA = GPA over every RAM region, read/write. */
    private void identityMap(final ObjectId.Ioas ioas) throws HostException {
        for (GuestRegion r : memory.get().regions()) {
            host.map(ioas, r.base(), r.base(), r.size(), r.readOnly() ? AccessType.READ : AccessType.READ | AccessType.WRITE);
        }
    }

    private void detach(final HostBindingEvent.Detach d) throws HostException {
        final ObjectId.Device dev = device(d.endpoint());
        host.detach(dev, NO_PASID);
        leave(d.domain(), d.endpoint().id());
    }

    private void leave(final long domain, final String endpoint) {
        final DomainIoas d = domains.get(domain);
        if (d == null) return;
        d.members.remove(endpoint);
        if (d.members.isEmpty()) {
            domains.remove(domain);
            destroyQuietly(d.ioas);
        }
    }

    private void destroyQuietly(final ObjectId id) {
        try {
            host.destroy(id);
        } catch (HostException e) {
            LOG.warn("destroying {} failed: {}", id, e.getMessage());
        }
    }

    /**
     * The endpoint's host reserved IOVA: the complement of the usable ranges of a scratch IOAS the device is
     * attached to (the kernel removes the IOMMU's MSI window and aperture limits from it).
     */
    @Override
    public List<ResvRegion> reservedRegions(final Endpoint endpoint) {
        ObjectId.Ioas scratch = null;
        ObjectId.Device dev = null;
        try {
            dev = device(endpoint);
            scratch = host.allocIoas();
            host.attach(dev, NO_PASID, scratch);
            final List<IovaRange> usable = new ArrayList<>(host.iovaRanges(scratch));
            usable.sort((x, y) -> Long.compareUnsigned(x.start(), y.start()));
            final List<ResvRegion> out = new ArrayList<>();
            long next = 0;                       // first IOVA not yet accounted for
            boolean wrapped = false;
            for (IovaRange r : usable) {
                if (Long.compareUnsigned(r.start(), next) > 0) out.add(ResvRegion.reserved(next, r.start() - 1));
                if (r.last() == -1L) { wrapped = true; break; }
                next = r.last() + 1;
            }
            if (!wrapped && !usable.isEmpty()) out.add(ResvRegion.reserved(next, -1L));
            return out;
        } catch (HostException | RuntimeException e) {
            LOG.warn("host reserved regions of {} unknown: {}", endpoint.id(), e.getMessage());
            return List.of();
        } finally {
            if (scratch != null) {
                if (dev != null) {
                    try { host.detach(dev, NO_PASID); } catch (HostException ignored) { /* was not attached */ }
                }
                destroyQuietly(scratch);
            }
        }
    }

    /** The endpoint left the vIOMMU (device_del of the endpoint): unbind its host device. */
    @Override
    public void endpointRemoved(final Endpoint endpoint) {
        final ObjectId.Device dev = devices.remove(endpoint.id());
        if (dev == null) return;
        try {
            host.unbindDevice(dev);
        } catch (HostException e) {
            LOG.warn("unbinding {} failed: {}", endpoint.id(), e.getMessage());
        }
    }

    @Override
    public void close() {
        for (DomainIoas d : domains.values()) destroyQuietly(d.ioas);
        domains.clear();
        for (ObjectId.Device dev : devices.values()) {
            try { host.unbindDevice(dev); } catch (HostException e) { LOG.warn("unbind failed: {}", e.getMessage()); }
        }
        devices.clear();
    }

    @Override
    public Map<String, Object> describe() {
        final Map<String, Object> m = new LinkedHashMap<>();
        m.put("kind", "host-backend:" + host.kind());
        m.put("bound-devices", List.copyOf(devices.keySet()));
        final List<Map<String, Object>> ds = new ArrayList<>();
        domains.forEach((id, d) -> ds.add(Map.of("domain", id, "ioas", d.ioas.toString(), "bypass", d.bypass,
                "endpoints", List.copyOf(d.members))));
        m.put("domains", ds);
        return m;
    }
}
