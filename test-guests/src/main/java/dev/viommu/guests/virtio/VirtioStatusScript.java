package dev.viommu.guests.virtio;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.guest.virtio.GuestAllocator;
import dev.viommu.core.translate.AccessType;
import dev.viommu.guests.Narrator;

import java.util.Map;

import static dev.viommu.core.guest.virtio.ViommuRequests.*;
import static dev.viommu.guests.virtio.ViommuDriver.*;

/**
 * Every status a guest can provoke (virtio 1.2 §5.13.6.3), each from the request that causes it. S_DEVERR is
 * the device's own failure (a host binding that fails with an unexpected errno): a guest cannot provoke it with
 * an emulated endpoint, so it is covered by the device tests (VirtioIommuDeviceTest).
 */
public final class VirtioStatusScript extends VirtioScript {
    public VirtioStatusScript(final String name, final Bus bus) {
        super(name, "every S_* status a guest can provoke: OK, IOERR, UNSUPP, INVAL, RANGE, NOENT, FAULT, NOMEM", bus,
                Map.of("max-mappings", 3, "domain-range-end", 1000));
    }

    private static void expect(final Narrator n, final ViommuDriver d, final int status, final byte[] req, final String why) {
        d.sendReqSync(req);
        n.checkEquals(statusName(status), statusName(dev.viommu.core.guest.virtio.ViommuRequests.status(req)), why);
    }

    @Override
    public void run(final GuestMachine m, final Narrator n) throws Exception {
        plugEndpoint(m, n);
        ViommuDriver d = boot(m, n);
        expect(n, d, S_OK, attachReq(5, EP, 0), "ATTACH to a new domain: S_OK");
        expect(n, d, S_OK, mapReq(5, 0x0, 0x9FFF, 0x10_0000, MAP_F_READ), "MAP [0, 0x9fff]: S_OK");

        expect(n, d, S_RANGE, unmapReq(5, 0x0, 0x4FFF), "UNMAP that would split a mapping: S_RANGE");
        n.check(m.translate(EP, GuestMachine.NO_PASID, 0x9000, AccessType.READ).ok(), "... and nothing was unmapped");
        expect(n, d, S_RANGE, mapReq(5, 0x1_0800, 0x1_17FF, 0, MAP_F_READ), "MAP not aligned to the granule: S_RANGE");
        expect(n, d, S_RANGE, attachReq(1001, EP, 0), "ATTACH to a domain outside domain_range: S_RANGE");

        expect(n, d, S_INVAL, mapReq(5, 0x9000, 0xAFFF, 0, MAP_F_READ), "overlapping MAP: S_INVAL");
        expect(n, d, S_INVAL, mapReq(5, 0x2_0000, 0x2_0FFF, 0, 0x10), "MAP with an unknown flag: S_INVAL");
        final byte[] bad = attachReq(6, EP, 0);
        bad[16] = 1;
        expect(n, d, S_INVAL, bad, "ATTACH with a non-zero reserved field: S_INVAL");
        expect(n, d, S_INVAL, mapReq(5, 0xFEE0_0000L, 0xFEE0_0FFFL, 0, MAP_F_WRITE), "MAP over the RESV_MEM MSI window: S_INVAL");
        expect(n, d, S_INVAL, detachReq(7, EP), "DETACH from a domain the endpoint is not in: S_INVAL");

        expect(n, d, S_NOENT, attachReq(5, 0x999, 0), "ATTACH of an unknown endpoint: S_NOENT");
        expect(n, d, S_NOENT, mapReq(77, 0, 0xFFF, 0, MAP_F_READ), "MAP into an unknown domain: S_NOENT");
        n.checkEquals(-ENOENT, d.probeEndpoint(new ViommuDriver.Endpoint(0x55)), "PROBE of an unknown endpoint: S_NOENT");

        expect(n, d, S_OK, mapReq(5, 0x10_0000, 0x10_0FFF, 0, MAP_F_READ), "second mapping");
        expect(n, d, S_OK, mapReq(5, 0x20_0000, 0x20_0FFF, 0, MAP_F_READ), "third mapping (max-mappings = 3)");
        expect(n, d, S_NOMEM, mapReq(5, 0x30_0000, 0x30_0FFF, 0, MAP_F_READ), "MAP beyond max-mappings: S_NOMEM");

        n.step("hand-built chains: a MAP whose readable part is 8 bytes; a request outside guest RAM");
        final long buf = 0xF0_0000L;
        m.memory().fill(buf, 64, (byte) 0);
        m.memory().write8(buf, T_MAP);
        n.checkEquals(4, d.sendRaw(new long[][] {{buf, 8}}, new long[][] {{buf + 32, 4}}), "the tail is written (used length 4)");
        n.checkEquals(statusName(S_IOERR), statusName(m.memory().read8(buf + 32)), "a request shorter than its type: S_IOERR");
        n.checkEquals(4, d.sendRaw(new long[][] {{0x7000_0000_0000L, 24}}, new long[][] {{buf + 40, 4}}), "the tail is written");
        n.checkEquals(statusName(S_FAULT), statusName(m.memory().read8(buf + 40)), "a request buffer outside guest RAM: S_FAULT");
        n.checkEquals(0, d.sendRaw(new long[][] {{buf, 8}}, new long[0][]), "no device-writable tail: returned unwritten");
        m.memory().write8(buf, 0x42);
        n.checkEquals(0, d.sendRaw(new long[][] {{buf, 24}}, new long[][] {{buf + 48, 4}}), "unknown request type: returned unwritten");
        expect(n, d, S_OK, detachReq(5, EP), "DETACH: S_OK");

        n.step("reset and re-probe without MAP_UNMAP (viommu_probe would refuse; the script goes on to provoke S_UNSUPP)");
        d = new ViommuDriver(m, d.transport(), new GuestAllocator(0x180_0000, 0x1F0_0000)).trace(n::step);
        n.checkEquals(0, d.probe(LINUX_FEATURES & ~(1L << F_MAP_UNMAP), false), "probe without MAP_UNMAP");
        expect(n, d, S_OK, attachReq(1, EP, 0), "ATTACH still works");
        expect(n, d, S_UNSUPP, mapReq(1, 0, 0xFFF, 0, MAP_F_READ), "MAP without MAP_UNMAP negotiated: S_UNSUPP");
        expect(n, d, S_UNSUPP, unmapReq(1, 0, 0xFFF), "UNMAP without MAP_UNMAP negotiated: S_UNSUPP");
        n.note("S_DEVERR: the device's own failure (a host binding error); not provokable with an emulated endpoint, tested in VirtioIommuDeviceTest");
    }
}
