package dev.viommu.guests.vtd;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.guests.Narrator;

import java.util.Map;

/** A malformed invalidation descriptor raises IQE; the guest recovers the way qi_check_fault does. */
public final class VtdMalformedDescriptorScript extends VtdScript {
    @Override public String name() { return "vtd-malformed-descriptor-iqe"; }

    @Override public String description() {
        return "a descriptor with a reserved bit, then one of an unknown type: each raises IQE (IQEI 4, 3), the guest recovers, the queue resumes";
    }

    @Override public Map<String, Object> properties() { return Map.of(); }

    @Override
    public void run(final GuestMachine m, final Narrator n) {
        final LinuxIntelIommuDriver d = linux(m, n);
        d.initDmars(false, false);
        m.takeInterrupts(0);
        n.step("qi_submit_sync: a context-cache invalidation with reserved bit 7 set");
        n.checkEquals(4, d.qiSubmitSync(0x1 | 1 << 4 | 1L << 7, 0), "IQE with IQEI 4 (reserved field)");
        checkFaultEvent(m, n);
        n.checkEquals(0, m.read32(LinuxIntelIommuDriver.FSTS) & LinuxIntelIommuDriver.FSTS_IQE, "FSTS.IQE is clear again");
        n.checkEquals(m.read64(LinuxIntelIommuDriver.IQT), m.read64(LinuxIntelIommuDriver.IQH), "the queue resumed and drained");

        n.step("qi_submit_sync: a descriptor of type 15 (no such type)");
        n.checkEquals(3, d.qiSubmitSync(0xF, 0), "IQE with IQEI 3 (invalid type)");
        checkFaultEvent(m, n);

        n.step("qi_submit_sync: a well-formed global IOTLB invalidation");
        n.checkEquals(0, d.qiSubmitSync(0x2 | 1 << 4, 0), "completes normally after recovery");
        n.checkEquals(0, m.read32(LinuxIntelIommuDriver.FSTS), "no error left");
        n.check(m.takeInterrupts(0).isEmpty(), "no further fault event");
    }
}
