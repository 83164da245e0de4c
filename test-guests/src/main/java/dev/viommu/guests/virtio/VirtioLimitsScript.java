package dev.viommu.guests.virtio;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.guests.Narrator;

import java.util.Map;

import static dev.viommu.core.guest.virtio.ViommuRequests.*;
import static dev.viommu.guests.virtio.ViommuDriver.*;

/** The configurable limits: domains, mappings per domain and in total; S_NOMEM at each, and the device stays healthy. */
public final class VirtioLimitsScript extends VirtioScript {
    public VirtioLimitsScript(final String name, final Bus bus) {
        super(name, "hitting max-domains, max-mappings and max-total-mappings gives S_NOMEM, and room freed is usable again",
                bus, Map.of("max-domains", 2, "max-mappings", 64, "max-total-mappings", 100));
    }

    @Override
    public void run(final GuestMachine m, final Narrator n) {
        plugEndpoint(m, n);
        m.attachEmulated("nic1", EP + 1);
        m.attachEmulated("nic2", EP + 2);
        final ViommuDriver d = boot(m, n);
        final ViommuDriver.Endpoint a = new ViommuDriver.Endpoint(EP), b = new ViommuDriver.Endpoint(EP + 1),
                c = new ViommuDriver.Endpoint(EP + 2);
        final ViommuDriver.Domain da = d.domainAllocPaging(), db = d.domainAllocPaging(), dc = d.domainAllocPaging();
        n.checkEquals(0, d.attachDev(da, a), "first domain");
        n.checkEquals(0, d.attachDev(db, b), "second domain");
        n.checkEquals(-ENOMEM, d.attachDev(dc, c), "a third domain over max-domains = 2: S_NOMEM");
        n.step("64 MAPs into domain " + da.id + " (synchronous, so each status is seen)");
        int ok = 0;
        for (int i = 0; i < 64; i++) if (d.sendReqSync(mapReq(da.id, i * 4096L, i * 4096L + 4095, 0, MAP_F_READ)) == 0) ok++;
        n.checkEquals(64, ok, "64 mappings accepted");
        n.checkEquals(-ENOMEM, d.sendReqSync(mapReq(da.id, 64 * 4096L, 64 * 4096L + 4095, 0, MAP_F_READ)), "the 65th: max-mappings, S_NOMEM");
        ok = 0;
        for (int i = 0; i < 36; i++) if (d.sendReqSync(mapReq(db.id, i * 4096L, i * 4096L + 4095, 0, MAP_F_READ)) == 0) ok++;
        n.checkEquals(36, ok, "36 more in the second domain (100 in total)");
        n.checkEquals(-ENOMEM, d.sendReqSync(mapReq(db.id, 36 * 4096L, 36 * 4096L + 4095, 0, MAP_F_READ)), "the 101st: max-total-mappings, S_NOMEM");
        n.checkEquals(0, d.sendReqSync(unmapReq(da.id, 0, 64 * 4096L - 1)), "one UNMAP frees 64");
        n.checkEquals(0, d.sendReqSync(mapReq(db.id, 36 * 4096L, 36 * 4096L + 4095, 0, MAP_F_READ)), "room freed is usable again");
        n.checkEquals(0, d.detachDev(a), "DETACH the first domain's only endpoint: the domain goes");
        n.checkEquals(0, d.attachDev(dc, c), "the third domain fits now");
    }
}
