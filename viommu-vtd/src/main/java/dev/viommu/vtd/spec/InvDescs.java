package dev.viommu.vtd.spec;

import dev.viommu.core.regs.BitField;

/**
 * Decodes invalidation descriptors (vtd.md A.7). Type = QW0[3:0] | QW0[11:9] &lt;&lt; 4. Every reserved bit the
 * layouts list is checked; a set one is IQEI 4, an unknown type IQEI 3.
 */
public final class InvDescs {
    private InvDescs() {}

    public static final int CC = 1, IOTLB = 2, DEVTLB = 3, IEC = 4, WAIT = 5, PIOTLB = 6, PC = 7, PDEVTLB = 8, PGRP = 9;

    static final BitField TYPE_LO = BitField.bits("DESC.TYPE_LO", 3, 0);
    static final BitField TYPE_HI = BitField.bits("DESC.TYPE_HI", 11, 9);
    static final BitField G = BitField.bits("DESC.G", 5, 4);
    static final BitField DID = BitField.bits("DESC.DID", 31, 16);
    static final BitField CC_SID = BitField.bits("CC.SID", 47, 32);
    static final BitField CC_FM = BitField.bits("CC.FM", 49, 48);
    static final BitField DW = BitField.bit("IOTLB.DW", 6);
    static final BitField DR = BitField.bit("IOTLB.DR", 7);
    static final BitField AM = BitField.bits("DESC.AM", 5, 0);
    static final BitField IH = BitField.bit("DESC.IH", 6);
    static final BitField ADDR = BitField.bits("DESC.ADDR", 63, 12);
    static final BitField PASID = BitField.bits("DESC.PASID", 51, 32);
    static final BitField DT_SID = BitField.bits("DEVTLB.SID", 47, 32);
    static final BitField DT_MIP = BitField.bits("DEVTLB.MIP", 20, 16);
    static final BitField PFSID_LO = BitField.bits("DEVTLB.PFSID_LO", 15, 12);
    static final BitField PFSID_HI = BitField.bits("DEVTLB.PFSID_HI", 63, 52);
    static final BitField S = BitField.bit("DEVTLB.S", 0);
    static final BitField IEC_G = BitField.bit("IEC.G", 4);
    static final BitField IEC_IM = BitField.bits("IEC.IM", 31, 27);
    static final BitField IEC_IIDX = BitField.bits("IEC.IIDX", 47, 32);
    static final BitField WAIT_IF = BitField.bit("WAIT.IF", 4);
    static final BitField WAIT_SW = BitField.bit("WAIT.SW", 5);
    static final BitField WAIT_FN = BitField.bit("WAIT.FN", 6);
    static final BitField WAIT_PD = BitField.bit("WAIT.PD", 7);
    static final BitField WAIT_DATA = BitField.bits("WAIT.DATA", 63, 32);
    static final BitField WAIT_ADDR = BitField.bits("WAIT.ADDR", 63, 2);
    static final BitField PDT_MIP = BitField.bits("PDEVTLB.MIP", 8, 4);
    static final BitField PDT_SID = BitField.bits("PDEVTLB.SID", 31, 16);
    static final BitField PDT_G = BitField.bit("PDEVTLB.G", 0);
    static final BitField PDT_S = BitField.bit("PDEVTLB.S", 11);
    static final BitField PGR_PP = BitField.bit("PGR.PP", 4);
    static final BitField PGR_CODE = BitField.bits("PGR.CODE", 15, 12);
    static final BitField PGR_RID = BitField.bits("PGR.RID", 31, 16);
    static final BitField PGR_PRGI = BitField.bits("PGR.PRGI", 11, 3);

    // Reserved bits per type (bits 11:9 are the high type bits, checked apart).
    static final long CC_RSVD0 = 0x1C0L | 0xF000L | 0xFFFC_0000_0000_0000L;
    static final long IOTLB_RSVD0 = 0x100L | 0xF000L | 0xFFFF_FFFF_0000_0000L;
    static final long IOTLB_RSVD1 = 0xF80L;
    static final long DEVTLB_RSVD0 = 0x1F0L | 0xFFE0_0000L | 0x000F_0000_0000_0000L;
    static final long DEVTLB_RSVD1 = 0xFFEL;
    static final long IEC_RSVD0 = 0x1E0L | 0x07FF_F000L | 0xFFFF_0000_0000_0000L;
    static final long WAIT_RSVD0 = 0x100L | 0xFFFF_F000L;
    static final long WAIT_RSVD1 = 0x3L;
    static final long PASID_RSVD0 = 0x1C0L | 0xF000L | 0xFFF0_0000_0000_0000L;
    static final long PIOTLB_RSVD1 = 0xF80L;
    static final long PDEVTLB_RSVD0 = 0;
    static final long PDEVTLB_RSVD1 = 0x7FEL;
    /**
     * PDP (bit 5) is reserved in current specs: QEMU intel_iommu_internal.h VTD_INV_DESC_PGRESP_RSVD_LO
     * (0xfff00000000001e0, the same mask); Linux 7.3 iommu.h QI_PGRP_* has no PDP field.
     */
    static final long PGR_RSVD0 = 0x1E0L | 0xFFF0_0000_0000_0000L;
    /** LPIG (QW1 bit 2) of older revisions is accepted and ignored. */
    static final long PGR_RSVD1 = 0xFFFF_FFFF_FFFF_F003L;

    /**
     * What the unit supports, for the checks that depend on it. {@code scalableMode}: PASID-granular descriptors
     * (types 6 and 8) exist with ECAP.SMTS, since scalable-mode IOTLB entries are PASID-tagged even for requests
     * without PASID (RID_PASID); Linux issues them whether or not ECAP.PASID is set.
     */
    public record Features(boolean drain, boolean pageDrain, boolean scalableMode, boolean psi, int mamv) {}

    /** The 7-bit descriptor type. */
    public static int type(final long qw0) {
        return (int) (TYPE_LO.get(qw0) | TYPE_HI.get(qw0) << 4);
    }

    /**
     * Decodes one descriptor; {@code qw2}/{@code qw3} are 0 in a 128-bit queue and must be 0 (reserved) in a
     * 256-bit one for every type defined today: QEMU vtd_inv_desc_reserved_check (VTD_INV_DESC_ALL_ONE for val[2],
     * val[3] of each type), VirtualBox DevIommuIntel (wait descriptor QW2/QW3: IQEI 4); Linux 7.3 zeroes them.
     */
    public static InvDesc decode(final long qw0, final long qw1, final long qw2, final long qw3, final Features f) {
        final int type = type(qw0);
        if (type < CC || type > PGRP) return new InvDesc.Illegal(VtdReg.IQEI_TYPE, qw0, qw1);
        if ((qw2 | qw3) != 0) return rsvd(qw0, qw1);
        switch (type) {
            case CC -> {
                final int g = (int) G.get(qw0);
                if ((qw0 & CC_RSVD0) != 0 || qw1 != 0 || g == 0) return rsvd(qw0, qw1);
                return new InvDesc.ContextCache(g, (int) DID.get(qw0), (int) CC_SID.get(qw0), (int) CC_FM.get(qw0));
            }
            case IOTLB -> {
                final int g = (int) G.get(qw0);
                if ((qw0 & IOTLB_RSVD0) != 0 || (qw1 & IOTLB_RSVD1) != 0 || g == 0) return rsvd(qw0, qw1);
                if (!f.drain() && (DW.isSet(qw0) || DR.isSet(qw0))) return rsvd(qw0, qw1);
                final int am = (int) AM.get(qw1);
                if (g == 3 && (!f.psi() || am > f.mamv())) return rsvd(qw0, qw1);
                final long addr = ADDR.raw(qw1) & -(1L << (12 + am));      // AM low-order ADDR bits are masked, not checked
                return new InvDesc.Iotlb(g, DR.isSet(qw0), DW.isSet(qw0), (int) DID.get(qw0), addr, am, IH.isSet(qw1));
            }
            case DEVTLB -> {
                if ((qw0 & DEVTLB_RSVD0) != 0 || (qw1 & DEVTLB_RSVD1) != 0) return rsvd(qw0, qw1);
                final int pfsid = (int) (PFSID_LO.get(qw0) | PFSID_HI.get(qw0) << 4);
                return new InvDesc.DevTlb((int) DT_SID.get(qw0), pfsid, (int) DT_MIP.get(qw0), ADDR.raw(qw1), S.isSet(qw1));
            }
            case IEC -> {
                if ((qw0 & IEC_RSVD0) != 0 || qw1 != 0) return rsvd(qw0, qw1);
                return new InvDesc.Iec(IEC_G.isSet(qw0), (int) IEC_IM.get(qw0), (int) IEC_IIDX.get(qw0));
            }
            case WAIT -> {
                if ((qw0 & WAIT_RSVD0) != 0 || (qw1 & WAIT_RSVD1) != 0) return rsvd(qw0, qw1);
                if (WAIT_PD.isSet(qw0) && !f.pageDrain()) return rsvd(qw0, qw1);
                return new InvDesc.Wait(WAIT_IF.isSet(qw0), WAIT_SW.isSet(qw0), WAIT_FN.isSet(qw0), WAIT_PD.isSet(qw0),
                        (int) WAIT_DATA.get(qw0), WAIT_ADDR.raw(qw1));
            }
            case PIOTLB -> {
                final int g = (int) G.get(qw0);
                if (!f.scalableMode() || (qw0 & PASID_RSVD0) != 0 || (qw1 & PIOTLB_RSVD1) != 0 || g < 2) return rsvd(qw0, qw1);
                final int am = (int) AM.get(qw1);
                if (g == 3 && am > f.mamv()) return rsvd(qw0, qw1);
                final long addr = ADDR.raw(qw1) & -(1L << (12 + am));      // as for type 2
                return new InvDesc.PasidIotlb(g, (int) DID.get(qw0), (int) PASID.get(qw0), addr, am, IH.isSet(qw1));
            }
            case PC -> {
                final int g = (int) G.get(qw0);
                if ((qw0 & PASID_RSVD0) != 0 || qw1 != 0 || g == 2) return rsvd(qw0, qw1);
                return new InvDesc.PasidCache(g, (int) DID.get(qw0), (int) PASID.get(qw0));
            }
            case PDEVTLB -> {
                if (!f.scalableMode() || (qw0 & PDEVTLB_RSVD0) != 0 || (qw1 & PDEVTLB_RSVD1) != 0) return rsvd(qw0, qw1);
                final int pfsid = (int) (PFSID_LO.get(qw0) | PFSID_HI.get(qw0) << 4);
                return new InvDesc.PasidDevTlb((int) PDT_SID.get(qw0), (int) PASID.get(qw0), pfsid, (int) PDT_MIP.get(qw0),
                        PDT_G.isSet(qw1), PDT_S.isSet(qw1), ADDR.raw(qw1));
            }
            default -> { // PGRP
                if ((qw0 & PGR_RSVD0) != 0 || (qw1 & PGR_RSVD1) != 0) return rsvd(qw0, qw1);
                return new InvDesc.PageGroupResponse(PGR_PP.isSet(qw0), (int) PGR_CODE.get(qw0), (int) PGR_RID.get(qw0),
                        (int) PASID.get(qw0), (int) PGR_PRGI.get(qw1));
            }
        }
    }

    private static InvDesc rsvd(final long qw0, final long qw1) {
        return new InvDesc.Illegal(VtdReg.IQEI_RSVD, qw0, qw1);
    }

    /**
     * The byte range of an ATS-encoded invalidation address (S = 1): the lowest clear bit k at or above bit 12
     * gives 2^(k-11) pages; bits 62:12 all ones with bit 63 clear mean everything (returns size 0).
     */
    public static long atsRangeSize(final long addr, final boolean s) {
        if (!s) return 4096;
        final long bits = addr | 0xFFFL;
        if ((addr & 0x7FFF_FFFF_FFFF_F000L) == 0x7FFF_FFFF_FFFF_F000L) return 0;
        final int k = Long.numberOfTrailingZeros(~bits);
        return 1L << (k + 1);
    }
}
