package dev.viommu.smmuv3;

import dev.viommu.core.spi.Properties;
import dev.viommu.core.spi.PropertyException;
import dev.viommu.core.spi.PropertySpec;
import dev.viommu.smmuv3.spec.Idr;

import java.util.List;
import java.util.Locale;

/**
 * The device's validated configuration: what the properties ask for, and the ID register values that
 * advertise it. Everything the model implements is gated on these values, so a guest only ever sees what is
 * advertised (the spec-coverage document lists each property's effect).
 */
public record SmmuV3Config(boolean stage1, boolean stage2, int ssidBits, int sidBits, boolean strtab2lvl, boolean cd2l,
                           boolean ats, boolean pri, boolean msi, boolean sev, boolean ril, int httu, boolean btm,
                           boolean hyp, int stallModel, boolean gran4k, boolean gran16k, boolean gran64k, int oasBits,
                           int cmdqs, int eventqs, int priqs, int iotlbEntries, int configCacheEntries) {

    public static final String DRIVER = "arm-smmuv3";

    /** IIDR: implementer 0 (not Arm), so Linux applies no MMU-600/700 errata workarounds. */
    public static final int IIDR = 0;
    /** IDR5.STALL_MAX advertised when stalls are supported. */
    public static final int STALL_MAX = 64;

    public static List<PropertySpec> properties() {
        return List.of(
                PropertySpec.choice("stage", "nested", List.of("1", "2", "nested"),
                        "translation stages: 1 (S1P), 2 (S2P) or nested (both)"),
                PropertySpec.uint("ssidsize", 16, 0, 20, "IDR1.SSIDSIZE: SubstreamID (PASID) bits; 0 = no substreams"),
                PropertySpec.uint("sidsize", 16, 1, 32, "IDR1.SIDSIZE: StreamID bits"),
                PropertySpec.bool("2lvl-strtab", true, "IDR0.ST_LVL: offer two-level stream tables"),
                PropertySpec.bool("cd2l", true, "IDR0.CD2L: offer two-level CD tables"),
                PropertySpec.bool("ats", false, "IDR0.ATS: PCIe ATS (ATC_INV accepted, EATS honoured)"),
                PropertySpec.bool("pri", false, "IDR0.PRI: PRI queue and PRI_RESP"),
                PropertySpec.bool("msi", true, "IDR0.MSI: MSI for queues/GERROR and CMD_SYNC MSI writes (Linux MSIPOLL)"),
                PropertySpec.bool("sev", true, "IDR0.SEV: the SMMU sends an event (WFE wake-up) for CMD_SYNC CS=SIG_SEV"),
                PropertySpec.bool("ril", true, "IDR3.RIL: range TLB invalidation"),
                PropertySpec.choice("httu", "af-dirty", List.of("none", "af", "af-dirty"),
                        "IDR0.HTTU: hardware access-flag / dirty-state updates"),
                PropertySpec.bool("btm", false, "IDR0.BTM: broadcast TLB maintenance (advertised only; no CPU TLBI source)"),
                PropertySpec.bool("hyp", false, "IDR0.HYP: EL2 stream worlds and the TLBI_EL2_* commands"),
                PropertySpec.choice("stall", "terminate", List.of("stall", "terminate", "force"),
                        "IDR0.STALL_MODEL: stall+terminate, terminate only, or stall forced"),
                PropertySpec.string("granules", "4k,16k,64k", "IDR5.GRANx: comma-separated subset of 4k,16k,64k"),
                PropertySpec.uintOf("oas", 48, List.of(32L, 36L, 40L, 42L, 44L, 48L, 52L), "IDR5.OAS in bits"),
                PropertySpec.uint("cmdqs", 19, 5, 19, "IDR1.CMDQS: log2 of the largest command queue"),
                PropertySpec.uint("eventqs", 19, 0, 19, "IDR1.EVENTQS: log2 of the largest event queue"),
                PropertySpec.uint("priqs", 19, 0, 19, "IDR1.PRIQS: log2 of the largest PRI queue"),
                PropertySpec.uint("iotlb-size", 4096, 16, 1 << 20, "IOTLB entries"),
                PropertySpec.uint("config-cache-size", 4096, 16, 1 << 20, "STE and CD cache entries (each)"));
    }

    public static SmmuV3Config from(final Properties p) throws PropertyException {
        final String stage = p.string("stage");
        final boolean s1 = !stage.equals("2");
        final boolean s2 = !stage.equals("1");
        boolean g4 = false, g16 = false, g64 = false;
        for (String g : p.string("granules").split(",")) {
            switch (g.trim().toLowerCase(Locale.ROOT)) {
                case "4k" -> g4 = true;
                case "16k" -> g16 = true;
                case "64k" -> g64 = true;
                default -> throw new PropertyException(DRIVER, "granules", "expects a subset of 4k,16k,64k, got '" + g + "'");
            }
        }
        if (!g4 && !g16 && !g64) throw new PropertyException(DRIVER, "granules", "needs at least one granule");
        final int httu = switch (p.string("httu")) {
            case "af" -> Idr.HTTU_AF;
            case "af-dirty" -> Idr.HTTU_AF_DIRTY;
            default -> Idr.HTTU_NONE;
        };
        final int stall = switch (p.string("stall")) {
            case "stall" -> Idr.STALL_MODEL_STALL;
            case "force" -> Idr.STALL_MODEL_FORCE;
            default -> Idr.STALL_MODEL_TERMINATE;
        };
        final boolean pri = p.bool("pri");
        if (pri && !p.bool("ats")) throw new PropertyException(DRIVER, "pri", "needs ats=on (PRI is a PCIe ATS extension)");
        return new SmmuV3Config(s1, s2, p.intValue("ssidsize"), p.intValue("sidsize"), p.bool("2lvl-strtab"),
                p.bool("cd2l"), p.bool("ats"), pri, p.bool("msi"), p.bool("sev"), p.bool("ril"), httu, p.bool("btm"),
                p.bool("hyp"), stall, g4, g16, g64, p.intValue("oas"), p.intValue("cmdqs"), p.intValue("eventqs"),
                p.intValue("priqs"), p.intValue("iotlb-size"), p.intValue("config-cache-size"));
    }

    public boolean stalls() { return stallModel != Idr.STALL_MODEL_TERMINATE; }

    public long idr0() {
        long v = 0;
        v = Idr.S2P.with(v, stage2);
        v = Idr.S1P.with(v, stage1);
        v = Idr.TTF.with(v, Idr.TTF_AARCH64);
        v = Idr.COHACC.with(v, true);                     // coherent: Linux then uses MSIPOLL for CMD_SYNC
        v = Idr.BTM.with(v, btm);
        v = Idr.HTTU.with(v, httu);
        v = Idr.HYP.with(v, hyp);
        v = Idr.ATS.with(v, ats);
        v = Idr.ASID16.with(v, true);
        v = Idr.MSI.with(v, msi);
        v = Idr.SEV.with(v, sev);
        v = Idr.PRI.with(v, pri);
        v = Idr.VMID16.with(v, true);
        v = Idr.CD2L.with(v, cd2l);
        v = Idr.TTENDIAN.with(v, Idr.TTENDIAN_LE);
        v = Idr.STALL_MODEL.with(v, stallModel);
        v = Idr.TERM_MODEL.with(v, true);                 // terminated transactions always abort; CD.A = 0 is ILLEGAL (§5.5)
        v = Idr.ST_LVL.with(v, strtab2lvl ? 1 : 0);
        return v;
    }

    /** IDR1: TABLES_PRESET, QUEUES_PRESET and REL stay 0 (Linux refuses embedded implementations). */
    public long idr1() {
        long v = 0;
        v = Idr.SIDSIZE.with(v, sidBits);
        v = Idr.SSIDSIZE.with(v, ssidBits);
        v = Idr.PRIQS.with(v, pri ? priqs : 0);
        v = Idr.EVENTQS.with(v, eventqs);
        v = Idr.CMDQS.with(v, cmdqs);
        return v;
    }

    public long idr3() {
        long v = 0;
        v = Idr.HAD.with(v, stage1);                 // mandatory with S1P from v3.1; 0 without S1P (§6.3.4)
        v = Idr.XNX.with(v, stage2);                 // mandatory with S2P from v3.1 (§6.3.4)
        v = Idr.PPS.with(v, pri && ssidBits > 0);    // RES0 without PRI or substreams (§6.3.4)
        v = Idr.RIL.with(v, ril);
        return v;
    }

    /**
     * AIDR (IHI0070 §6.3.8): the newest revision whose mandatory features IDR3 advertises. SMMUv3.2 requires
     * IDR3.RIL = 1, IDR3.FWB = 1 and IDR3.BBML = 0b01 or 0b10 (§6.3.4, §2.4); this model offers neither FWB
     * (memory attributes are not modelled, so STE.S2FWB could not be honoured) nor a BBM level (no TLB-conflict
     * behaviour is modelled), so it is SMMUv3.1, whose mandatory HAD (with stage 1) and XNX (with stage 2) it
     * has. RIL is optional before v3.2 (§4.4.1.1 "mandatory in SMMUv3.2 or later") and stays as configured.
     * Linux 7.3 never reads AIDR (it probes RIL, FWB and BBML from IDR3); iommufd passes it to the VMM.
     */
    public int aidr() {
        final long idr3 = idr3();
        final boolean v32 = Idr.RIL.isSet(idr3) && Idr.FWB.isSet(idr3) && Idr.BBML.get(idr3) != 0;
        return (int) Idr.ARCH_MINOR_REV.with(Idr.ARCH_MAJOR_REV.with(0, 0), v32 ? Idr.ARCH_V3_2 : Idr.ARCH_V3_1);
    }

    public long idr5() {
        long v = 0;
        v = Idr.OAS.with(v, Idr.oasEncoding(oasBits));
        v = Idr.GRAN4K.with(v, gran4k);
        v = Idr.GRAN16K.with(v, gran16k);
        v = Idr.GRAN64K.with(v, gran64k);
        v = Idr.STALL_MAX.with(v, stalls() ? STALL_MAX : 0);
        return v;
    }

    /** Whether a translation granule (shift 12, 14 or 16) is advertised. */
    public boolean granule(final int shift) {
        return switch (shift) {
            case 12 -> gran4k;
            case 14 -> gran16k;
            case 16 -> gran64k;
            default -> false;
        };
    }
}
