package dev.viommu.vtd;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.core.regs.RegisterFile;
import dev.viommu.vtd.spec.InvDesc;
import dev.viommu.vtd.spec.InvDescs;
import dev.viommu.vtd.spec.VtdReg;

import java.util.function.Supplier;

/**
 * Queued invalidation (VT-d 6.5.2; vtd.md A.6): fetches descriptors from IQH up to IQT, 16 or 32 bytes each
 * (IQA.DW), and hands each decoded one to the device. A bad tail, fetch error, unknown type or reserved bit sets
 * FSTS.IQE with IQERCD.IQEI and stops with IQH at the bad descriptor until software clears IQE. One kick
 * processes at most one queue's worth of descriptors, so a guest cannot loop the unit.
 */
final class InvalidationQueue {
    private final VtdDevice device;
    private final Supplier<GuestMemory> memory;
    long processed, errors;

    InvalidationQueue(final VtdDevice device, final Supplier<GuestMemory> memory) {
        this.device = device;
        this.memory = memory;
    }

    void process() {
        final RegisterFile<VtdReg> r = device.registers();
        if ((r.get(VtdReg.GSTS) & VtdReg.QIE) == 0 || (r.get(VtdReg.FSTS) & VtdReg.FSTS_IQE) != 0) return;
        final long iqa = r.get(VtdReg.IQA);
        final boolean wide = VtdReg.IQA_DW.isSet(iqa);
        final long base = VtdReg.IQA_BASE.raw(iqa);
        final long size = 4096L << VtdReg.IQA_QS.get(iqa);
        final int dsz = wide ? 32 : 16;
        long head = VtdReg.IQ_PTR.raw(r.get(VtdReg.IQH));
        final long tail = VtdReg.IQ_PTR.raw(r.get(VtdReg.IQT));
        if (head == tail) return;          // nothing to fetch: the checks below are about descriptors being fetched
        // IQEI 5, DW invalid for the unit or mode. Scalable mode treats 128-bit descriptors as invalid (VT-d 6.5.2 as
        // quoted in Linux commit 5d308fc1ecf5, "Add 256-bit invalidation descriptor support"); 5 is the width code
        // (Intel IQERCD_REG). VirtualBox reports 3 per descriptor instead, noting the spec leaves it open.
        if (wide && !device.config().scalable()) { error(VtdReg.IQEI_WIDTH); return; }
        if (!wide && device.translator().ttm == 1) { error(VtdReg.IQEI_WIDTH); return; }
        if (tail >= size) { error(VtdReg.IQEI_TAIL); return; }
        if (wide && (tail & 0x10) != 0) { error(VtdReg.IQEI_TAIL_ALIGN); return; }
        if (head >= size || (wide && (head & 0x10) != 0)) head = 0;    // cannot happen through the register file
        final GuestMemory mem = memory.get();
        final InvDescs.Features f = device.descriptorFeatures();
        for (long budget = size / dsz; head != tail && budget > 0; budget--) {
            final long a = base + head;
            long q0, q1, q2 = 0, q3 = 0;
            try {
                q0 = mem.read64(a);
                q1 = mem.read64(a + 8);
                if (wide) {
                    q2 = mem.read64(a + 16);
                    q3 = mem.read64(a + 24);
                }
            } catch (GuestMemoryException e) {
                r.set(VtdReg.IQH, head);
                error(VtdReg.IQEI_FETCH);
                return;
            }
            final InvDesc d = InvDescs.decode(q0, q1, q2, q3, f);
            if (d instanceof InvDesc.Illegal bad) {
                r.set(VtdReg.IQH, head);
                device.log().warn("invalid invalidation descriptor", bad.qw0(), bad.qw1());
                error(bad.iqei());
                return;
            }
            if (!device.execute(d)) {           // a wait whose status write failed
                r.set(VtdReg.IQH, head);
                error(VtdReg.IQEI_FETCH);
                return;
            }
            processed++;
            head = (head + dsz) & (size - 1);
        }
        r.set(VtdReg.IQH, head);
    }

    private void error(final int iqei) {
        errors++;
        device.invalidationQueueError(iqei);
    }
}
