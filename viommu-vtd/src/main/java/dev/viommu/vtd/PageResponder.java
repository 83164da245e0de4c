package dev.viommu.vtd;

/** Receives the page-group response for an injected page request group (the guest's, or the unit's own). */
@FunctionalInterface
public interface PageResponder {
    /** @param code a page-group response code: 0 success, 1 invalid request, 0xF response failure */
    void respond(int sourceId, int pasid, int prgi, int code);
}
