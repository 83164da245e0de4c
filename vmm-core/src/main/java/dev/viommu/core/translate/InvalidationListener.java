package dev.viommu.core.translate;

/**
 * Told when translations that a consumer may have cached stop being valid, the way vhost-user's IOTLB
 * invalidate messages work. {@code sourceId} is {@link TranslationService#ANY_SOURCE} for every endpoint,
 * {@code pasid} is {@link TranslationService#ANY_PASID} for every address space; the range {@code [iova,
 * iova+size)} with {@code size == 0} means the whole address space.
 */
@FunctionalInterface
public interface InvalidationListener {
    void invalidate(int sourceId, int pasid, long iova, long size);
}
