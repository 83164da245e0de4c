package dev.viommu.core.host;

import dev.viommu.core.regs.BitField;

import static dev.viommu.core.regs.BitField.bit;
import static dev.viommu.core.regs.BitField.bits;

/**
 * Decodes IOMMU_GET_HW_INFO (the raw VT-d CAP/ECAP, or the SMMUv3 IDRs the kernel exposes) into
 * {@link HostCapabilities}. Field positions: VT-d spec §11.4.2/§11.4.3 (vtd.md A.2/A.3); SMMUv3 IDR0/1/3/5
 * (smmuv3.md B.2). The kernel masks the SMMUv3 IDRs to the fields userspace may rely on (iommufd.h: IDR0
 * ST_LEVEL, TERM/STALL_MODEL, TTENDIAN, CD2L, ASID16, TTF; IDR1 SIDSIZE/SSIDSIZE; IDR3 BBML/RIL; IDR5
 * VAX/GRAN*), so S1P/S2P/ATS/PRI usually read 0 from a real kernel: nesting must then be probed
 * ({@link HostCapabilities#withNesting}), and ATS is per device ({@code IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED}).
 */
public final class HwInfoDecoder {
    // iommufd_hw_capabilities (out_capabilities)
    public static final long CAP_DIRTY_TRACKING = 1, CAP_PCI_PASID_EXEC = 2, CAP_PCI_PASID_PRIV = 4,
            CAP_PCI_ATS_NOT_SUPPORTED = 8;

    /** VT-d Capability Register (§11.4.2). */
    public static final class VtdCap {
        public static final BitField ND = bits("CAP.ND", 2, 0);
        public static final BitField CM = bit("CAP.CM", 7);
        public static final BitField SAGAW = bits("CAP.SAGAW", 12, 8);
        public static final BitField MGAW = bits("CAP.MGAW", 21, 16);
        public static final BitField SLLPS = bits("CAP.SLLPS", 37, 34);
        public static final BitField PSI = bit("CAP.PSI", 39);
        public static final BitField MAMV = bits("CAP.MAMV", 53, 48);
        public static final BitField FS1GP = bit("CAP.FS1GP", 56);
        public static final BitField FS5LP = bit("CAP.FS5LP", 60);

        private VtdCap() {}
    }

    /** VT-d Extended Capability Register (§11.4.3). */
    public static final class VtdEcap {
        public static final BitField QI = bit("ECAP.QI", 1);
        public static final BitField DT = bit("ECAP.DT", 2);
        public static final BitField PT = bit("ECAP.PT", 6);
        public static final BitField SC = bit("ECAP.SC", 7);
        public static final BitField NEST = bit("ECAP.NEST", 26);
        public static final BitField PRS = bit("ECAP.PRS", 29);
        public static final BitField SRS = bit("ECAP.SRS", 31);
        public static final BitField EAFS = bit("ECAP.EAFS", 34);
        public static final BitField PSS = bits("ECAP.PSS", 39, 35);
        public static final BitField PASID = bit("ECAP.PASID", 40);
        public static final BitField SMTS = bit("ECAP.SMTS", 43);
        public static final BitField SSADS = bit("ECAP.SSADS", 45);
        public static final BitField SSTS = bit("ECAP.SSTS", 46);
        public static final BitField FSTS = bit("ECAP.FSTS", 47);

        private VtdEcap() {}
    }

    /** SMMUv3 IDR0/IDR1/IDR3/IDR5 fields. */
    public static final class SmmuIdr {
        public static final BitField IDR0_S2P = bit("IDR0.S2P", 0);
        public static final BitField IDR0_S1P = bit("IDR0.S1P", 1);
        public static final BitField IDR0_TTF = bits("IDR0.TTF", 3, 2);
        public static final BitField IDR0_ATS = bit("IDR0.ATS", 10);
        public static final BitField IDR0_PRI = bit("IDR0.PRI", 16);
        public static final BitField IDR0_STALL_MODEL = bits("IDR0.STALL_MODEL", 25, 24);
        public static final BitField IDR1_SIDSIZE = bits("IDR1.SIDSIZE", 5, 0);
        public static final BitField IDR1_SSIDSIZE = bits("IDR1.SSIDSIZE", 10, 6);
        public static final BitField IDR3_RIL = bit("IDR3.RIL", 10);
        public static final BitField IDR5_OAS = bits("IDR5.OAS", 2, 0);
        public static final BitField IDR5_GRAN4K = bit("IDR5.GRAN4K", 4);
        public static final BitField IDR5_GRAN16K = bit("IDR5.GRAN16K", 5);
        public static final BitField IDR5_GRAN64K = bit("IDR5.GRAN64K", 6);
        public static final BitField IDR5_VAX = bits("IDR5.VAX", 11, 10);

        /** STALL_MODEL = 1: terminate only (no stall). */
        public static final int STALL_MODEL_TERMINATE_ONLY = 1;

        private SmmuIdr() {}
    }

    private HwInfoDecoder() {}

    public static HostCapabilities decode(final HwInfo info) {
        return switch (info) {
            case HwInfo.Vtd v -> vtd(v.capReg(), v.ecapReg(), v.maxPasidLog2(), v.capabilities());
            case HwInfo.SmmuV3 s -> smmuv3(s.idr(), s.maxPasidLog2(), s.capabilities());
            case HwInfo.None n -> new HostCapabilities(HostCapabilities.Kind.OTHER, 48, 48, HostCapabilities.SZ_4K,
                    Math.min(n.maxPasidLog2(), HostCapabilities.MAX_PASID_BITS), 16, false,
                    (n.capabilities() & CAP_DIRTY_TRACKING) != 0, false,
                    (n.capabilities() & CAP_PCI_ATS_NOT_SUPPORTED) == 0, false, false,
                    (n.capabilities() & CAP_PCI_PASID_EXEC) != 0, (n.capabilities() & CAP_PCI_PASID_PRIV) != 0);
        };
    }

    /**
     * VT-d: nesting needs scalable mode and ECAP.NEST (Linux {@code nested_supported()}). With nesting the guest
     * owns the first stage, so its VA width is 48 or 57 (CAP.FS5LP) and its pages 4K/2M (+1G with CAP.FS1GP);
     * without, guest IOVAs land in the host second stage: the widest SAGAW level capped at MGAW+1, pages from
     * CAP.SLLPS.
     *
     * @param deviceMaxPasidLog2 the device's PASID width from hw info (0: the device has no PASID capability)
     */
    public static HostCapabilities vtd(final long cap, final long ecap, final int deviceMaxPasidLog2,
                                       final long hwCaps) {
        final boolean sm = VtdEcap.SMTS.isSet(ecap);
        final boolean nesting = sm && VtdEcap.NEST.isSet(ecap);
        final int mgaw = (int) VtdCap.MGAW.get(cap) + 1;
        final int input;
        long pages = HostCapabilities.SZ_4K;
        if (nesting) {
            input = VtdCap.FS5LP.isSet(cap) ? 57 : 48;
            pages |= HostCapabilities.SZ_2M;
            if (VtdCap.FS1GP.isSet(cap)) pages |= HostCapabilities.SZ_1G;
        } else {
            input = Math.min(sagawWidth(VtdCap.SAGAW.get(cap)), mgaw);
            final long sllps = VtdCap.SLLPS.get(cap);
            if ((sllps & 1) != 0) pages |= HostCapabilities.SZ_2M;
            if ((sllps & 2) != 0) pages |= HostCapabilities.SZ_1G;
        }
        final int iommuPasid = sm && VtdEcap.PASID.isSet(ecap) ? (int) VtdEcap.PSS.get(ecap) + 1 : 0;
        final int pasid = Math.min(Math.min(iommuPasid, deviceMaxPasidLog2), HostCapabilities.MAX_PASID_BITS);
        return new HostCapabilities(HostCapabilities.Kind.VTD, input, mgaw, pages, pasid, 16, nesting,
                (hwCaps & CAP_DIRTY_TRACKING) != 0, VtdEcap.PRS.isSet(ecap),
                VtdEcap.DT.isSet(ecap) && (hwCaps & CAP_PCI_ATS_NOT_SUPPORTED) == 0, false,
                VtdCap.PSI.isSet(cap), pasid > 0 && (hwCaps & CAP_PCI_PASID_EXEC) != 0,
                pasid > 0 && (hwCaps & CAP_PCI_PASID_PRIV) != 0);
    }

    /** The widest second-stage width SAGAW allows: bit 1 = 39, bit 2 = 48, bit 3 = 57 (bit 0, 30-bit, ignored). */
    static int sagawWidth(final long sagaw) {
        if ((sagaw & 8) != 0) return 57;
        if ((sagaw & 4) != 0) return 48;
        if ((sagaw & 2) != 0) return 39;
        return 0;
    }

    /**
     * SMMUv3 from IDR0..IDR5. Nesting reads S1P && S2P (a real kernel masks them: probe and use
     * {@link HostCapabilities#withNesting}).
     */
    public static HostCapabilities smmuv3(final int[] idr, final int deviceMaxPasidLog2, final long hwCaps) {
        if (idr == null || idr.length < 6) throw new IllegalArgumentException("SMMUv3 hw info needs IDR0..IDR5");
        final long idr0 = Integer.toUnsignedLong(idr[0]);
        final long idr1 = Integer.toUnsignedLong(idr[1]);
        final long idr3 = Integer.toUnsignedLong(idr[3]);
        final long idr5 = Integer.toUnsignedLong(idr[5]);
        long pages = 0;
        if (SmmuIdr.IDR5_GRAN4K.isSet(idr5)) pages |= HostCapabilities.SZ_4K | HostCapabilities.SZ_2M | HostCapabilities.SZ_1G;
        if (SmmuIdr.IDR5_GRAN16K.isSet(idr5)) pages |= HostCapabilities.SZ_16K | HostCapabilities.SZ_32M;
        if (SmmuIdr.IDR5_GRAN64K.isSet(idr5)) pages |= HostCapabilities.SZ_64K | HostCapabilities.SZ_512M;
        final int input = SmmuIdr.IDR5_VAX.get(idr5) == 1 ? 52 : 48;
        final int ssid = (int) SmmuIdr.IDR1_SSIDSIZE.get(idr1);
        final int pasid = Math.min(Math.min(ssid, deviceMaxPasidLog2), HostCapabilities.MAX_PASID_BITS);
        final boolean nesting = SmmuIdr.IDR0_S1P.isSet(idr0) && SmmuIdr.IDR0_S2P.isSet(idr0);
        return new HostCapabilities(HostCapabilities.Kind.SMMUV3, input, oasBits((int) SmmuIdr.IDR5_OAS.get(idr5)),
                pages, pasid, (int) SmmuIdr.IDR1_SIDSIZE.get(idr1), nesting, (hwCaps & CAP_DIRTY_TRACKING) != 0,
                SmmuIdr.IDR0_PRI.isSet(idr0), (hwCaps & CAP_PCI_ATS_NOT_SUPPORTED) == 0,
                SmmuIdr.IDR0_STALL_MODEL.get(idr0) != SmmuIdr.STALL_MODEL_TERMINATE_ONLY,
                SmmuIdr.IDR3_RIL.isSet(idr3), pasid > 0 && (hwCaps & CAP_PCI_PASID_EXEC) != 0,
                pasid > 0 && (hwCaps & CAP_PCI_PASID_PRIV) != 0);
    }

    /** IDR5.OAS: 0 = 32, 1 = 36, 2 = 40, 3 = 42, 4 = 44, 5 = 48, 6 = 52 bits; reserved values read as 48. */
    public static int oasBits(final int oas) {
        return switch (oas) {
            case 0 -> 32; case 1 -> 36; case 2 -> 40; case 3 -> 42; case 4 -> 44; case 6 -> 52;
            default -> 48;
        };
    }

    /** A one-line summary of the VT-d fields that decide what a vIOMMU may advertise (for logs and the rig). */
    public static String describeVtd(final long cap, final long ecap) {
        return "SAGAW=0x" + Long.toHexString(VtdCap.SAGAW.get(cap)) + " MGAW=" + (VtdCap.MGAW.get(cap) + 1)
                + " SLLPS=0x" + Long.toHexString(VtdCap.SLLPS.get(cap)) + " PSI=" + VtdCap.PSI.get(cap)
                + " FS1GP=" + VtdCap.FS1GP.get(cap) + " FS5LP=" + VtdCap.FS5LP.get(cap)
                + " SMTS=" + VtdEcap.SMTS.get(ecap) + " SLTS=" + VtdEcap.SSTS.get(ecap)
                + " FLTS=" + VtdEcap.FSTS.get(ecap) + " NEST=" + VtdEcap.NEST.get(ecap)
                + " PASID=" + VtdEcap.PASID.get(ecap) + " PSS=" + VtdEcap.PSS.get(ecap)
                + " PRS=" + VtdEcap.PRS.get(ecap) + " DT=" + VtdEcap.DT.get(ecap) + " SRS=" + VtdEcap.SRS.get(ecap);
    }
}
