package dev.viommu.guests.vtd;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.guests.Narrator;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** PASID-tagged DMA through a first-stage (x86-64 format) table, as a PASID-capable accelerator does. */
public final class VtdPasidFirstStageScript extends VtdScript {
    static final int PASID = 5;
    static final long VA = 0x7F12_3456_0000L;

    @Override public String name() { return "vtd-pasid-first-stage"; }

    @Override public String description() {
        return "scalable mode: PASID 5 bound to a first-stage table; tagged DMA translates, other PASIDs fault, a PASID-IOTLB flush unmaps";
    }

    @Override public Map<String, Object> properties() {
        return Map.of("x-scalable-mode", true, "x-flts", true, "x-pasid-mode", true);
    }

    @Override
    public void run(final GuestMachine m, final Narrator n) throws Exception {
        final LinuxIntelIommuDriver d = linux(m, n);
        d.initDmars(true, false);
        final LinuxIntelIommuDriver.PasidTable pt = d.attachScalable(SID, true, false, false);
        final LinuxIntelIommuDriver.Domain dom = d.allocDomain(true);
        pt.setupFirstLevel(PASID, dom);
        dom.map(VA, BUFFERS, 2 * 4096, true);
        n.check(m.read64(LinuxIntelIommuDriver.IQT) == m.read64(LinuxIntelIommuDriver.IQH), "a first-stage map needs no invalidation");
        m.attachEmulated("acc0", SID);
        n.step("the emulated accelerator 00:02.0 is attached; it tags its DMA with PASID " + PASID);

        final byte[] data = pattern(6000, 3);
        n.checkEquals(0, m.dmaWrite(SID, PASID, VA + 100, data), "DMA tagged with PASID 5 translates through the first stage");
        n.check(Arrays.equals(data, ram(m, BUFFERS + 100, data.length)), "and lands in guest RAM");
        final GuestMachine.Translated t = m.translate(SID, PASID, VA + 4096, dev.viommu.core.translate.AccessType.READ);
        n.check(t.ok() && t.outputAddress() == BUFFERS + 4096, "VA " + hex(VA + 4096) + " → GPA " + hex(BUFFERS + 4096));

        n.checkEquals(0x59, m.dmaRead(SID, PASID + 1, VA, new byte[8]), "PASID 6 has no PASID entry: fault 0x59");
        checkFaultEvent(m, n);
        n.checkEquals(0x59, m.dmaRead(SID, GuestMachine.NO_PASID, VA, new byte[8]),
                "untagged DMA uses RID_PASID 0, which has no entry either: fault 0x59");
        final List<LinuxIntelIommuDriver.Fault> f = d.dmarFault();
        n.checkEquals(List.of(new LinuxIntelIommuDriver.Fault(0x59, SID, VA, true, true, PASID + 1),
                        new LinuxIntelIommuDriver.Fault(0x59, SID, VA, true, false, 0)), f,
                "dmar_fault reads both records; the first carries PASID 6");

        dom.unmap(VA + 4096, 4096, PASID);
        n.checkEquals(0x71, m.dmaRead(SID, PASID, VA + 4096, new byte[8]), "after the unmap, the page is not present (0x71)");
        checkFaultEvent(m, n);
        n.checkEquals(0x71, d.dmarFault().get(0).reason(), "dmar_fault reads the first-stage not-present fault");
        n.checkEquals(0, m.dmaRead(SID, PASID, VA, new byte[8]), "the other page still translates");
    }
}
