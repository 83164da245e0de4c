package dev.viommu.vtd;

import dev.viommu.core.spi.PageRequestService;
import dev.viommu.core.translate.AccessType;
import dev.viommu.core.translate.TranslationService;
import dev.viommu.vtd.spec.PageRequestDesc;

/**
 * The vmm-core {@link PageRequestService} over {@link VtdDevice#injectPageRequest}: what emulated endpoints (and
 * the sidecar's data plane) use, so nothing outside the module needs the device class. Every page-group response
 * for an accepted request goes to the one responder the host installed:
 * <ul>
 *   <li>queued: the guest's page-group response (descriptor type 9), when it comes;</li>
 *   <li>PRQ overflow: the unit's own Success for the last request of the group, at once (⚠ see
 *       {@link PageRequestQueue});</li>
 *   <li>the descriptor could not be written (PQA outside guest RAM): the call returns false and nothing is sent,
 *       as QEMU's vtd_pri_request_page returns -EIO to the endpoint;</li>
 *   <li>refused (TTM = 0, context fault, PRE = 0, PASIDE = 0): the fault is recorded, the call returns false and,
 *       for the last request of a group, the Invalid Request response the unit sends goes out at once.</li>
 * </ul>
 */
final class PageRequestPort implements PageRequestService {
    private final VtdDevice device;
    private Responder responder;
    /** One instance for every request: the PRQ keeps it per outstanding group. */
    private final PageResponder relay = this::relay;

    PageRequestPort(final VtdDevice device) { this.device = device; }

    @Override public void setResponder(final Responder r) { responder = r; }

    private void relay(final int sid, final int pasid, final int prgi, final int code) {
        final Responder r = responder;
        if (r != null) r.respond(sid, pasid, prgi, code);
    }

    @Override
    public boolean pageRequest(final int sourceId, final int pasid, final long address, final int access,
                               final boolean last, final int groupIndex) {
        if ((sourceId & ~0xFFFF) != 0 || (pasid != TranslationService.NO_PASID && (pasid & ~0xFFFFF) != 0)) return false;
        final int prgi = groupIndex & 0x1FF;                        // PCIe PRG index: 9 bits
        final int r = device.injectPageRequest(sourceId, pasid, address, (access & AccessType.READ) != 0,
                (access & AccessType.WRITE) != 0, (access & AccessType.PRIV) != 0, last, prgi, relay);
        if (r == PageRequestQueue.QUEUED || r == PageRequestQueue.DROPPED) return true;
        if (r == PageRequestQueue.UNDELIVERED) return false;
        if (last) relay(sourceId, pasid, prgi, r);
        return r == PageRequestDesc.RESP_SUCCESS;
    }
}
