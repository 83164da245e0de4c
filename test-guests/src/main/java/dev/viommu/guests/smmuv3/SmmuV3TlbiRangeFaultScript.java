package dev.viommu.guests.smmuv3;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.translate.AccessType;
import dev.viommu.guests.Narrator;

import java.util.Map;

import static dev.viommu.core.guest.GuestMachine.NO_PASID;

/**
 * Range invalidation (IDR3.RIL): 19 pages unmapped and invalidated with Linux's range encoding (two commands:
 * NUM/SCALE from the low bits of the page count); each of the 19 faults afterwards, the 20th page is untouched.
 */
public final class SmmuV3TlbiRangeFaultScript extends SmmuV3Script {
    static final int SID = 0x51, ASID = 34, PAGES = 19;

    @Override public String name() { return "smmuv3-tlbi-range-fault"; }

    @Override public String description() {
        return "unmap 19 pages with range TLBIs (RIL) + CMD_SYNC; every page faults afterwards, the next one still translates";
    }

    @Override public Map<String, Object> properties() { return Map.of("ril", true); }

    @Override
    public void run(final GuestMachine m, final Narrator n) throws Exception {
        final LinuxArmSmmuV3Driver d = linux(m, n);
        d.probe();
        n.check(d.ril, "IDR3.RIL: range invalidation");
        m.attachEmulated("gpu0", SID);
        final LinuxArmSmmuV3Driver.IoPgtable pt = attachS1(d, n, SID, ASID);
        for (int i = 0; i <= PAGES; i++) pt.map(IOVA + 4096L * i, BUFFERS + 4096L * i, true, false);
        n.step("arm_smmu_map_pages: 20 pages at " + hex(IOVA));
        for (int i = 0; i <= PAGES; i++) n.check(m.translate(SID, NO_PASID, IOVA + 4096L * i, AccessType.READ).ok(), "page " + i + " translates");
        for (int i = 0; i < PAGES; i++) pt.unmap(IOVA + 4096L * i);
        n.step("arm_lpae_unmap_pages: the first 19 pages");
        n.check(d.armSmmuTlbInvRangeAsid(ASID, IOVA, PAGES * 4096L, 4096), "range TLBI_NH_VA (19 = 16 + 3 pages: two commands) + CMD_SYNC");
        for (int i = 0; i < PAGES; i++) {
            n.checkEquals(LinuxArmSmmuV3Driver.EVT_TRANSLATION, m.translate(SID, NO_PASID, IOVA + 4096L * i, AccessType.READ).faultCode(),
                    "page " + i + " faults after the range TLBI");
        }
        n.check(m.translate(SID, NO_PASID, IOVA + 4096L * PAGES, AccessType.READ).ok(), "page 19, outside the range, still translates");
        n.checkEquals(PAGES, (int) events(m, n, d, PAGES).stream().filter(e -> e.id() == LinuxArmSmmuV3Driver.EVT_TRANSLATION).count(),
                "19 F_TRANSLATION records");
    }
}
