package dev.viommu.virtio.iommu;

import dev.viommu.core.translate.AccessType;
import dev.viommu.core.translate.TranslationService;
import dev.viommu.virtio.spec.IommuRequest;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.viommu.core.guest.virtio.ViommuRequests.*;

/**
 * What the guest knows the device's address spaces to be (virtio 1.2 §5.13.5–6): plugged endpoints, domains with
 * their endpoints and mappings, and the config 'bypass' byte. Deliberately naive (lists, linear scans, the spec's
 * rules written out once) so that a disagreement with the device points at the device.
 * <p>
 * {@link #valid} says whether the device must accept a request: every check of §5.13.6.4–8 passes and no limit is
 * reached. The test asserts that a completed request returned S_OK exactly when it was valid, then calls
 * {@link #apply}; a request that failed changes nothing.
 */
final class IommuReferenceModel {
    static final int F_MAP_UNMAP = 2, F_PROBE = 4, F_MMIO = 5, F_BYPASS_CONFIG = 6;
    private static final int RESV_MEM_PROPERTY = 24;       // header 4 + RESV_MEM value 20 (§5.13.6.8.2)

    /** One MAP: [start, end] → phys, inclusive. */
    record Mapping(long start, long end, long phys, int flags) {
        boolean contains(final long iova) { return le(start, iova) && le(iova, end); }

        boolean intersects(final long s, final long e) { return le(s, end) && le(start, e); }
    }

    /** What a translation must give: a fault, or {@code out} with {@code perms}, inside {@code [blockStart, blockEnd]}. */
    record Expected(boolean ok, long out, int perms, boolean identity, long blockStart, long blockEnd) {
        static final Expected FAULT = new Expected(false, 0, 0, false, 0, 0);
    }

    private static final class Domain {
        final boolean bypass;
        final List<Mapping> mappings = new ArrayList<>();
        final Set<Integer> endpoints = new HashSet<>();

        Domain(final boolean bypass) { this.bypass = bypass; }
    }

    private final long granule, inputEnd;
    private final int domainFirst, domainLast;
    private final int maxDomains, maxMappings;
    private final long maxTotalMappings;
    private final List<long[]> resv;        // RESV_MEM regions of every endpoint, [start, end]
    private final int probeSize;
    private final Map<Integer, Domain> domains = new HashMap<>();
    private final Map<Integer, Integer> domainOf = new HashMap<>();
    private final Set<Integer> plugged = new HashSet<>();
    private long features;
    int bypass;

    IommuReferenceModel(final long granule, final long inputEnd, final int domainFirst, final int domainLast,
                        final int maxDomains, final int maxMappings, final long maxTotalMappings, final List<long[]> resv,
                        final int probeSize) {
        this.granule = granule;
        this.inputEnd = inputEnd;
        this.domainFirst = domainFirst;
        this.domainLast = domainLast;
        this.maxDomains = maxDomains;
        this.maxMappings = maxMappings;
        this.maxTotalMappings = maxTotalMappings;
        this.resv = List.copyOf(resv);
        this.probeSize = probeSize;
    }

    private static boolean le(final long a, final long b) { return Long.compareUnsigned(a, b) <= 0; }

    private boolean has(final int feature) { return (features & (1L << feature)) != 0; }

    /** The features of the current driver (after FEATURES_OK). */
    void negotiated(final long f) { features = f; }

    /** The hypervisor put an endpoint behind the device. */
    void plug(final int ep) { plugged.add(ep); }

    /** The hypervisor removed an endpoint: it leaves its domain. */
    void unplug(final int ep) {
        leave(ep);
        plugged.remove(ep);
    }

    /**
     * No endpoint is attached, so no domain exists: after a device reset (§5.13.5; 'bypass' survives) or after
     * every endpoint was detached (§5.13.6.5).
     */
    void detachAll() {
        domains.clear();
        domainOf.clear();
    }

    Set<Integer> plugged() { return Set.copyOf(plugged); }

    boolean isPlugged(final int ep) { return plugged.contains(ep); }

    int domainCount() { return domains.size(); }

    long mappingCount() {
        long n = 0;
        for (Domain d : domains.values()) n += d.mappings.size();
        return n;
    }

    /** The domain an endpoint is attached to, or null. */
    Integer domainOf(final int ep) { return domainOf.get(ep); }

    /** Every mapping of the domain {@code ep} is attached to (empty when none). */
    List<Mapping> mappingsOf(final int ep) {
        final Integer d = domainOf.get(ep);
        return d == null ? List.of() : List.copyOf(domains.get(d).mappings);
    }

    private boolean inDomainRange(final int d) {
        return Integer.compareUnsigned(d, domainFirst) >= 0 && Integer.compareUnsigned(d, domainLast) <= 0;
    }

    private boolean hitsResv(final long s, final long e) {
        for (long[] r : resv) if (le(s, r[1]) && le(r[0], e)) return true;
        return false;
    }

    private boolean aligned(final long a) { return (a & (granule - 1)) == 0; }

    /** Whether the device must complete {@code r} with S_OK (and otherwise must not). */
    boolean valid(final GuestRequest r) {
        return switch (r) {
            case GuestRequest.Attach a -> {
                final int allowed = has(F_BYPASS_CONFIG) ? IommuRequest.ATTACH_F_BYPASS : 0;
                if (a.reserved() != 0 || (a.flags() & ~allowed) != 0 || !inDomainRange(a.domain())) yield false;
                if (!plugged.contains(a.endpoint())) yield false;
                final Domain d = domains.get(a.domain());
                if (d == null) yield domains.size() < maxDomains;
                if (d.bypass != ((a.flags() & IommuRequest.ATTACH_F_BYPASS) != 0)) yield false;
                if (d.endpoints.contains(a.endpoint()) || d.bypass) yield true;
                for (Mapping m : d.mappings) if (hitsResv(m.start(), m.end())) yield false;
                yield true;
            }
            case GuestRequest.Detach dt -> plugged.contains(dt.endpoint())
                    && Integer.valueOf(dt.domain()).equals(domainOf.get(dt.endpoint()));
            case GuestRequest.Map m -> {
                final int allowed = MAP_F_READ | MAP_F_WRITE | (has(F_MMIO) ? MAP_F_MMIO : 0);
                final Domain d = domains.get(m.domain());
                if (!has(F_MAP_UNMAP) || d == null || d.bypass || (m.flags() & ~allowed) != 0) yield false;
                final long s = m.start(), e = m.end(), p = m.phys();
                if (!le(s, e) || !le(e, inputEnd) || !aligned(s) || !aligned(e + 1) || !aligned(p)) yield false;
                if (!le(p, p + (e - s))) yield false;                           // the output range wraps
                for (Mapping x : d.mappings) if (x.intersects(s, e)) yield false;
                if (hitsResv(s, e)) yield false;                                 // every endpoint has them
                yield d.mappings.size() < maxMappings && mappingCount() < maxTotalMappings;
            }
            case GuestRequest.Unmap u -> {
                final Domain d = domains.get(u.domain());
                if (!has(F_MAP_UNMAP) || d == null || d.bypass || u.reserved() != 0) yield false;
                final long s = u.start(), e = u.end();
                if (!le(s, e) || !le(e, inputEnd)) yield false;
                for (Mapping x : d.mappings) {
                    if (x.intersects(s, e) && !(le(s, x.start()) && le(x.end(), e))) yield false;   // would split
                }
                yield true;
            }
            case GuestRequest.Probe p -> plugged.contains(p.endpoint()) && resv.size() * RESV_MEM_PROPERTY <= probeSize;
        };
    }

    /** Records the effect of a request the device completed with S_OK. */
    void apply(final GuestRequest r) {
        switch (r) {
            case GuestRequest.Attach a -> {
                final Integer old = domainOf.get(a.endpoint());
                if (old != null && old == a.domain()) return;
                leave(a.endpoint());
                domains.computeIfAbsent(a.domain(), k -> new Domain((a.flags() & IommuRequest.ATTACH_F_BYPASS) != 0)).endpoints.add(a.endpoint());
                domainOf.put(a.endpoint(), a.domain());
            }
            case GuestRequest.Detach dt -> leave(dt.endpoint());
            case GuestRequest.Map m -> domains.get(m.domain()).mappings.add(new Mapping(m.start(), m.end(), m.phys(), m.flags()));
            case GuestRequest.Unmap u -> domains.get(u.domain()).mappings.removeIf(x -> le(u.start(), x.start()) && le(x.end(), u.end()));
            case GuestRequest.Probe p -> { }
        }
    }

    /** Takes an endpoint out of its domain; the domain ceases to exist with its last endpoint (§5.13.6.5). */
    private void leave(final int ep) {
        final Integer d = domainOf.remove(ep);
        if (d == null) return;
        final Domain dom = domains.get(d);
        dom.endpoints.remove(ep);
        if (dom.endpoints.isEmpty()) domains.remove(d);
    }

    /**
     * The translation of a DMA access (§5.13.5, §5.13.6.6): unknown endpoints and PASIDs fault; unattached
     * endpoints bypass when 'bypass' is 1; bypass domains are identity; otherwise the mapping that holds the IOVA,
     * writes needing WRITE and reads (and fetches) needing READ.
     */
    Expected expect(final int sid, final int pasid, final long iova, final int access) {
        if (!plugged.contains(sid) || pasid != TranslationService.NO_PASID) return Expected.FAULT;
        final Integer d = domainOf.get(sid);
        if (d == null) return bypass == 1 ? identity(iova) : Expected.FAULT;
        final Domain dom = domains.get(d);
        if (dom.bypass) return identity(iova);
        for (Mapping m : dom.mappings) {
            if (!m.contains(iova)) continue;
            if ((access & AccessType.WRITE) != 0 && (m.flags() & MAP_F_WRITE) == 0) return Expected.FAULT;
            if ((access & (AccessType.READ | AccessType.EXEC)) != 0 && (m.flags() & MAP_F_READ) == 0) return Expected.FAULT;
            final int perms = ((m.flags() & MAP_F_READ) != 0 ? AccessType.READ : 0) | ((m.flags() & MAP_F_WRITE) != 0 ? AccessType.WRITE : 0);
            return new Expected(true, m.phys() + (iova - m.start()), perms, false, m.start(), m.end());
        }
        return Expected.FAULT;
    }

    private static Expected identity(final long iova) {
        return new Expected(true, iova, AccessType.READ | AccessType.WRITE, true, 0, -1L);
    }

    @Override
    public String toString() {
        final StringBuilder sb = new StringBuilder("model{bypass=").append(bypass).append(", attached=").append(domainOf);
        domains.forEach((id, d) -> {
            sb.append(", domain ").append(Integer.toUnsignedString(id)).append(d.bypass ? " (bypass)" : "").append(": ");
            for (Mapping m : d.mappings) {
                sb.append("[0x").append(Long.toHexString(m.start())).append("-0x").append(Long.toHexString(m.end()))
                        .append("→0x").append(Long.toHexString(m.phys())).append(" f").append(m.flags()).append("] ");
            }
        });
        return sb.append('}').toString();
    }
}
