package dev.viommu.smmuv3;

import dev.viommu.smmuv3.spec.Ste;

/**
 * The StreamWorld of a Non-secure stage-1 stream (IHI0070 §5.2 STRW, §6.3.12 CR2.E2H): the translation regime its
 * CD and tables belong to. It decides three things (§5.2 STRW note): how TLB entries are tagged, how many
 * translation tables the CD has, and the stage-1 permission model.
 * <ul>
 *   <li>{@link #NS_EL1} (STRW = 0b00, and every stream whose stage 2 translates): EL1&amp;0, two VA ranges, ASID and
 *       VMID tags, privileged and unprivileged permissions.</li>
 *   <li>{@link #NS_EL2} (STRW = 0b10, CR2.E2H = 0): one VA range through TTB0 (TTB1 unreachable, EPD0/EPD1
 *       IGNORED with effective value 0), no ASID (CD.ASID IGNORED, so every entry is global and nG is
 *       meaningless), no VMID, one privilege level (AP[1] treated as 1, §13.4.1) (§5.4 EPD0, T1SZ, ASID, §5.4.1).</li>
 *   <li>{@link #NS_EL2_E2H} (STRW = 0b10, CR2.E2H = 1, what a VHE host sets): EL2&amp;0, like EL1&amp;0 (two ranges,
 *       ASID tags and nG, privileged and unprivileged permissions) but in the hypervisor regime (TLBI_EL2_*) and
 *       without a VMID (§5.2 S2VMID, §4.4.2.8).</li>
 * </ul>
 */
final class StreamWorld {
    private StreamWorld() {}

    static final int NS_EL1 = 0, NS_EL2 = 1, NS_EL2_E2H = 2;

    /** The world of a stage-1 STE whose effective STRW is {@code strw} (already NS-EL1 when stage 2 translates). */
    static int of(final int strw, final boolean e2h) {
        if (strw != Ste.STRW_EL2) return NS_EL1;
        return e2h ? NS_EL2_E2H : NS_EL2;
    }

    /** Whether the world is a hypervisor regime: its TLB entries belong to TLBI_EL2_*, not TLBI_NH_*. */
    static boolean hypervisor(final int world) { return world != NS_EL1; }
}
