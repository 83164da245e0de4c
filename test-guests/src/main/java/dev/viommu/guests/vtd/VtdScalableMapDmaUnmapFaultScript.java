package dev.viommu.guests.vtd;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.guests.Narrator;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The demo's default: a Linux guest boots the unit in scalable mode, attaches an emulated device with a
 * second-stage domain (RID_PASID), maps four pages, the device DMAs, the guest unmaps two with one page-selective
 * invalidation, the device's next DMA faults, and the guest takes the fault-event MSI and reads the record.
 */
public final class VtdScalableMapDmaUnmapFaultScript extends VtdScript {
    static final long IOVA = 0xFFF0_0000L;

    @Override public String name() { return "vtd-scalable-map-dma-unmap-fault"; }

    @Override public String description() {
        return "scalable mode: map 4 pages in the guest's second-stage table, DMA, unmap 2 with one PSI, DMA faults, dmar_fault reads it";
    }

    @Override public Map<String, Object> properties() { return Map.of("x-scalable-mode", true, "caching-mode", true); }

    @Override
    public void run(final GuestMachine m, final Narrator n) throws Exception {
        final LinuxIntelIommuDriver d = linux(m, n);
        d.initDmars(true, true);
        n.check(d.scalable, "the unit runs in scalable mode");
        final LinuxIntelIommuDriver.Domain dom = d.allocDomain(false);
        final LinuxIntelIommuDriver.PasidTable pt = d.attachScalable(SID, false, false, false);
        pt.setupSecondLevel(LinuxIntelIommuDriver.NO_PASID, dom);
        dom.map(IOVA, BUFFERS, 4 * 4096, true);
        m.attachEmulated("nic0", SID);
        n.step("the emulated NIC 00:02.0 is attached behind the unit (viommu-attach-device)");

        final byte[] data = pattern(4 * 4096, 42);
        n.checkEquals(0, m.dmaWrite(SID, GuestMachine.NO_PASID, IOVA, data), "the NIC writes 16 KiB by DMA through the IOMMU");
        n.check(Arrays.equals(data, ram(m, BUFFERS, data.length)), "guest RAM holds exactly what the NIC wrote");
        final byte[] back = new byte[data.length];
        n.checkEquals(0, m.dmaRead(SID, GuestMachine.NO_PASID, IOVA, back), "the NIC reads it back by DMA");
        n.checkEquals(0, m.read32(LinuxIntelIommuDriver.FSTS), "no fault so far");
        n.check(Arrays.equals(data, back), "the DMA read returns the same bytes");

        m.takeInvalidations();
        dom.unmap(IOVA + 2 * 4096, 2 * 4096, LinuxIntelIommuDriver.NO_PASID);
        n.checkEquals(0, m.read32(LinuxIntelIommuDriver.FSTS), "the invalidation completed without error");
        final List<GuestMachine.Invalidation> inv = m.takeInvalidations();
        n.check(inv.stream().anyMatch(i -> i.size() == 0 || (i.iova() <= IOVA + 8192 && i.iova() + i.size() >= IOVA + 4 * 4096)),
                "the hypervisor is told to drop the unmapped range: " + inv);

        n.checkEquals(0x79, m.dmaWrite(SID, GuestMachine.NO_PASID, IOVA + 3 * 4096, pattern(32, 9)),
                "the NIC's DMA write to an unmapped page faults (second-stage permission, reason 0x79)");
        checkFaultEvent(m, n);
        final List<LinuxIntelIommuDriver.Fault> f = d.dmarFault();
        n.checkEquals(List.of(new LinuxIntelIommuDriver.Fault(0x79, SID, IOVA + 3 * 4096, false, false, 0)), f,
                "dmar_fault reads one record: reason 0x79, 00:02.0, the faulting page, a write");
        n.checkEquals(0, m.read32(LinuxIntelIommuDriver.FSTS) & 3, "no fault pending after dmar_fault cleared it");
        n.checkEquals(0, m.dmaRead(SID, GuestMachine.NO_PASID, IOVA + 4096, new byte[128]), "the pages still mapped still work");
    }
}
