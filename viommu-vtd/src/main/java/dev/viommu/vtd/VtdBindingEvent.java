package dev.viommu.vtd;

/** What {@link VtdHostSeam} receives. {@code pasid} uses the TranslationService conventions (NO_PASID, ANY_PASID). */
public sealed interface VtdBindingEvent {

    /** A decoded legacy or scalable-mode context entry. */
    record DecodedContext(boolean scalable, int translationType, long slptptr, int aw, int did, boolean fpd,
                          boolean pasidEnable, boolean pageRequestEnable, boolean deviceTlbEnable, long pasidDirPtr,
                          int pdts) {}

    /** A decoded scalable-mode PASID-table entry. */
    record DecodedPasidEntry(int pgtt, int did, int aw, long ssptptr, boolean ssade, long fsptptr, int fspm,
                             boolean sre, boolean wpe, boolean eafe, boolean pgsnp, boolean fpd) {}

    /**
     * The context entry of {@code sid} changed (after a context-cache invalidation). {@code context} is null when
     * the entry is not present or malformed; {@code faultReason} then says why (0 otherwise).
     */
    record ContextChanged(int sid, DecodedContext context, int faultReason) implements VtdBindingEvent {}

    /** The PASID entry of ({@code sid}, {@code pasid}) changed (after a PASID-cache invalidation). */
    record PasidEntryChanged(int sid, int pasid, DecodedPasidEntry entry, int faultReason) implements VtdBindingEvent {}

    /** Granularity of an IOTLB invalidation, as the guest asked for it. */
    enum Scope { GLOBAL, DOMAIN, PAGES, PASID, PASID_PAGES }

    /**
     * An IOTLB (type 2 or register-based) or PASID-IOTLB (type 6) invalidation. {@code size == 0} means the
     * whole address space; {@code leafOnly} is the IH hint.
     */
    record IotlbInvalidated(Scope scope, int did, int pasid, long addr, long size, boolean leafOnly) implements VtdBindingEvent {}

    /** A device-TLB (type 3) or PASID device-TLB (type 8) invalidation; {@code size == 0} means everything. */
    record DevTlbInvalidated(int sid, int pasid, long addr, long size) implements VtdBindingEvent {}
}
