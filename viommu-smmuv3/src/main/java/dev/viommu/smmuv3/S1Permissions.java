package dev.viommu.smmuv3;

import dev.viommu.core.translate.AccessType;
import dev.viommu.smmuv3.spec.Pte;

/**
 * Stage-1 leaf permissions (Arm ARM D8.4, VMSAv8-64 with hierarchical APTable/PXNTable/UXNTable): the privileged
 * and unprivileged RWX a leaf grants, from its AP[2:1], PXN and UXN, the OR of the table attributes on the way
 * down, the regime (EL2 has one privilege level) and CD.WXN. This is the pseudocode's
 * AArch64.S1DirectBasePermissions as transliterated by epilys/simulans (src/memory/mmu.rs) and as QEMU's
 * get_phys_addr_lpae merges the table bits: APTable applies before "EL0-writable is never privileged-executable",
 * and unprivileged execute depends on UXN/UXNTable (and WXN) only;
 * the EL2 regime reads AP[2], APTable[1], XN (bit 54) and XNTable (bit 60) only (also Linux 7.3 KVM at.c
 * compute_s1_*_permissions; IHI0070 §5.4 HAD0: PXNTable and APTable[0] are reserved at EL2).
 * <p>
 * {@link #of} is the rule, written out. The walker does not evaluate it per walk: it is a pure function of ten
 * bits, so it is tabulated once ({@link #TABLE}, 1 KiB) and a leaf costs one indexed load instead of a chain of
 * some thirty data-dependent operations.
 */
final class S1Permissions {
    private S1Permissions() {}

    /** Index bits: [1:0] AP[2:1], [3:2] UXN:PXN, [7:4] APTable[1:0]:UXNTable:PXNTable, [8] WXN, [9] EL2. */
    static final int WXN = 1 << 8, EL2 = 1 << 9;

    /** Per index: privileged RWX in [2:0], unprivileged RWX in [5:3]. */
    private static final byte[] TABLE = new byte[1024];

    static {
        for (int i = 0; i < TABLE.length; i++) {
            final boolean ap1 = (i & 1) != 0, ap2 = (i & 2) != 0, pxn = (i & 4) != 0, uxn = (i & 8) != 0;
            final boolean tPxn = (i & 16) != 0, tUxn = (i & 32) != 0, tNoEl0 = (i & 64) != 0, tRo = (i & 128) != 0;
            TABLE[i] = (byte) of(ap1, ap2, pxn, uxn, tPxn, tUxn, tNoEl0, tRo, (i & WXN) != 0, (i & EL2) != 0);
        }
    }

    /**
     * The permissions of a leaf: {@code pp | pu << 3}. {@code ap2} is the descriptor's AP[2] after any hardware
     * dirty-state update (a DBM page being written is writable). The table bits are zero when HADx = 1.
     */
    static int of(final boolean ap1, final boolean ap2, final boolean pxn, final boolean uxn, final boolean tPxn,
                  final boolean tUxn, final boolean tNoEl0, final boolean tRo, final boolean wxn, final boolean el2) {
        final boolean ro = tRo || ap2;
        final boolean el0 = el2 || (ap1 && !tNoEl0);
        final boolean privW = !ro, unprivW = el0 && !ro;
        final boolean privX = !(el2 ? uxn || tUxn : pxn || tPxn) && !(el0 && unprivW && !el2) && !(wxn && privW);
        final boolean unprivX = !uxn && !tUxn && !(wxn && unprivW);   // AP[1] gates data only: EL0 execute-only
        final int pp = AccessType.READ | (privW ? AccessType.WRITE : 0) | (privX ? AccessType.EXEC : 0);
        final int pu = el2 ? pp : (el0 ? AccessType.READ : 0) | (unprivW ? AccessType.WRITE : 0)
                | (unprivX ? AccessType.EXEC : 0);
        return pp | pu << 3;
    }

    /**
     * The tabulated {@link #of} for leaf descriptor {@code desc}, table attributes {@code tableAttrs} (the OR of
     * the table descriptors, or 0 when HADx = 1) and {@code flags} ({@link #WXN}, {@link #EL2}).
     */
    static int lookup(final long desc, final long tableAttrs, final int flags) {
        return TABLE[flags
                | (int) (desc >>> Pte.AP1.lsb()) & 3                 // AP[2:1]: bits 7:6
                | (int) (desc >>> (Pte.PXN.lsb() - 2)) & 0xC         // UXN:PXN: bits 54:53
                | (int) (tableAttrs >>> (Pte.PXN_TABLE.lsb() - 4)) & 0xF0];   // APTable:UXNTable:PXNTable: 62:59
    }
}
