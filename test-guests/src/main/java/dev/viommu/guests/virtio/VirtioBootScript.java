package dev.viommu.guests.virtio;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.guest.virtio.VirtioPciGuest;
import dev.viommu.core.translate.AccessType;
import dev.viommu.guests.Narrator;

import java.util.List;
import java.util.Map;

import static dev.viommu.core.guest.virtio.ViommuRequests.*;
import static dev.viommu.guests.virtio.ViommuDriver.*;

/** Boot like Linux over one transport: probe, negotiate, queues, PROBE the endpoint, ATTACH, a first MAP. */
public final class VirtioBootScript extends VirtioScript {
    public VirtioBootScript(final String name, final Bus bus) {
        super(name, "a Linux-like virtio-iommu guest boots over " + (bus == Bus.MMIO ? "virtio-mmio" : "virtio-pci")
                + ", probes its endpoint and maps a page", bus, Map.of());
    }

    @Override
    public void run(final GuestMachine m, final Narrator n) {
        plugEndpoint(m, n);
        final ViommuDriver d = boot(m, n);
        n.check(d.hasFeature(F_VERSION_1) && d.hasFeature(F_MAP_UNMAP) && d.hasFeature(F_PROBE) && d.hasFeature(F_BYPASS_CONFIG)
                && d.hasFeature(F_INPUT_RANGE) && d.hasFeature(F_DOMAIN_RANGE) && d.hasFeature(F_MMIO), "every feature Linux asks for is negotiated");
        n.check(!d.hasFeature(F_BYPASS), "the superseded BYPASS feature is not offered");
        n.checkEquals(-4096L, d.pgsizeBitmap, "page_size_mask: every power of two from 4 KiB");
        n.checkEquals(-1L, d.inputEnd, "input_range ends at 2^64 - 1");
        n.checkEquals(1, d.firstDomain, "domain 0 is reserved for the identity domain");
        n.checkEquals(0, d.eventQueue().numFree(), "the event queue is full of buffers");
        n.checkEquals(DRIVER_OK, d.transport().getStatus() & DRIVER_OK, "DRIVER_OK is set");

        if (d.transport() instanceof VirtioPciGuest p) {
            n.step("configuration space: IDs, class, capabilities");
            n.checkEquals(0x00FF00L, p.cfgRead(VirtioPciGuest.PCI_REVISION_ID, 4) >>> 8, "class code 0x00ff00 as QEMU's virtio-iommu-pci");
            n.checkEquals(1L, p.cfgRead(VirtioPciGuest.PCI_REVISION_ID, 1), "revision 1 (non-transitional)");
            n.checkEquals(4, p.common().bar(), "common configuration in BAR 4");
            n.checkEquals(4, p.notifyOffMultiplier(), "notify_off_multiplier 4");
            n.check(p.pciCfgCapability() > 0, "the VIRTIO_PCI_CAP_PCI_CFG capability is in the list");
            n.step("read device_feature_select/device_feature through the PCI_CFG window (§4.1.4.9)");
            final long viaBar = p.getFeatures() >>> 32;
            p.windowWrite(p.common().bar(), p.common().offset(), 4, 1);                 // device_feature_select = 1
            n.checkEquals(viaBar, p.windowRead(p.common().bar(), p.common().offset() + 4, 4), "the window reads the feature word the BAR shows");
            n.checkEquals(1L, p.windowRead(p.common().bar(), p.common().offset(), 4), "device_feature_select reads back 1 through the window");
            n.check(p.msixEnabled() == (bus == Bus.PCI_MSIX), "MSI-X Enable as the driver set it");
        }

        final ViommuDriver.Endpoint ep = new ViommuDriver.Endpoint(EP);
        n.checkEquals(0, d.probeDevice(ep), "PROBE succeeds");
        n.checkEquals(List.of(new ResvMem(RESV_MEM_T_MSI, 0xFEE0_0000L, 0xFEEF_FFFFL)), ep.resvRegions, "RESV_MEM: the x86 MSI window");
        final ViommuDriver.Domain dom = d.domainAllocPaging();
        n.checkEquals(0, d.attachDev(dom, ep), "ATTACH");
        n.checkEquals(0, d.mapPages(dom, 0x1000, BUF_GPA, 4096, 1, IOMMU_READ | IOMMU_WRITE), "map_pages");
        n.checkEquals(0, d.iotlbSyncMap(dom), "iotlb_sync_map");
        final GuestMachine.Translated tr = m.translate(EP, GuestMachine.NO_PASID, 0x1234, AccessType.READ);
        n.check(tr.ok() && tr.outputAddress() == BUF_GPA + 0x234, "the endpoint's DMA to 0x1234 reaches GPA 0x" + Long.toHexString(BUF_GPA + 0x234));
    }
}
