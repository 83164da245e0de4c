package dev.viommu.vtd;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.vtd.spec.FaultReason;
import dev.viommu.vtd.spec.Irte;

import java.util.function.Supplier;

/**
 * Interrupt remapping (VT-d 5.1): decodes a remappable-format MSI into an interrupt index, reads the IRTE at
 * IRTA + index × 16 (through the interrupt-entry cache), checks it and the source ID, and returns the interrupt
 * to deliver. Compatibility-format requests pass only with GSTS.CFIS in xAPIC mode.
 */
final class InterruptRemapper implements InterruptRemapping {
    private final VtdDevice device;
    private final Supplier<GuestMemory> memory;
    final DirectCache iec = new DirectCache();
    // latched at SIRTP
    long irtBase;
    boolean eime;
    int entries;
    boolean enabled, cfis;

    InterruptRemapper(final VtdDevice device, final Supplier<GuestMemory> memory) {
        this.device = device;
        this.memory = memory;
    }

    void latch(final long irta) {
        irtBase = dev.viommu.vtd.spec.VtdReg.IRTA_BASE.raw(irta);
        eime = dev.viommu.vtd.spec.VtdReg.IRTA_EIME.isSet(irta);
        entries = 1 << (dev.viommu.vtd.spec.VtdReg.IRTA_S.get(irta) + 1);
        iec.clear();
    }

    /** Interrupt-entry-cache invalidation: global, or 2^im entries from {@code index} (aligned). */
    int invalidate(final boolean indexSelective, final int im, final int index) {
        if (!indexSelective) {
            final int n = iec.size();
            iec.clear();
            return n;
        }
        final int count = 1 << im;
        final int first = index & ~(count - 1) & 0xFFFF;
        return iec.removeIf(k -> k >= first && k < first + count);
    }

    @Override
    public Result remap(final int sid, final long address, final int data) {
        if (!enabled) return deliverCompat(address, data);
        if ((address & 0xFFF0_0000L) != Irte.MSI_ADDR_BASE || (address >>> 32) != 0) {
            return blocked(sid, 0, FaultReason.IR_REQ_RSVD, false);
        }
        if (!Irte.MSI_FORMAT.isSet(address)) {                    // compatibility format
            if (cfis && !eime) return deliverCompat(address, data);
            return blocked(sid, 0, FaultReason.IR_COMPAT_BLOCKED, false);
        }
        int handle = (int) (Irte.MSI_INDEX_0_14.get(address) | Irte.MSI_INDEX_15.get(address) << 15);
        if (Irte.MSI_SHV.isSet(address)) handle = (handle + (data & 0xFFFF)) & 0xFFFF;
        if (handle >= entries) return blocked(sid, handle, FaultReason.IR_INDEX_OOB, false);
        final long q0, q1;
        if (iec.contains(handle)) {
            q0 = iec.qw0(handle);
            q1 = iec.qw1(handle);
        } else {
            try {
                q0 = memory.get().load64Acquire(irtBase + (long) handle * Irte.SIZE);
                q1 = memory.get().load64Acquire(irtBase + (long) handle * Irte.SIZE + 8);
            } catch (GuestMemoryException e) {
                return blocked(sid, handle, FaultReason.IR_FETCH, false);
            }
        }
        final boolean fpd = Irte.FPD.isSet(q0);
        if (!Irte.P.isSet(q0)) return blocked(sid, handle, FaultReason.IR_NOT_PRESENT, fpd);
        final int svt = (int) Irte.SVT.get(q1);
        final int dlm = (int) Irte.DLM.get(q0);
        if ((q0 & Irte.RSVD_QW0) != 0 || (!eime && (q0 & Irte.RSVD_QW0_XAPIC) != 0) || (q1 & Irte.RSVD_QW1) != 0
                || svt == 3 || dlm == 3 || dlm == 6) {
            return blocked(sid, handle, FaultReason.IR_IRTE_RSVD, fpd);
        }
        iec.put(handle, q0, q1);
        final int want = (int) Irte.SID.get(q1);
        final boolean sidOk = switch (svt) {
            case Irte.SVT_SID_SQ -> {
                final int sq = (int) Irte.SQ.get(q1);
                final int ignore = sq == 0 ? 0 : sq == 1 ? 0b100 : sq == 2 ? 0b110 : 0b111;   // function bits
                yield ((sid ^ want) & ~ignore & 0xFFFF) == 0;
            }
            case Irte.SVT_BUS -> {
                final int bus = sid >>> 8;
                yield bus >= (want >>> 8) && bus <= (want & 0xFF);
            }
            default -> true;
        };
        if (!sidOk) return blocked(sid, handle, FaultReason.IR_SID_CHECK, fpd);
        final int dest = (int) (eime ? Irte.DST.get(q0) : (Irte.DST.get(q0) >>> 8) & 0xFF);
        final int vector = (int) Irte.VECTOR.get(q0);
        final boolean logical = Irte.DM.isSet(q0), level = Irte.TM.isSet(q0), rh = Irte.RH.isSet(q0);
        return deliver(dest, vector, dlm, logical, level, rh);
    }

    private static Result deliver(final int dest, final int vector, final int dlm, final boolean logical,
                                  final boolean level, final boolean rh) {
        final long addr = Irte.MSI_ADDR_BASE | (long) (dest & 0xFF) << 12 | (rh ? 8 : 0) | (logical ? 4 : 0)
                | (Integer.toUnsignedLong(dest) >>> 8) << 40;
        final int data = vector | dlm << 8 | (level ? 1 << 15 | 1 << 14 : 0);
        return new Result.Deliver(addr, data, dest, vector, dlm, logical, level, rh);
    }

    /** A compatibility-format MSI decoded as x86 msi.h lays it out (xAPIC destination in address bits 19:12). */
    private static Result deliverCompat(final long address, final int data) {
        final int dest = (int) ((address >>> 12) & 0xFF) | (int) ((address >>> 40) & 0xFF_FFFF) << 8;
        return new Result.Deliver(address, data, dest, data & 0xFF, (data >>> 8) & 7, (address & 4) != 0,
                (data & (1 << 15)) != 0, (address & 8) != 0);
    }

    private Result blocked(final int sid, final int handle, final int fr, final boolean fpd) {
        device.interruptFault(sid, handle, fr, fpd);
        return new Result.Blocked(fr, FaultReason.name(fr));
    }
}
