package dev.viommu.core.spi;

/**
 * Page requests (PCIe PRI) from emulated endpoints, for a model that has a page-request queue (VT-d's PQ,
 * SMMUv3's PRI queue). The device answers through the {@link Responder} once the guest responds (a VT-d
 * page-group response, an SMMUv3 PRI_RESP), or by itself where the architecture says so (queue overflow).
 */
public interface PageRequestService {
    /** Response codes, as PCIe's PRG Response: success, invalid request, response failure. */
    int SUCCESS = 0, INVALID_REQUEST = 1, RESPONSE_FAILURE = 0xF;

    /** Told of each page-group response the device sends back towards the endpoint. */
    @FunctionalInterface
    interface Responder {
        void respond(int sourceId, int pasid, int groupIndex, int code);
    }

    /**
     * An endpoint asks for a page. {@code pasid} is {@code TranslationService.NO_PASID} for none; {@code access}
     * is {@link dev.viommu.core.translate.AccessType} flags; {@code last} marks the last request of the group.
     * Returns false if the device refused it outright (no PRI on that endpoint, PRI disabled); a request the
     * device accepted is answered later through the responder.
     */
    boolean pageRequest(int sourceId, int pasid, long address, int access, boolean last, int groupIndex);

    void setResponder(Responder responder);
}
