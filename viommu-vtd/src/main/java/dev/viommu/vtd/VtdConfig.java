package dev.viommu.vtd;

import dev.viommu.core.spi.DeviceException;
import dev.viommu.core.spi.Properties;
import dev.viommu.core.spi.PropertySpec;
import dev.viommu.vtd.spec.Cap;
import dev.viommu.vtd.spec.Ecap;
import dev.viommu.vtd.spec.VtdReg;

import java.util.List;

/**
 * The device's configuration, from its properties (QEMU's names where QEMU has one), and the CAP/ECAP values it
 * implies. Validation mirrors QEMU's {@code vtd_decide_config}: an inconsistent set is a clear error.
 */
public record VtdConfig(int awBits, boolean cachingMode, boolean scalable, boolean firstStage, boolean secondStage,
                        boolean pasid, int pasidBits, boolean svm, boolean deviceIotlb, boolean intremap, boolean eim,
                        boolean snoopControl, boolean dmaDrain, boolean passThrough, int nfr, int iotlbEntries) {

    public static final int MAMV = 18;
    public static final int MAX_NFR = 64;

    public static final List<PropertySpec> PROPERTIES = List.of(
            PropertySpec.uintOf("aw-bits", 48, List.of(39L, 48L, 57L), "guest address width (MGAW); SAGAW covers 39 up to it"),
            PropertySpec.bool("caching-mode", false, "CAP.CM: the guest invalidates on not-present to present changes"),
            PropertySpec.bool("x-scalable-mode", false, "scalable-mode translation (ECAP.SMTS), QEMU's name"),
            PropertySpec.bool("scalable-mode", false, "alias of x-scalable-mode (QEMU's newer name)"),
            PropertySpec.bool("x-flts", false, "first-stage translation in scalable mode (ECAP.FSTS; nesting with second stage)"),
            PropertySpec.bool("x-ssts", true, "second-stage translation in scalable mode (ECAP.SSTS)"),
            PropertySpec.bool("x-pasid-mode", false, "PASID support in scalable mode (ECAP.PASID)"),
            PropertySpec.uint("pasid-bits", 20, 1, 20, "PASID width (ECAP.PSS + 1)"),
            PropertySpec.bool("svm", false, "page requests (ECAP.PRS, PDS); needs device-iotlb, x-pasid-mode and x-flts"),
            PropertySpec.bool("device-iotlb", false, "device-TLB / ATS (ECAP.DT)"),
            PropertySpec.bool("intremap", true, "interrupt remapping (ECAP.IR)"),
            PropertySpec.bool("eim", true, "extended interrupt mode, x2APIC (ECAP.EIM); needs intremap"),
            PropertySpec.bool("snoop-control", false, "snoop control (ECAP.SC)"),
            PropertySpec.bool("dma-drain", true, "read/write draining (CAP.DRD/DWD)"),
            PropertySpec.bool("pt", true, "pass-through (ECAP.PT)"),
            PropertySpec.uint("nfr", 8, 1, MAX_NFR, "number of fault recording registers (CAP.NFR + 1)"),
            PropertySpec.uint("x-iotlb-size", 65536, 64, 1L << 22, "IOTLB capacity in entries"));

    public static VtdConfig from(final Properties p) throws DeviceException {
        final boolean sm = p.bool("x-scalable-mode") || p.bool("scalable-mode");
        final boolean fs = p.bool("x-flts");
        final boolean ss = p.bool("x-ssts");
        final VtdConfig c = new VtdConfig(p.intValue("aw-bits"), p.bool("caching-mode"), sm, fs, ss,
                p.bool("x-pasid-mode"), p.intValue("pasid-bits"), p.bool("svm"), p.bool("device-iotlb"),
                p.bool("intremap"), p.bool("eim") && p.bool("intremap"), p.bool("snoop-control"), p.bool("dma-drain"),
                p.bool("pt"), p.intValue("nfr"), p.intValue("x-iotlb-size"));
        if (p.isGiven("eim") && p.bool("eim") && !p.bool("intremap")) throw new DeviceException("eim=on requires intremap=on");
        if (sm && !fs && !ss) throw new DeviceException("scalable mode needs x-flts or x-ssts");
        if (!sm && (fs || c.pasid)) throw new DeviceException("x-flts and x-pasid-mode require x-scalable-mode=on");
        if (c.svm && !(c.deviceIotlb && c.pasid && fs)) {
            throw new DeviceException("svm=on requires device-iotlb=on, x-pasid-mode=on and x-flts=on");
        }
        return c;
    }

    /** Second-stage walks exist in legacy mode, or in scalable mode with x-ssts. */
    public boolean ssSupported() { return !scalable || secondStage; }

    public boolean fsSupported() { return scalable && firstStage; }

    public boolean nestSupported() { return scalable && firstStage && secondStage; }

    /** SAGAW as the 5-bit CAP field: 39 (bit 1), 48 (bit 2), 57 (bit 3), up to aw-bits. */
    public int sagaw() {
        return switch (awBits) {
            case 39 -> 0b0010;
            case 48 -> 0b0110;
            default -> 0b1110;
        };
    }

    public long cap() {
        long v = 0;
        v = Cap.ND.with(v, 6);                         // 16-bit domain IDs
        v = Cap.CM.with(v, cachingMode);
        v = Cap.SAGAW.with(v, ssSupported() ? sagaw() : 0);
        v = Cap.MGAW.with(v, awBits - 1);
        v = Cap.FRO.with(v, VtdReg.FRO);
        v = Cap.SLLPS.with(v, ssSupported() ? 0b11 : 0);   // 2 MiB and 1 GiB
        v = Cap.PSI.with(v, true);
        v = Cap.NFR.with(v, nfr - 1);
        v = Cap.MAMV.with(v, MAMV);
        v = Cap.DWD.with(v, dmaDrain);
        v = Cap.DRD.with(v, dmaDrain);
        v = Cap.FS1GP.with(v, fsSupported());
        v = Cap.FS5LP.with(v, fsSupported() && awBits == 57);
        return v;
    }

    public long ecap() {
        long v = 0;
        v = Ecap.C.with(v, true);                      // we read guest tables coherently
        v = Ecap.QI.with(v, true);
        v = Ecap.DT.with(v, deviceIotlb);
        v = Ecap.IR.with(v, intremap);
        v = Ecap.EIM.with(v, eim);
        v = Ecap.PT.with(v, passThrough);
        v = Ecap.SC.with(v, snoopControl);
        v = Ecap.IRO.with(v, VtdReg.IRO);
        v = Ecap.MHMV.with(v, intremap ? 0xF : 0);
        if (scalable) {
            v = Ecap.SMTS.with(v, true);
            v = Ecap.SRS.with(v, true);
            v = Ecap.SMPWCS.with(v, true);
            v = Ecap.SSTS.with(v, secondStage);
            v = Ecap.SSADS.with(v, secondStage);
            v = Ecap.FSTS.with(v, firstStage);
            v = Ecap.NEST.with(v, nestSupported());
            if (pasid) {
                v = Ecap.PASID.with(v, true);
                v = Ecap.PSS.with(v, pasidBits - 1);
            }
            v = Ecap.PRS.with(v, svm);
            v = Ecap.PDS.with(v, svm);
        }
        return v;
    }

    /** VER: 1.0 for legacy, 3.0 with scalable mode (as QEMU). */
    public int version() { return scalable ? 0x30 : 0x10; }

    /** Host address width: output addresses at or above 2^haw are reserved bits in table entries. */
    public int haw() { return awBits; }
}
