package dev.viommu.vtd;

/**
 * A counter the translation caches advance whenever an invalidation removes anything (not on capacity
 * eviction), so that {@link MicroTlb} entries derived from them stop matching at once.
 */
final class CacheEpoch {
    int value;

    void advance() { value++; }
}
