package dev.viommu.guests.smmuv3;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.guests.Narrator;

import java.util.List;
import java.util.Map;

/**
 * An illegal command (an unknown opcode) stops the command queue with CMDQ_CONS.ERR = CERROR_ILL and
 * GERROR.CMDQ_ERR; the GERROR MSI runs arm_smmu_gerror_handler, whose arm_smmu_cmdq_skip_err turns the command
 * into a CMD_SYNC and acknowledges through GERRORN; the queue resumes and later commands work.
 */
public final class SmmuV3IllegalCommandScript extends SmmuV3Script {
    @Override public String name() { return "smmuv3-cerror-ill"; }

    @Override public String description() {
        return "an unknown opcode raises CERROR_ILL and GERROR.CMDQ_ERR; arm_smmu_cmdq_skip_err recovers the queue";
    }

    @Override public Map<String, Object> properties() { return Map.of(); }

    @Override
    public void run(final GuestMachine m, final Narrator n) throws Exception {
        final LinuxArmSmmuV3Driver d = linux(m, n);
        d.probe();
        m.takeInterrupts(0);
        final boolean synced = d.armSmmuCmdqIssueCmdlist(List.of(new long[] {0x7F, 0}), true);
        n.check(!synced, "the CMD_SYNC after opcode 0x7f does not complete");
        final int cons = m.read32(LinuxArmSmmuV3Driver.CMDQ_CONS);
        n.checkEquals(LinuxArmSmmuV3Driver.CERROR_ILL, (cons >>> 24) & 0x7F, "CMDQ_CONS.ERR = CERROR_ILL");
        n.checkEquals((d.cmdqProd() - 2) & ((2 << d.cmdqShift) - 1), cons & ((2 << d.cmdqShift) - 1), "CONS stays on the illegal command");
        n.check(d.gerrorActive(LinuxArmSmmuV3Driver.GERROR_CMDQ_ERR), "GERROR.CMDQ_ERR is active (GERROR ≠ GERRORN)");
        n.check(m.takeInterrupts(2000).contains(new GuestMachine.Interrupt.Msi(LinuxArmSmmuV3Driver.ITS_DOORBELL, LinuxArmSmmuV3Driver.MSI_GERROR)),
                "the GERROR MSI arrives");
        n.checkEquals(LinuxArmSmmuV3Driver.CERROR_ILL, d.armSmmuGerrorHandler(), "arm_smmu_gerror_handler finds CERROR_ILL");
        n.check(!d.gerrorActive(LinuxArmSmmuV3Driver.GERROR_CMDQ_ERR), "the error is acknowledged");
        final int mask = (2 << d.cmdqShift) - 1;
        n.checkEquals(d.cmdqProd() & mask, m.read32(LinuxArmSmmuV3Driver.CMDQ_CONS) & mask, "the queue resumed and drained (CONS = PROD)");
        n.check(d.armSmmuTlbInvAsid(1), "a later TLBI_NH_ASID + CMD_SYNC completes");
    }
}
