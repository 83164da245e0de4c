package dev.viommu.guests.smmuv3;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.translate.AccessType;
import dev.viommu.guests.Narrator;

import java.util.List;
import java.util.Map;

import static dev.viommu.core.guest.GuestMachine.NO_PASID;

/**
 * Unmap and TLBI by VA (no RIL: one TLBI_NH_VA per page, as arm_smmu_cmdq_batch_add_range does without
 * ARM_SMMU_FEAT_RANGE_INV): translation consumers are told, and the device's next DMA faults and is recorded.
 */
public final class SmmuV3TlbiVaFaultScript extends SmmuV3Script {
    static final int SID = 0x50, ASID = 33;

    @Override public String name() { return "smmuv3-tlbi-va-fault"; }

    @Override public String description() {
        return "map, DMA, unmap with TLBI_NH_VA + CMD_SYNC, then the next DMA records F_TRANSLATION";
    }

    @Override public Map<String, Object> properties() { return Map.of("ril", false); }

    @Override
    public void run(final GuestMachine m, final Narrator n) throws Exception {
        final LinuxArmSmmuV3Driver d = linux(m, n);
        d.probe();
        n.check(!d.ril, "no IDR3.RIL: page-by-page TLBIs");
        m.attachEmulated("nic0", SID);
        final LinuxArmSmmuV3Driver.IoPgtable pt = attachS1(d, n, SID, ASID);
        pt.map(IOVA, BUFFERS, true, false);
        n.checkEquals(0, m.dmaWrite(SID, NO_PASID, IOVA, pattern(64, 2)), "DMA through the mapping");
        pt.unmap(IOVA);
        n.step("arm_lpae_unmap_pages: IOVA " + hex(IOVA) + " unmapped");
        m.takeInvalidations();
        n.check(d.armSmmuTlbInvRangeAsid(ASID, IOVA, 4096, 4096), "TLBI_NH_VA + CMD_SYNC complete");
        final List<GuestMachine.Invalidation> inv = m.takeInvalidations();
        n.check(inv.stream().anyMatch(i -> i.size() == 0 || (Long.compareUnsigned(i.iova(), IOVA) <= 0
                && Long.compareUnsigned(IOVA, i.iova() + i.size()) < 0)), "translation consumers were told the page is gone: " + inv);
        final GuestMachine.Translated t = m.translate(SID, NO_PASID, IOVA + 8, AccessType.READ);
        n.checkEquals(LinuxArmSmmuV3Driver.EVT_TRANSLATION, t.faultCode(), "the next DMA faults: F_TRANSLATION");
        final LinuxArmSmmuV3Driver.Event e = events(m, n, d, 1).get(0);
        n.checkEquals(LinuxArmSmmuV3Driver.EVT_TRANSLATION, e.id(), "recorded as F_TRANSLATION (CD.R)");
        n.checkEquals(SID, e.sid(), "for SID 0x50");
        n.checkEquals(IOVA + 8, e.iova(), "at the faulting IOVA");
        n.check(e.read() && !e.s2(), "a stage-1 read");
    }
}
