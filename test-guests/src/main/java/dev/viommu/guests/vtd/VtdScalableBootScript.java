package dev.viommu.guests.vtd;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.guests.Narrator;

import java.util.Map;

/** Boots the unit in scalable mode with PASID and page requests, as Linux does for SVA-capable hardware. */
public final class VtdScalableBootScript extends VtdScript {
    @Override public String name() { return "vtd-scalable-boot"; }

    @Override public String description() {
        return "Linux's init_dmars in scalable mode: 256-bit QI, SMT root table, PASID-cache flush, page request queue, TE";
    }

    @Override public Map<String, Object> properties() {
        return Map.of("x-scalable-mode", true, "x-flts", true, "x-pasid-mode", true, "device-iotlb", true, "svm", true);
    }

    @Override
    public void run(final GuestMachine m, final Narrator n) {
        final LinuxIntelIommuDriver d = linux(m, n);
        d.initDmars(true, true);
        n.checkEquals(0x30, m.read32(LinuxIntelIommuDriver.VER), "VER reads 3.0");
        n.check(d.scalable, "ECAP.SMTS: the driver chose scalable mode");
        n.check(d.ecap(47) && d.ecap(46) && d.ecap(26), "ECAP: first stage, second stage and nesting");
        n.check(d.ecap(40) && d.ecap(29), "ECAP: PASID and page requests");
        n.checkEquals(1L << 10, m.read64(LinuxIntelIommuDriver.RTADDR) & 0xC00, "RTADDR.TTM = 01 (scalable)");
        n.checkEquals(1L << 11, m.read64(LinuxIntelIommuDriver.IQA) & 0x800, "IQA.DW = 1 (256-bit descriptors)");
        n.checkEquals(m.read64(LinuxIntelIommuDriver.IQT), m.read64(LinuxIntelIommuDriver.IQH), "every descriptor consumed (IQH = IQT)");
        n.check(m.read64(LinuxIntelIommuDriver.PQA) != 0, "PQA holds the page request queue");
        n.checkEquals(0, m.read32(LinuxIntelIommuDriver.PECTL), "the page-request event is unmasked");
        n.checkEquals(LinuxIntelIommuDriver.TE | LinuxIntelIommuDriver.SRTP | LinuxIntelIommuDriver.QIE
                        | LinuxIntelIommuDriver.IRE | LinuxIntelIommuDriver.SIRTP, m.read32(LinuxIntelIommuDriver.GSTS),
                "GSTS: TES, RTPS, QIES, IRES, IRTPS");
        n.checkEquals(0, m.read32(LinuxIntelIommuDriver.FSTS), "no fault and no queue error");
        n.check(m.takeInterrupts(0).isEmpty(), "no interrupt during boot");
        n.check(m.describe().contains("scalable"), "query-viommu reports scalable mode");
    }
}
