package dev.viommu.vtd;

import dev.viommu.vtd.spec.FaultReason;
import dev.viommu.vtd.spec.FaultRecordLayout;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Primary fault logging (VT-d 7.2.1; vtd.md A.4) over NFR fault recording registers at CAP.FRO × 16. A fault
 * goes into the next record in turn; if that record's F is still set, the fault is dropped and PFO set. FSTS.FRI
 * names the first record of the pending faults (where Linux's {@code dmar_fault} starts). PPF is the OR of all F bits. The device turns the status changes into fault events.
 */
final class FaultRecorder {
    /** What the device is told after a record or a clear. */
    interface Listener {
        /** PPF or PFO went from 0 to 1. */
        void faultCondition();

        /** A record's F was cleared by software (PPF may have dropped). */
        void recordCleared();
    }

    private final int nfr;
    private final long[] records;      // 2 qwords per record
    private int fri;          // FSTS.FRI: the first record of the pending faults
    private int next;         // where the next fault goes
    private boolean pfo;
    private int pending;
    private long recorded, dropped;
    private final Listener listener;

    FaultRecorder(final int nfr, final Listener listener) {
        this.nfr = nfr;
        this.records = new long[2 * nfr];
        this.listener = listener;
    }

    int nfr() { return nfr; }

    long base() { return (long) dev.viommu.vtd.spec.VtdReg.FRO * 16; }

    boolean contains(final long offset) { return offset >= base() && offset < base() + (long) nfr * 16; }

    int fri() { return fri; }

    boolean ppf() { return pending != 0; }

    boolean pfo() { return pfo; }

    void clearPfo() { pfo = false; }

    void reset() {
        java.util.Arrays.fill(records, 0);
        fri = 0;
        next = 0;
        pfo = false;
        pending = 0;
    }

    /**
     * Records a fault. {@code addr} is the page address (or, for interrupt-remapping faults, the interrupt index
     * already placed in bits 63:48). Returns false when the fault overflowed.
     */
    boolean record(final int sid, final boolean pasidPresent, final int pasid, final long addr, final int fr,
                   final boolean read, final boolean priv, final boolean exe) {
        final int i = next;
        if (FaultRecordLayout.F.isSet(records[2 * i + 1])) {
            dropped++;
            final boolean was = pfo;
            pfo = true;
            if (!was) listener.faultCondition();
            return false;
        }
        long hi = 0;
        hi = FaultRecordLayout.SID.with(hi, sid & 0xFFFF);
        hi = FaultRecordLayout.PRIV.with(hi, priv);
        hi = FaultRecordLayout.EXE.with(hi, exe);
        hi = FaultRecordLayout.PP.with(hi, pasidPresent);
        hi = FaultRecordLayout.FR.with(hi, fr & 0xFF);
        hi = FaultRecordLayout.PV.with(hi, pasidPresent ? pasid & 0xFFFFF : 0);
        hi = FaultRecordLayout.T1.with(hi, read);
        hi = FaultRecordLayout.F.with(hi, true);
        records[2 * i] = addr & ~0xFFFL;
        records[2 * i + 1] = hi;
        final boolean wasPending = pending != 0;
        pending++;
        recorded++;
        next = (i + 1) % nfr;
        if (!wasPending) {
            fri = i;
            listener.faultCondition();
        }
        return true;
    }

    /** A register read inside the fault recording area. */
    long read(final long offset, final int size) {
        final long rel = offset - base();
        final int rec = (int) (rel >>> 4);
        final int inRec = (int) (rel & 15);
        long v = 0;
        for (int b = 0; b < size; b++) {
            final int o = inRec + b;
            if (o >= 16) break;
            final long q = records[2 * rec + (o >>> 3)];
            v |= ((q >>> (8 * (o & 7))) & 0xFF) << (8 * b);
        }
        return v;
    }

    /** A register write: only F (bit 127) is writable, as RW1C. */
    void write(final long offset, final int size, final long value) {
        final long rel = offset - base();
        final int rec = (int) (rel >>> 4);
        final int inRec = (int) (rel & 15);
        // byte 15 of the record holds bit 127 (F) as its bit 7
        final int fByte = 15 - inRec;
        if (fByte < 0 || fByte >= size) return;
        if (((value >>> (8 * fByte + 7)) & 1) == 0) return;
        final int hi = 2 * rec + 1;
        if (!FaultRecordLayout.F.isSet(records[hi])) return;
        records[hi] = FaultRecordLayout.F.with(records[hi], false);
        pending--;
        listener.recordCleared();
    }

    long recordedCount() { return recorded; }

    long droppedCount() { return dropped; }

    /** The fault records for query-viommu. */
    List<Map<String, Object>> describe() {
        final List<Map<String, Object>> l = new ArrayList<>();
        for (int i = 0; i < nfr; i++) {
            final long lo = records[2 * i], hi = records[2 * i + 1];
            if (lo == 0 && hi == 0) continue;
            final Map<String, Object> m = new LinkedHashMap<>();
            final int fr = (int) FaultRecordLayout.FR.get(hi);
            m.put("index", i);
            m.put("F", FaultRecordLayout.F.isSet(hi));
            m.put("reason", String.format("0x%02x", fr));
            m.put("reasonName", FaultReason.name(fr));
            m.put("sid", String.format("%02x:%02x.%d", (hi >>> 8) & 0xFF, (hi >>> 3) & 0x1F, hi & 7));
            m.put("address", "0x" + Long.toHexString(lo));
            m.put("type", FaultRecordLayout.T1.isSet(hi) ? "read" : "write");
            if (FaultRecordLayout.PP.isSet(hi)) m.put("pasid", FaultRecordLayout.PV.get(hi));
            l.add(m);
        }
        return l;
    }
}
