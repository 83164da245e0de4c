package dev.viommu.guests.smmuv3;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.guests.Narrator;

import java.util.Map;

/**
 * CMD_SYNC completion by MSI (IDR0.MSI + COHACC, Linux's MSIPOLL): the CMD_SYNC carries CS = IRQ and MSIAddress =
 * its own queue slot; the SMMU's MSI writes MSIData 0 over the command's first word, which is all the CPU waits
 * for, without reading CMDQ_CONS. QEMU's SMMUv3 offers no MSI, so Linux polls CONS there.
 */
public final class SmmuV3CmdSyncMsiScript extends SmmuV3Script {
    @Override public String name() { return "smmuv3-cmd-sync-msi"; }

    @Override public String description() {
        return "CMD_SYNC completes by an MSI written into the command queue slot (Linux MSIPOLL), no CONS polling";
    }

    @Override public Map<String, Object> properties() { return Map.of("msi", true); }

    @Override
    public void run(final GuestMachine m, final Narrator n) throws Exception {
        final LinuxArmSmmuV3Driver d = linux(m, n);
        d.probe();
        n.check(d.msipoll, "ARM_SMMU_OPT_MSIPOLL");
        final int idx = d.cmdqProd() & ((1 << d.cmdqShift) - 1);
        final long syncSlot = d.cmdqBase + 16L * (idx + 1);
        n.check(d.armSmmuTlbInvAsid(4), "TLBI_NH_ASID + CMD_SYNC completes");
        n.checkEquals(0, m.memory().read32(syncSlot), "the CMD_SYNC's first word was overwritten with MSIData 0");
        n.checkEquals(syncSlot, m.memory().read64(syncSlot + 8) & 0x000F_FFFF_FFFF_FFFCL, "its MSIAddress is its own slot");
        n.check(m.takeInterrupts(0).isEmpty(), "no CMD_SYNC MSI went to the interrupt controller");
        n.checkEquals(d.cmdqProd() & ((2 << d.cmdqShift) - 1), m.read32(LinuxArmSmmuV3Driver.CMDQ_CONS) & ((2 << d.cmdqShift) - 1),
                "and CONS has passed it");
    }
}
