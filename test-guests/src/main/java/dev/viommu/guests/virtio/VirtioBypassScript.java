package dev.viommu.guests.virtio;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.translate.AccessType;
import dev.viommu.guests.Narrator;

import java.util.Map;

import static dev.viommu.core.guest.virtio.ViommuRequests.*;
import static dev.viommu.guests.virtio.ViommuDriver.*;

/**
 * Bypass three ways: boot-bypass before the driver runs, the identity domain (iommu.passthrough=1: ATTACH with
 * ATTACH_F_BYPASS), and the {@code bypass} config byte for unattached endpoints; then a DOMAIN fault over INTx.
 */
public final class VirtioBypassScript extends VirtioScript {
    public VirtioBypassScript(final String name, final Bus bus) {
        super(name, "unattached endpoints bypass at boot, the identity domain bypasses, the bypass byte turns it off", bus, Map.of());
    }

    private static boolean identity(final GuestMachine m, final long iova) {
        final GuestMachine.Translated t = m.translate(EP, GuestMachine.NO_PASID, iova, AccessType.WRITE);
        return t.ok() && t.outputAddress() == iova;
    }

    @Override
    public void run(final GuestMachine m, final Narrator n) {
        plugEndpoint(m, n);
        n.check(identity(m, 0x3000_0000L), "boot-bypass: before any driver, DMA reaches guest-physical space unchanged");
        final ViommuDriver d = boot(m, n);
        n.checkEquals(1, d.bypass(), "the bypass config byte reads 1");
        final ViommuDriver.Endpoint ep = new ViommuDriver.Endpoint(EP);
        n.checkEquals(0, d.probeDevice(ep), "PROBE");
        n.checkEquals(0, d.attachIdentity(ep), "the identity domain: ATTACH_F_BYPASS");
        n.check(identity(m, 0x1234_5000L), "an endpoint in the identity domain bypasses");
        n.checkEquals(-EINVAL, d.sendReqSync(mapReq(d.identityDomainId, 0, 0xFFF, 0, MAP_F_READ)), "MAP into a bypass domain: S_INVAL");
        final ViommuDriver.Domain dom = d.domainAllocPaging();
        n.checkEquals(0, d.attachDev(dom, ep), "moving to a paging domain");
        n.check(!m.translate(EP, GuestMachine.NO_PASID, 0x1234_5000L, AccessType.READ).ok(), "the paging domain translates (nothing mapped: fault)");
        n.checkEquals(0, d.detachDev(ep), "DETACH");
        n.check(identity(m, 0x5000), "a detached endpoint bypasses while bypass = 1");
        d.setBypass(false);
        n.checkEquals(0, d.bypass(), "the bypass byte reads 0");
        d.handleInterrupts(0);
        d.faults.clear();
        n.check(!m.translate(EP, GuestMachine.NO_PASID, 0x5000, AccessType.READ).ok(), "with bypass = 0 the detached endpoint's DMA faults");
        final long t0 = System.nanoTime();
        while (d.faults.isEmpty() && System.nanoTime() - t0 < 5_000_000_000L) d.handleInterrupts(200);
        n.checkEquals(new Fault(FAULT_R_DOMAIN, FAULT_F_ADDRESS | FAULT_F_READ, EP, 0x5000), d.faults.isEmpty() ? null : d.faults.get(0),
                "the DOMAIN fault arrives as an event (" + d.transport().name() + ")");
    }
}
