package dev.viommu.guests.vtd;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.guests.Narrator;

import java.util.Map;

/** Boots the unit in legacy mode as Linux does, with interrupt remapping, and checks every handshake. */
public final class VtdLegacyBootScript extends VtdScript {
    @Override public String name() { return "vtd-legacy-boot"; }

    @Override public String description() {
        return "Linux's init_dmars in legacy mode: QI, interrupt remapping, root table, global flushes, fault MSI, TE";
    }

    @Override public Map<String, Object> properties() { return Map.of("caching-mode", true); }

    @Override
    public void run(final GuestMachine m, final Narrator n) {
        final LinuxIntelIommuDriver d = linux(m, n);
        d.initDmars(false, true);
        n.checkEquals(0x10, m.read32(LinuxIntelIommuDriver.VER), "VER reads 1.0");
        n.check(!d.scalable, "the driver stays in legacy mode (no ECAP.SMTS)");
        n.checkEquals(LinuxIntelIommuDriver.TE | LinuxIntelIommuDriver.SRTP | LinuxIntelIommuDriver.QIE
                        | LinuxIntelIommuDriver.IRE | LinuxIntelIommuDriver.SIRTP, m.read32(LinuxIntelIommuDriver.GSTS),
                "GSTS: TES, RTPS, QIES, IRES, IRTPS");
        n.checkEquals(0L, m.read64(LinuxIntelIommuDriver.RTADDR) & 0xC00, "RTADDR.TTM = 00 (legacy)");
        n.checkEquals(0L, m.read64(LinuxIntelIommuDriver.IQA) & 0x800, "IQA.DW = 0 (128-bit descriptors)");
        n.checkEquals(m.read64(LinuxIntelIommuDriver.IQT), m.read64(LinuxIntelIommuDriver.IQH), "every descriptor consumed (IQH = IQT)");
        n.checkEquals(0, m.read32(LinuxIntelIommuDriver.FSTS), "no fault and no queue error");
        n.check(m.takeInterrupts(0).isEmpty(), "no interrupt during boot");
        n.check(d.cachingMode(), "CAP.CM is on, so Linux flushes on map");
        final String state = m.describe();
        n.check(state.contains("legacy") && state.contains("faultRecords"), "query-viommu describes the unit (legacy mode, fault records)");
        d.iommuDisableTranslation();
        n.checkEquals(0, m.read32(LinuxIntelIommuDriver.GSTS) & LinuxIntelIommuDriver.TE, "TES clears at poweroff");
    }
}
