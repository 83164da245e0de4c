package dev.viommu.core.host;

/**
 * What the host IOMMU behind a passthrough device can really do, decoded from IOMMU_GET_HW_INFO (see
 * {@link HwInfoDecoder}). Device models clamp what they advertise to the guest to this, so a guest is never
 * promised more than the host can do: {@code min} the address widths, {@code and} the page-size bitmaps, turn a
 * feature off when the host lacks it. With several physical IOMMUs behind one vIOMMU, clamp to the
 * {@link #intersect intersection}.
 *
 * @param kind               the physical IOMMU's architecture
 * @param inputAddressBits   widest guest IOVA the host can carry for this device: the first-stage VA width when
 *                           nesting (VT-d 48/57, SMMUv3 48/52), else the second-stage (IOAS) width
 * @param outputAddressBits  widest guest-physical address a guest table may point at (VT-d MGAW+1, SMMUv3 OAS)
 * @param pageSizes          bitmap of supported page/block sizes: bit n set = 2^n bytes
 * @param pasidBits          PASID (SubstreamID) width usable on this device; 0 = none
 * @param streamIdBits       StreamID width (SMMUv3 IDR1.SIDSIZE); 16 for a PCI requester ID on VT-d
 * @param nesting            nested HWPTs (guest stage 1 over host stage 2) can be created
 * @param dirtyTracking      IOMMU_HW_CAP_DIRTY_TRACKING
 * @param pri                page requests (VT-d ECAP.PRS, SMMUv3 IDR0.PRI)
 * @param ats                ATS / device-TLB usable (VT-d ECAP.DT, and not IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED)
 * @param stall              SMMUv3 stall model allows stalling faults (IDR0.STALL_MODEL != 1)
 * @param rangeInvalidation  page-selective/range invalidation (VT-d CAP.PSI, SMMUv3 IDR3.RIL)
 * @param pasidExec          IOMMU_HW_CAP_PCI_PASID_EXEC
 * @param pasidPriv          IOMMU_HW_CAP_PCI_PASID_PRIV
 */
public record HostCapabilities(Kind kind, int inputAddressBits, int outputAddressBits, long pageSizes,
                               int pasidBits, int streamIdBits, boolean nesting, boolean dirtyTracking,
                               boolean pri, boolean ats, boolean stall, boolean rangeInvalidation,
                               boolean pasidExec, boolean pasidPriv) {
    /** The physical IOMMU's architecture. */
    public enum Kind { VTD, SMMUV3, OTHER }

    public static final long SZ_4K = 1L << 12, SZ_16K = 1L << 14, SZ_64K = 1L << 16, SZ_2M = 1L << 21,
            SZ_32M = 1L << 25, SZ_512M = 1L << 29, SZ_1G = 1L << 30;

    /** PCIe's PASID width limit. */
    public static final int MAX_PASID_BITS = 20;

    public HostCapabilities {
        if (kind == null) throw new IllegalArgumentException("kind");
        if (inputAddressBits < 0 || inputAddressBits > 64 || outputAddressBits < 0 || outputAddressBits > 64) {
            throw new IllegalArgumentException("address bits " + inputAddressBits + "/" + outputAddressBits);
        }
        if (pasidBits < 0 || pasidBits > 32 || streamIdBits < 0 || streamIdBits > 32) {
            throw new IllegalArgumentException("pasid/stream bits " + pasidBits + "/" + streamIdBits);
        }
    }

    /** No host constraint: for emulated-only vIOMMUs (no passthrough device), where the sidecar does all DMA. */
    public static HostCapabilities unlimited() { return UNLIMITED; }

    private static final HostCapabilities UNLIMITED = new HostCapabilities(Kind.OTHER, 64, 64, -1L, MAX_PASID_BITS, 32,
            true, true, true, true, true, true, true, true);

    /** Whether {@code size} (a power of two) is a supported page or block size. */
    public boolean supportsPageSize(final long size) {
        return Long.bitCount(size) == 1 && (pageSizes & size) != 0;
    }

    /** {@code wanted} clamped to the input (IOVA) width. */
    public int clampInputBits(final int wanted) { return Math.min(wanted, inputAddressBits); }

    /** {@code wanted} clamped to the output (guest-physical) width. */
    public int clampOutputBits(final int wanted) { return Math.min(wanted, outputAddressBits); }

    /** {@code wanted} clamped to the PASID width. */
    public int clampPasidBits(final int wanted) { return Math.min(wanted, pasidBits); }

    /**
     * What both hosts can do: for one vIOMMU backed by several physical IOMMUs. The kind stays when both agree
     * (or one side is {@link #unlimited()}), else it is OTHER.
     */
    public HostCapabilities intersect(final HostCapabilities o) {
        final Kind k = kind == o.kind ? kind : o.equals(UNLIMITED) ? kind : equals(UNLIMITED) ? o.kind : Kind.OTHER;
        return new HostCapabilities(k,
                Math.min(inputAddressBits, o.inputAddressBits), Math.min(outputAddressBits, o.outputAddressBits),
                pageSizes & o.pageSizes, Math.min(pasidBits, o.pasidBits), Math.min(streamIdBits, o.streamIdBits),
                nesting && o.nesting, dirtyTracking && o.dirtyTracking, pri && o.pri, ats && o.ats,
                stall && o.stall, rangeInvalidation && o.rangeInvalidation, pasidExec && o.pasidExec,
                pasidPriv && o.pasidPriv);
    }

    /** The same capabilities with nesting known (for example after a backend probed a NEST_PARENT HWPT). */
    public HostCapabilities withNesting(final boolean nested) {
        return new HostCapabilities(kind, inputAddressBits, outputAddressBits, pageSizes, pasidBits, streamIdBits,
                nested, dirtyTracking, pri, ats, stall, rangeInvalidation, pasidExec, pasidPriv);
    }
}
