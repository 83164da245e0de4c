package dev.viommu.guests.virtio;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.guests.Narrator;

import java.util.List;
import java.util.Map;

import static dev.viommu.core.guest.virtio.ViommuRequests.*;
import static dev.viommu.guests.virtio.ViommuDriver.*;

/**
 * dma_map_page → batched MAPs flushed by iotlb_sync_map, the endpoint's DMA (data verified), dma_unmap_page →
 * a batched UNMAP flushed by iotlb_sync (the translation consumers hear of it), then the endpoint's DMA to the
 * unmapped IOVA: a MAPPING fault that arrives on the event queue with an interrupt; after DETACH a DOMAIN fault.
 */
public final class VirtioMapDmaUnmapFaultScript extends VirtioScript {
    private final ViommuDriver.Kick kick;

    public VirtioMapDmaUnmapFaultScript(final String name, final Bus bus, final ViommuDriver.Kick kick) {
        super(name, "map, DMA (data checked), unmap, then the DMA faults and the fault arrives as an event ("
                + bus.name().toLowerCase().replace('_', ' ') + ", kicks by " + kick.name().toLowerCase().replace('_', ' ') + ")",
                bus, Map.of("boot-bypass", false));
        this.kick = kick;
    }

    @Override
    public void run(final GuestMachine m, final Narrator n) throws Exception {
        plugEndpoint(m, n);
        final ViommuDriver d = boot(m, n).kickVia(kick);
        final ViommuDriver.Endpoint ep = new ViommuDriver.Endpoint(EP);
        n.checkEquals(0, d.probeDevice(ep), "PROBE");
        final ViommuDriver.Domain dom = d.domainAllocPaging();
        n.checkEquals(0, d.attachDev(dom, ep), "ATTACH");
        m.takeInvalidations();

        n.checkEquals(0, d.mapPages(dom, 0x10_0000, BUF_GPA, 4096, 1, IOMMU_READ | IOMMU_WRITE), "map_pages (read/write)");
        n.checkEquals(0, d.mapPages(dom, 0x10_1000, BUF_GPA + 0x5000, 4096, 1, IOMMU_READ), "map_pages (read-only)");
        n.checkEquals(2, d.inFlight(), "both MAPs are queued, not yet sent");
        n.checkEquals(0, d.iotlbSyncMap(dom), "iotlb_sync_map flushes them");

        n.step("endpoint DMA: write 4 KiB at IOVA 0x100000, read 16 bytes at 0x101000");
        final byte[] data = new byte[4096];
        for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 7 + 3);
        n.checkEquals(0, m.dmaWrite(EP, GuestMachine.NO_PASID, 0x10_0000, data), "DMA write translated");
        final byte[] back = new byte[4096];
        m.memory().read(BUF_GPA, back, 0, back.length);
        n.check(java.util.Arrays.equals(data, back), "the data landed at GPA 0x" + Long.toHexString(BUF_GPA));
        m.memory().write(BUF_GPA + 0x5000, new byte[] {1, 2, 3, 4}, 0, 4);
        final byte[] rd = new byte[4];
        n.checkEquals(0, m.dmaRead(EP, GuestMachine.NO_PASID, 0x10_1000, rd), "DMA read translated");
        n.check(java.util.Arrays.equals(new byte[] {1, 2, 3, 4}, rd), "the DMA read returns the guest's bytes");
        n.checkEquals(2, m.dmaWrite(EP, GuestMachine.NO_PASID, 0x10_1000, new byte[4]), "a write through the read-only mapping faults (MAPPING)");

        n.checkEquals(8192L, d.unmapPages(dom, 0x10_0000, 4096, 2), "unmap_pages removes both");
        d.iotlbSync(dom);
        final List<GuestMachine.Invalidation> inv = m.takeInvalidations();
        n.check(inv.contains(new GuestMachine.Invalidation(EP, GuestMachine.NO_PASID, 0x10_0000, 8192)),
                "an invalidation notice for [0x100000, +8 KiB] reached the translation consumers: " + inv);

        d.handleInterrupts(0);                 // earlier interrupts (request completions, the read-only fault)
        d.faults.clear();
        n.step("the endpoint keeps DMAing to the unmapped IOVA 0x100040");
        n.checkEquals(2, m.dmaWrite(EP, GuestMachine.NO_PASID, 0x10_0040, new byte[8]), "the DMA faults (MAPPING)");
        final long t0 = System.nanoTime();
        while (d.faults.isEmpty() && System.nanoTime() - t0 < 5_000_000_000L) d.handleInterrupts(200);
        n.checkEquals(List.of(new Fault(FAULT_R_MAPPING, FAULT_F_ADDRESS | FAULT_F_WRITE, EP, 0x10_0040)), d.faults,
                "the fault event: reason MAPPING, WRITE|ADDRESS, endpoint, address");
        n.checkEquals(0, d.eventQueue().numFree(), "the event buffer was re-added");

        n.checkEquals(0, d.detachDev(ep), "DETACH");
        d.faults.clear();
        n.checkEquals(1, m.dmaRead(EP, GuestMachine.NO_PASID, 0x10_0000, new byte[4]), "with bypass off, a detached endpoint's DMA faults (DOMAIN)");
        final long t1 = System.nanoTime();
        while (d.faults.isEmpty() && System.nanoTime() - t1 < 5_000_000_000L) d.handleInterrupts(200);
        n.checkEquals(List.of(new Fault(FAULT_R_DOMAIN, FAULT_F_ADDRESS | FAULT_F_READ, EP, 0x10_0000)), d.faults, "the DOMAIN fault event");
    }
}
