package dev.viommu.smmuv3;

import dev.viommu.core.spi.PageRequestService;
import dev.viommu.smmuv3.spec.Priq;

/**
 * The SMMU's PRI queue as the core's {@link PageRequestService}: emulated endpoints (and the data plane's
 * PAGE_REQUEST) inject page requests, and PRI_RESP answers come back to the responder in PCIe's PRG response
 * codes. Offered only with {@code pri=on}.
 */
final class PageRequestPort implements PageRequestService {
    private final SmmuV3Device dev;
    private Responder responder;

    PageRequestPort(final SmmuV3Device dev) { this.dev = dev; }

    @Override
    public boolean pageRequest(final int sourceId, final int pasid, final long address, final int access,
                               final boolean last, final int groupIndex) {
        // An overflowed request is accepted: the SMMU answers its group itself (IHI0070 §8.1, see SmmuV3Device).
        // One the queue cannot take (PRIQEN = 0, PRIQ_ABT_ERR, write abort), which §8.2 answers with Response
        // Failure, is refused: the caller reports it to the endpoint as such.
        return dev.queuePageRequest(sourceId, pasid, address, access, groupIndex, last) != SmmuV3Device.PRI_REFUSED;
    }

    @Override public void setResponder(final Responder r) { responder = r; }

    /** Forwards one response (a PRI_RESP, or the SMMU's automatic answer) in PCIe terms. */
    void respond(final int sid, final int pasid, final int prgIndex, final int smmuResp) {
        final Responder r = responder;
        if (r != null) r.respond(sid, pasid, prgIndex, pcieCode(smmuResp));
    }

    /**
     * CMD_PRI_RESP.Resp to the PCIe PRG Response Code, as Linux's arm_smmu_page_response maps the other way:
     * IOMMU_PAGE_RESP_SUCCESS ↔ PRI_RESP_SUCC, INVALID ↔ PRI_RESP_DENY, FAILURE ↔ PRI_RESP_FAIL.
     */
    static int pcieCode(final int smmuResp) {
        return switch (smmuResp) {
            case Priq.RESP_SUCCESS -> SUCCESS;
            case Priq.RESP_DENY -> INVALID_REQUEST;
            default -> RESPONSE_FAILURE;
        };
    }
}
