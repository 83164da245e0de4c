package dev.viommu.guests.vtd;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.translate.AccessType;
import dev.viommu.guests.Narrator;

import java.util.Arrays;
import java.util.Map;

/** A legacy-mode domain: the guest maps pages in its own second-stage table, an emulated NIC DMAs through them. */
public final class VtdLegacyMapDmaScript extends VtdScript {
    static final long IOVA = 0x4000_0000L;

    @Override public String name() { return "vtd-legacy-map-dma"; }

    @Override public String description() {
        return "legacy mode: map three pages in the guest's second-stage table, DMA from an emulated endpoint lands in guest RAM";
    }

    @Override public Map<String, Object> properties() { return Map.of("caching-mode", true); }

    @Override
    public void run(final GuestMachine m, final Narrator n) throws Exception {
        final LinuxIntelIommuDriver d = linux(m, n);
        d.initDmars(false, false);
        final LinuxIntelIommuDriver.Domain dom = d.allocDomain(false);
        d.attachLegacy(SID, dom);
        // scattered buffers: IOVA pages 0, 1, 2 → GPA pages 7, 3, 5 above BUFFERS
        final long[] gpa = {BUFFERS + 7 * 4096, BUFFERS + 3 * 4096, BUFFERS + 5 * 4096};
        for (int i = 0; i < 3; i++) dom.map(IOVA + 4096L * i, gpa[i], 4096, true);
        m.attachEmulated("nic0", SID);
        n.step("the emulated NIC 00:02.0 is attached behind the unit (viommu-attach-device)");
        final byte[] data = pattern(3 * 4096 - 100, 7);
        n.checkEquals(0, m.dmaWrite(SID, GuestMachine.NO_PASID, IOVA + 50, data), "the NIC's 12 KiB DMA write is translated page by page");
        for (int i = 0; i < 3; i++) {
            final int from = i == 0 ? 0 : 4096 * i - 50;
            final int to = Math.min(data.length, 4096 * (i + 1) - 50);
            final long at = gpa[i] + (i == 0 ? 50 : 0);
            n.check(Arrays.equals(Arrays.copyOfRange(data, from, to), ram(m, at, to - from)),
                    "guest RAM at " + hex(at) + " holds the bytes of IOVA page " + i);
        }
        final byte[] back = new byte[data.length];
        n.checkEquals(0, m.dmaRead(SID, GuestMachine.NO_PASID, IOVA + 50, back), "the NIC's DMA read succeeds");
        n.check(Arrays.equals(data, back), "and reads back what it wrote");
        final GuestMachine.Translated t = m.translate(SID, GuestMachine.NO_PASID, IOVA + 4096 + 0x123, AccessType.WRITE);
        n.check(t.ok() && t.outputAddress() == gpa[1] + 0x123 && t.pageSize() == 4096
                && t.permissions() == (AccessType.READ | AccessType.WRITE), "a translation names the 4 KiB page and its permissions");
        n.checkEquals(0, m.read32(LinuxIntelIommuDriver.FSTS), "no fault recorded");
    }
}
