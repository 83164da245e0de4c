package dev.viommu.guests.smmuv3;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.translate.AccessType;
import dev.viommu.guests.Narrator;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static dev.viommu.core.guest.GuestMachine.NO_PASID;

/**
 * CMD_SYNC completion by polling (no IDR0.MSI, no IDR0.SEV): Linux issues CS = SEV regardless and polls
 * CMDQ_CONS (__arm_smmu_cmdq_poll_until_consumed); the SMMU completes those syncs. Interrupts are wired: a fault
 * pulses the event-queue line.
 */
public final class SmmuV3CmdSyncPollScript extends SmmuV3Script {
    static final int SID = 0x90, ASID = 2;

    @Override public String name() { return "smmuv3-cmd-sync-poll"; }

    @Override public String description() {
        return "without MSI or SEV, Linux's CS=SEV CMD_SYNCs complete by CONS polling; events raise the wired line";
    }

    @Override public Map<String, Object> properties() { return Map.of("msi", false, "sev", false); }

    @Override
    public void run(final GuestMachine m, final Narrator n) throws Exception {
        final LinuxArmSmmuV3Driver d = linux(m, n);
        d.probe();
        n.check(!d.msipoll && !d.msi && !d.sev, "no MSI, no SEV: CMD_SYNC with CS = SEV, completion by CONS polling");
        m.attachEmulated("nic0", SID);
        final LinuxArmSmmuV3Driver.IoPgtable pt = attachS1(d, n, SID, ASID);
        pt.map(IOVA, BUFFERS + 0x2000, true, false);
        final byte[] data = pattern(100, 8);
        n.checkEquals(0, m.dmaWrite(SID, NO_PASID, IOVA, data), "DMA translates");
        n.check(Arrays.equals(data, ram(m, BUFFERS + 0x2000, data.length)), "and lands in the buffer");
        n.check(d.armSmmuTlbInvAsid(ASID), "TLBI_NH_ASID + CMD_SYNC (CS = SEV) completes");
        m.takeInterrupts(0);
        n.check(!m.translate(SID, NO_PASID, IOVA + 0x10_0000, AccessType.READ).ok(), "an unmapped IOVA faults");
        final List<GuestMachine.Interrupt> irqs = m.takeInterrupts(2000);
        n.check(irqs.contains(new GuestMachine.Interrupt.Line(0, true)), "the event-queue wired interrupt (line 0) pulses: " + irqs);
        n.checkEquals(LinuxArmSmmuV3Driver.EVT_TRANSLATION, d.armSmmuEvtqThread().get(0).id(), "F_TRANSLATION read by the event thread");
    }
}
