package dev.viommu.guests.smmuv3;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.translate.AccessType;
import dev.viommu.guests.Narrator;

import java.util.Map;

import static dev.viommu.core.guest.GuestMachine.NO_PASID;

/**
 * Event-queue overflow: with a 4-entry event queue, six faults leave four records; the fifth toggles
 * EVTQ_PROD.OVFLG (once: no second toggle until the guest acknowledges). arm_smmu_evtq_thread reports
 * "EVTQ overflow detected -- events lost" and acknowledges through EVTQ_CONS.OVACKFLG; later events are recorded
 * normally with no new overflow.
 */
public final class SmmuV3EventqOverflowScript extends SmmuV3Script {
    static final int SID = 0x70, ASID = 3;

    @Override public String name() { return "smmuv3-evtq-overflow"; }

    @Override public String description() {
        return "a 4-entry event queue overflows: PROD.OVFLG toggles once, the guest sees and acknowledges it via OVACKFLG";
    }

    @Override public Map<String, Object> properties() { return Map.of(); }

    @Override
    public void run(final GuestMachine m, final Narrator n) throws Exception {
        final LinuxArmSmmuV3Driver d = linux(m, n);
        d.armSmmuDeviceHwProbe();
        d.shrinkEvtq(2);
        d.armSmmuInitStructures();
        d.armSmmuDeviceReset();
        m.attachEmulated("nic0", SID);
        attachS1(d, n, SID, ASID);
        m.takeInterrupts(0);
        for (int i = 0; i < 6; i++) n.check(!m.translate(SID, NO_PASID, 0x100_0000L + 4096L * i, AccessType.READ).ok(), "fault " + i);
        final int prod = m.read32(LinuxArmSmmuV3Driver.EVTQ_PROD);
        n.check((prod & LinuxArmSmmuV3Driver.Q_OVF) != 0, "EVTQ_PROD.OVFLG toggled");
        n.checkEquals(4, prod & 7, "PROD advanced by the four records written (index + wrap)");
        final long msis = m.takeInterrupts(2000).stream()
                .filter(i -> i.equals(new GuestMachine.Interrupt.Msi(LinuxArmSmmuV3Driver.ITS_DOORBELL, LinuxArmSmmuV3Driver.MSI_EVTQ))).count();
        n.checkEquals(5L, msis, "one event MSI per record written plus one for the overflow");
        n.checkEquals(4, d.armSmmuEvtqThread().size(), "arm_smmu_evtq_thread reads the four records");
        n.check(d.evtqOverflowSeen, "and reports EVTQ overflow detected -- events lost");
        n.checkEquals(0, (m.read32(LinuxArmSmmuV3Driver.EVTQ_CONS) ^ m.read32(LinuxArmSmmuV3Driver.EVTQ_PROD)) & LinuxArmSmmuV3Driver.Q_OVF,
                "queue_sync_cons_ovf: CONS.OVACKFLG = PROD.OVFLG");
        n.check(!m.translate(SID, NO_PASID, 0x200_0000L, AccessType.READ).ok(), "a later fault");
        n.checkEquals(1, events(m, n, d, 1).size(), "is recorded normally");
        n.check(!d.evtqOverflowSeen, "with no new overflow");
    }
}
