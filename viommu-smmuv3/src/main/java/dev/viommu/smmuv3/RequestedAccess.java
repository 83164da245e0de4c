package dev.viommu.smmuv3;

import dev.viommu.core.translate.AccessType;

/**
 * The permissions a transaction needs, from its {@link AccessType} R/W/INST attributes (IHI0070 §13.1.1, §13.1.2,
 * §13.4): vmm-core's {@link AccessType#EXEC} marks an instruction fetch, which callers pass with or without READ.
 * <ul>
 *   <li>The SMMU takes every write as Data, even one marked Instruction, on input, before any permission check
 *       (§13.1.2): EXEC is dropped from a write, which also gives its event records InD = 0 (§7.3.13–16: "InD == 0
 *       when RnW == 0").</li>
 *   <li>An instruction fetch is a read checked against execute permission only, as the A-profile permission
 *       checks do for an instruction fetch at stage 1 and stage 2 (the SMMU checks R/W, INST and PRIV against
 *       the page permissions, §13.4, §13.4.3): READ is dropped, so execute-only pages (EL0 with AP[1] = 0 and
 *       UXN = 0, stage 2 with S2AP = 0b00 and XN permitting) can be fetched from. The record keeps RnW = 1,
 *       InD = 1.</li>
 * </ul>
 * PRIV is kept. A data read, a write and READ|WRITE (both checked, §13.1.1 atomics) pass unchanged.
 */
final class RequestedAccess {
    private RequestedAccess() {}

    static int of(final int access) {
        if ((access & AccessType.EXEC) == 0) return access;
        return (access & AccessType.WRITE) != 0 ? access & ~AccessType.EXEC : access & ~AccessType.READ;
    }
}
