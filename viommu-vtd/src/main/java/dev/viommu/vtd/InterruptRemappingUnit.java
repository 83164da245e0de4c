package dev.viommu.vtd;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.core.spi.InterruptRemapper;
import dev.viommu.vtd.spec.FaultReason;
import dev.viommu.vtd.spec.Irte;
import dev.viommu.vtd.spec.VtdReg;

import java.util.function.Supplier;

/**
 * Interrupt remapping (VT-d 5.1): decodes a remappable-format MSI into an interrupt index, reads the IRTE at
 * IRTA + index × 16 (through the interrupt-entry cache), checks it and the source ID, and returns the interrupt
 * to deliver. Compatibility-format requests pass only with GSTS.CFIS in xAPIC mode.
 * <p>
 * {@link #remapRaw} leaves its outcome in fields and allocates nothing; it backs both the module's own
 * {@link InterruptRemapping} (decoded records) and the vmm-core SPI {@link InterruptRemapper} (filled in place).
 */
final class InterruptRemappingUnit implements InterruptRemapping {
    private final VtdDevice device;
    private final Supplier<GuestMemory> memory;
    final DirectCache iec = new DirectCache();
    // latched at SIRTP
    long irtBase;
    boolean eime;
    int entries;
    boolean enabled, cfis;
    long remapped, blocked;

    // the outcome of the last remapRaw that delivered
    private long outAddress;
    private int outData, outDest, outVector, outDlm;
    private boolean outLogical, outLevel, outRh;

    InterruptRemappingUnit(final VtdDevice device, final Supplier<GuestMemory> memory) {
        this.device = device;
        this.memory = memory;
    }

    void latch(final long irta) {
        irtBase = VtdReg.IRTA_BASE.raw(irta);
        eime = VtdReg.IRTA_EIME.isSet(irta);
        entries = 1 << (VtdReg.IRTA_S.get(irta) + 1);
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
        final int fr = remapRaw(sid, address, data);
        if (fr != 0) return new Result.Blocked(fr, FaultReason.name(fr));
        return new Result.Deliver(outAddress, outData, outDest, outVector, outDlm, outLogical, outLevel, outRh);
    }

    /** The SPI form: fills {@code out} in place. */
    InterruptRemapper.Result remap(final int sid, final long address, final int data, final InterruptRemapper.Result out) {
        final int fr = remapRaw(sid, address, data);
        return fr == 0 ? out.deliver(outAddress, outData) : out.block(fr);
    }

    /**
     * Remaps one MSI; returns 0 with the outcome in the {@code out*} fields, or the fault reason (recorded unless
     * FPD suppressed it).
     */
    int remapRaw(final int sid, final long address, final int data) {
        if (!enabled) return compat(address, data);
        if ((address & 0xFFF0_0000L) != Irte.MSI_ADDR_BASE || (address >>> 32) != 0) {
            return blocked(sid, 0, FaultReason.IR_REQ_RSVD, false);
        }
        if (!Irte.MSI_FORMAT.isSet(address)) {                    // compatibility format
            if (cfis && !eime) return compat(address, data);
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
                final GuestMemory mem = memory.get();
                q0 = mem.load64Acquire(irtBase + (long) handle * Irte.SIZE);
                q1 = mem.load64Acquire(irtBase + (long) handle * Irte.SIZE + 8);
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
        deliver(dest, (int) Irte.VECTOR.get(q0), dlm, Irte.DM.isSet(q0), Irte.TM.isSet(q0), Irte.RH.isSet(q0));
        return 0;
    }

    /** The interrupt as a compatibility-format MSI (x2APIC destination bits 31:8 in address bits 63:40). */
    private void deliver(final int dest, final int vector, final int dlm, final boolean logical, final boolean level,
                         final boolean rh) {
        remapped++;
        outAddress = Irte.MSI_ADDR_BASE | (long) (dest & 0xFF) << 12 | (rh ? 8 : 0) | (logical ? 4 : 0)
                | (Integer.toUnsignedLong(dest) >>> 8) << 40;
        outData = vector | dlm << 8 | (level ? 1 << 15 | 1 << 14 : 0);
        outDest = dest;
        outVector = vector;
        outDlm = dlm;
        outLogical = logical;
        outLevel = level;
        outRh = rh;
    }

    /** A compatibility-format MSI passed as is, decoded as x86 msi.h lays it out. */
    private int compat(final long address, final int data) {
        remapped++;
        outAddress = address;
        outData = data;
        outDest = (int) ((address >>> 12) & 0xFF) | (int) ((address >>> 40) & 0xFF_FFFF) << 8;
        outVector = data & 0xFF;
        outDlm = (data >>> 8) & 7;
        outLogical = (address & 4) != 0;
        outLevel = (data & (1 << 15)) != 0;
        outRh = (address & 8) != 0;
        return 0;
    }

    private int blocked(final int sid, final int handle, final int fr, final boolean fpd) {
        blocked++;
        device.interruptFault(sid, handle, fr, fpd);
        return fr;
    }
}
