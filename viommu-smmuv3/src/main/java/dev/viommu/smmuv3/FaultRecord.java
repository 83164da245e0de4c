package dev.viommu.smmuv3;

import dev.viommu.smmuv3.spec.EventId;
import dev.viommu.smmuv3.spec.Evt;

/**
 * A fault found while translating, before it becomes an event record (IHI0070 §7.3): filled in place by the
 * walkers so the hot path allocates nothing (the SMMU analogue of QEMU's SMMUEventInfo). {@link #record} says
 * whether the architecture asks for an event (CD.R, STE.S2R, configuration errors always).
 */
final class FaultRecord {
    int eventId;
    int sid;
    int ssid;
    boolean ssv;
    long inputAddr;
    long ipa;
    long fetchAddr;
    boolean s2;
    int clazz;
    boolean rnw, pnu, ind, ttrnw;
    /**
     * An atomic (READ | WRITE) refused F_PERMISSION because it could write but not read: recorded with RnW = 1
     * (IHI0070 §13.1.1, SMMUv3.1 and later), where every other event of an atomic has RnW = 0. Set by the walker.
     */
    boolean atomicReadDenied;
    boolean record;
    boolean stall;
    int stag;

    FaultRecord reset(final int sid, final int pasid, final long iova, final int access) {
        clear();
        return identify(sid, pasid, iova, access);
    }

    /**
     * The transaction's identity. The translator's success paths never touch the record: it is kept clean
     * ({@link #clear} after each raised fault) and identified only when a fault is found.
     */
    FaultRecord identify(final int sid, final int pasid, final long iova, final int access) {
        this.sid = sid;
        ssv = pasid >= 0;
        ssid = ssv ? pasid : 0;
        inputAddr = iova;
        rnw = (access & dev.viommu.core.translate.AccessType.WRITE) == 0;
        pnu = (access & dev.viommu.core.translate.AccessType.PRIV) != 0;
        ind = (access & dev.viommu.core.translate.AccessType.EXEC) != 0;
        return this;
    }

    /** Back to "no fault": what the walkers and config checks fill in. */
    FaultRecord clear() {
        eventId = 0;
        ipa = 0;
        fetchAddr = 0;
        s2 = false;
        clazz = Evt.CLASS_IN;
        ttrnw = true;
        atomicReadDenied = false;
        record = true;
        stall = false;
        stag = 0;
        return this;
    }

    /** Sets the event; returns -1 so walkers can {@code return f.fault(...)}. */
    long fault(final int id) {
        eventId = id;
        return -1L;
    }

    String name() { return EventId.name(eventId); }

    /** The four little-endian dwords of the event record. */
    long dw0() {
        long d = Evt.ID.with(0, eventId);
        d = Evt.SID.with(d, Integer.toUnsignedLong(sid));
        if (ssv) d = Evt.SSID.with(Evt.SSV.with(d, true), ssid & 0xFFFFF);
        return d;
    }

    long dw1() {
        long d = 0;
        if (isTranslationFault()) {
            d = Evt.STAG.with(d, stag & 0xFFFF);
            d = Evt.STALL.with(d, stall);
            d = Evt.PNU.with(d, pnu);
            d = Evt.IND.with(d, ind);
            d = Evt.RNW.with(d, rnw || atomicReadDenied && eventId == EventId.F_PERMISSION);
            d = Evt.S2.with(d, s2);
            d = Evt.CLASS.with(d, clazz);
            if (clazz == Evt.CLASS_TT) d = Evt.TTRNW.with(d, ttrnw);
        }
        return d;
    }

    long dw2() { return isTranslationFault() || eventId == EventId.F_WALK_EABT ? inputAddr : 0; }

    long dw3() {
        return switch (eventId) {
            case EventId.F_STE_FETCH, EventId.F_CD_FETCH, EventId.F_WALK_EABT, EventId.F_VMS_FETCH ->
                    Evt.FETCH_ADDR.raw(fetchAddr);
            default -> s2 ? Evt.IPA.raw(ipa) : 0;
        };
    }

    boolean isTranslationFault() {
        return eventId == EventId.F_TRANSLATION || eventId == EventId.F_ADDR_SIZE || eventId == EventId.F_ACCESS
                || eventId == EventId.F_PERMISSION;
    }
}
