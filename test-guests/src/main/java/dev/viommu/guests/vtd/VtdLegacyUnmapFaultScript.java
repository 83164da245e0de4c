package dev.viommu.guests.vtd;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.guests.Narrator;

import java.util.List;
import java.util.Map;

/** Legacy mode: unmap with a page-selective invalidation, then the device's DMA faults and Linux reads the record. */
public final class VtdLegacyUnmapFaultScript extends VtdScript {
    static final long IOVA = 0x1234_0000L;

    @Override public String name() { return "vtd-legacy-unmap-psi-fault"; }

    @Override public String description() {
        return "legacy mode: unmap a page with a page-selective IOTLB invalidation (IH=1); the next DMA faults (0x05) and dmar_fault reads it";
    }

    @Override public Map<String, Object> properties() { return Map.of("caching-mode", true, "nfr", 4); }

    @Override
    public void run(final GuestMachine m, final Narrator n) throws Exception {
        final LinuxIntelIommuDriver d = linux(m, n);
        d.initDmars(false, false);
        final LinuxIntelIommuDriver.Domain dom = d.allocDomain(false);
        d.attachLegacy(SID, dom);
        dom.map(IOVA, BUFFERS, 8192, true);
        m.attachEmulated("nic0", SID);
        n.checkEquals(0, m.dmaWrite(SID, GuestMachine.NO_PASID, IOVA + 4096, pattern(64, 1)), "DMA to the second page works while mapped");
        m.takeInvalidations();
        dom.unmap(IOVA + 4096, 4096, 0);
        final List<GuestMachine.Invalidation> inv = m.takeInvalidations();
        n.check(inv.stream().anyMatch(i -> i.iova() <= IOVA + 4096 && (i.size() == 0 || i.iova() + i.size() >= IOVA + 8192)),
                "the hypervisor is told to drop its cached translation of the page: " + inv);
        n.checkEquals(0x05, m.dmaWrite(SID, GuestMachine.NO_PASID, IOVA + 4096 + 8, pattern(16, 2)),
                "the NIC's next DMA write to the unmapped page faults (reason 0x05, write)");
        checkFaultEvent(m, n);
        n.checkEquals(LinuxIntelIommuDriver.FSTS_PPF, m.read32(LinuxIntelIommuDriver.FSTS) & 3, "FSTS.PPF is set, FRI names the record");
        final List<LinuxIntelIommuDriver.Fault> f = d.dmarFault();
        n.checkEquals(List.of(new LinuxIntelIommuDriver.Fault(0x05, SID, IOVA + 4096, false, false, 0)), f,
                "the fault record: reason 0x05, 00:02.0, the page address, a write, no PASID");
        n.checkEquals(0, m.read32(LinuxIntelIommuDriver.FSTS) & 3, "clearing F and FSTS leaves no pending fault");
        n.checkEquals(0, m.dmaRead(SID, GuestMachine.NO_PASID, IOVA, new byte[64]), "the first page is still mapped");
    }
}
