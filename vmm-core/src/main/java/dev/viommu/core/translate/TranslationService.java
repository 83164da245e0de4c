package dev.viommu.core.translate;

/**
 * DMA translation for emulated endpoints: {@code translate(source ID, PASID or none, IOVA, access)} gives the
 * guest-physical output address, permissions and page size, or the architected fault (which the model has also
 * recorded guest-visibly where the architecture says so).
 */
public interface TranslationService {
    /** No PASID / SubstreamID on the request. */
    int NO_PASID = -1;
    /** In invalidation notices: every PASID. */
    int ANY_PASID = -2;
    /** In invalidation notices: every endpoint. */
    int ANY_SOURCE = -1;

    /**
     * Translates one access. Never throws for guest-controlled values. Returns {@code out.ok}.
     *
     * @param access {@link AccessType} flags
     */
    boolean translate(int sourceId, int pasid, long iova, int access, Translation out);

    void addInvalidationListener(InvalidationListener listener);

    void removeInvalidationListener(InvalidationListener listener);
}
