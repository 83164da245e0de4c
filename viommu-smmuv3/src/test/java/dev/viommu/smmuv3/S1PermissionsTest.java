package dev.viommu.smmuv3;

import dev.viommu.core.translate.AccessType;
import dev.viommu.smmuv3.spec.Pte;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Stage-1 permission rules as the Arm ARM pseudocode AArch64.S1DirectBasePermissions states them (transliterated
 * in epilys/simulans src/memory/mmu.rs; Linux 7.3 KVM at.c and QEMU get_phys_addr_lpae agree on each case here).
 */
class S1PermissionsTest {
    private static final int R = AccessType.READ, W = AccessType.WRITE, X = AccessType.EXEC;

    /** Privileged RWX of a leaf. */
    private static int priv(final int p) { return p & 7; }

    /** Unprivileged RWX of a leaf. */
    private static int unpriv(final int p) { return p >>> 3; }

    @Test
    void el2RegimeHonoursXnTableAndIgnoresPxnTable() {
        // IHI0070 §5.4 HAD0: at EL2 PXNTable (bit 59) is reserved; XNTable is bit 60. Before, bit 59 was honoured
        // and bit 60 ignored, so a guest hypervisor's XNTable left its pages executable.
        final int pxnTableOnly = S1Permissions.of(false, false, false, false, true, false, false, false, false, true);
        assertEquals(R | W | X, priv(pxnTableOnly));
        final int xnTable = S1Permissions.of(false, false, false, false, false, true, false, false, false, true);
        assertEquals(R | W, priv(xnTable));
        assertEquals(priv(xnTable), unpriv(xnTable), "EL2 has one privilege level");
        final long table = Pte.UXN_TABLE.mask();
        assertEquals(xnTable, S1Permissions.lookup(Pte.AF.mask(), table, S1Permissions.EL2), "the tabulated rule");
    }

    @Test
    void el0MayExecuteAnExecuteOnlyPage() {
        // AP[2:1] = 0b00 (no EL0 data access) with UXN = 0: executable at EL0 (ux depends on UXN/UXNTable only).
        final int p = S1Permissions.of(false, false, true, false, false, false, false, false, false, false);
        assertEquals(X, unpriv(p));
        assertEquals(R | W, priv(p), "PXN");
        final int uxnTable = S1Permissions.of(false, false, true, false, false, true, false, false, false, false);
        assertEquals(0, unpriv(uxnTable));
    }

    @Test
    void apTableAppliesBeforeTheEl0WritableRule() {
        // AP[2:1] = 0b01 (EL0 read-write) would make the page privileged-execute-never; APTable removing EL0 write
        // (APTable[1] read-only or APTable[0] no EL0 access) comes first, so privileged execute stays.
        final int plain = S1Permissions.of(true, false, false, false, false, false, false, false, false, false);
        assertEquals(R | W, priv(plain));
        final int readOnlyTable = S1Permissions.of(true, false, false, false, false, false, false, true, false, false);
        assertEquals(R | X, priv(readOnlyTable));
        assertEquals(R | X, unpriv(readOnlyTable));
        final int noEl0Table = S1Permissions.of(true, false, false, false, false, false, true, false, false, false);
        assertEquals(R | W | X, priv(noEl0Table));
        assertEquals(X, unpriv(noEl0Table));
    }

    @Test
    void wxnRemovesExecuteFromWritablePages() {
        final int p = S1Permissions.of(true, false, false, false, false, false, false, false, true, false);
        assertEquals(R | W, unpriv(p));
        assertEquals(R | W, priv(p));
        final int ro = S1Permissions.of(true, true, false, false, false, false, false, false, true, false);
        assertEquals(R | X, unpriv(ro));
        assertEquals(R | X, priv(ro));
    }
}
