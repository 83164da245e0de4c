package dev.viommu.vtd;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.core.regs.RegisterFile;
import dev.viommu.core.translate.TranslationService;
import dev.viommu.vtd.spec.FaultReason;
import dev.viommu.vtd.spec.PageRequestDesc;
import dev.viommu.vtd.spec.ScalableContextEntry;
import dev.viommu.vtd.spec.VtdReg;

import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The page request queue (VT-d 7.5; vtd.md A.8): the unit writes 32-byte page request descriptors at PQT and
 * advances it; the last request of a group also sets PRS.PPR, which raises the page-request event when PPR was
 * clear (see {@link VtdDevice#pageRequestGroupQueued}). A full queue (or PRO already set) sets PRS.PRO, which is
 * no interrupt condition, and drops the request, as QEMU's vtd_pri_request_page (PRI series, 2025); Linux 7.3 prq.c then
 * discards the partial groups (io-pgfault.c iopf_queue_discard_partial). The unit answers a dropped last-in-group
 * request itself with Success so the device retries ⚠: QEMU hands -ENOSPC back to the endpoint instead, the
 * RISC-V IOMMU (another architecture) auto-responds Success; no VT-d text found. A descriptor the unit cannot
 * write (PQA outside guest RAM) is not an overflow: nothing changes for the guest and the endpoint is told the
 * request was not delivered (QEMU vtd_pri_request_page: PRO untouched, -EIO). The guest's page-group response
 * (descriptor type 9) is matched to the outstanding group by (RID, PASID, PRGI) and handed to the responder the
 * injector gave.
 */
final class PageRequestQueue {
    private final VtdDevice device;
    private final Supplier<GuestMemory> memory;
    private final Map<Long, PageResponder> outstanding = new HashMap<>();
    /** {@link #inject} results besides a response code: UNDELIVERED is a descriptor write that failed. */
    static final int QUEUED = -1, DROPPED = -2, UNDELIVERED = -3;
    long written, overflows, writeErrors, responses, unmatchedResponses;

    PageRequestQueue(final VtdDevice device, final Supplier<GuestMemory> memory) {
        this.device = device;
        this.memory = memory;
    }

    private static long key(final int sid, final int pasid, final int prgi) {
        return (long) (sid & 0xFFFF) << 32 | (long) (pasid == TranslationService.NO_PASID ? 0x100000 : pasid & 0xFFFFF) << 9 | prgi;
    }

    int outstanding() { return outstanding.size(); }

    void reset() { outstanding.clear(); }

    /**
     * See {@link VtdDevice#injectPageRequest}. Returns {@link #QUEUED}, {@link #DROPPED} (overflow, not last in
     * group), {@link #UNDELIVERED} (the queue's memory is not guest RAM) or the response code given at once.
     */
    int inject(final int sid, final int pasid, final long addr, final boolean read, final boolean write,
               final boolean priv, final boolean lpig, final int prgi, final PageResponder responder) {
        final boolean pp = pasid != TranslationService.NO_PASID;
        if (!device.config().svm()) return PageRequestDesc.RESP_INVALID;
        final VtdTranslator t = device.translator();
        if (t.ttm != 1) {
            device.recordFault(sid, pp, pasid, addr, FaultReason.SM_TTM0_PAGE_REQ, read && !write);
            return PageRequestDesc.RESP_INVALID;
        }
        final int fr = device.scalableContext(sid);
        if (fr != 0) {
            device.recordFault(sid, pp, pasid, addr, fr, read && !write);
            return PageRequestDesc.RESP_INVALID;
        }
        final long c0 = t.contextCache.qw0(sid);
        if (!ScalableContextEntry.PRE.isSet(c0)) {
            device.recordFault(sid, pp, pasid, addr, FaultReason.SM_PRE_CLEAR, read && !write);
            return PageRequestDesc.RESP_INVALID;
        }
        if (pp && !ScalableContextEntry.PASIDE.isSet(c0)) {
            device.recordFault(sid, pp, pasid, addr, FaultReason.SM_PASIDE_CLEAR, read && !write);
            return PageRequestDesc.RESP_INVALID;
        }
        final RegisterFile<VtdReg> r = device.registers();
        final long pqa = r.get(VtdReg.PQA);
        final long size = 4096L << VtdReg.PQA_PQS.get(pqa);
        final long head = VtdReg.PQ_PTR.raw(r.get(VtdReg.PQH));
        final long tail = VtdReg.PQ_PTR.raw(r.get(VtdReg.PQT));
        final boolean full = tail >= size || head >= size || ((tail + PageRequestDesc.SIZE) & (size - 1)) == head;
        if (full || (r.get(VtdReg.PRS) & VtdReg.PRS_PRO) != 0) {
            overflows++;
            device.pageRequestOverflow();
            return lpig ? PageRequestDesc.RESP_SUCCESS : DROPPED;
        }
        long qw0 = 0, qw1 = 0;
        qw0 = PageRequestDesc.TYPE.with(qw0, PageRequestDesc.TYPE_PAGE_REQUEST);
        qw0 = PageRequestDesc.PP.with(qw0, pp);
        qw0 = PageRequestDesc.RID.with(qw0, sid & 0xFFFF);
        qw0 = PageRequestDesc.PASID.with(qw0, pp ? pasid & 0xFFFFF : 0);
        qw0 = PageRequestDesc.PM.with(qw0, priv);
        qw1 = PageRequestDesc.RD.with(qw1, read);
        qw1 = PageRequestDesc.WR.with(qw1, write);
        qw1 = PageRequestDesc.LPIG.with(qw1, lpig);
        qw1 = PageRequestDesc.PRGI.with(qw1, prgi & 0x1FF);
        qw1 |= PageRequestDesc.ADDR.raw(addr);
        final long at = VtdReg.PQA_BASE.raw(pqa) + tail;
        try {
            final GuestMemory m = memory.get();
            m.write64(at, qw0);
            m.write64(at + 8, qw1);
            m.write64(at + 16, 0);
            m.write64(at + 24, 0);
        } catch (GuestMemoryException e) {
            writeErrors++;                  // PQT, PRS unchanged (QEMU vtd_pri_request_page: -EIO)
            device.log().warn("page request descriptor write outside RAM", at, qw0);
            return UNDELIVERED;
        }
        written++;
        r.set(VtdReg.PQT, (tail + PageRequestDesc.SIZE) & (size - 1));
        if (lpig && responder != null) outstanding.put(key(sid, pasid, prgi & 0x1FF), responder);
        if (lpig) device.pageRequestGroupQueued();
        return QUEUED;
    }

    /** A page-group response descriptor from the invalidation queue. */
    void respond(final int rid, final boolean pp, final int pasid, final int prgi, final int code) {
        final PageResponder r = outstanding.remove(key(rid, pp ? pasid : TranslationService.NO_PASID, prgi));
        if (r == null) {
            unmatchedResponses++;       // not outstanding: ignored (a forged or duplicate response)
            return;
        }
        responses++;
        r.respond(rid, pp ? pasid : TranslationService.NO_PASID, prgi, code);
    }
}
