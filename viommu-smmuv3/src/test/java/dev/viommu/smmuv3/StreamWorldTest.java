package dev.viommu.smmuv3;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.translate.AccessType;
import dev.viommu.smmuv3.spec.Cmd;
import dev.viommu.smmuv3.spec.EventId;
import dev.viommu.smmuv3.spec.Pte;
import dev.viommu.smmuv3.spec.Ste;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.viommu.core.guest.GuestMachine.NO_PASID;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * STE.STRW = EL2 with CR2.E2H (IHI0070 §5.2 STRW, §5.4, §5.4.1, §6.3.12, §13.4.1, §4.4.2.8–10). With E2H = 0 the
 * StreamWorld is NS-EL2: one VA range through TTB0 (EPDx IGNORED), no ASID (every entry global, TLBI_EL2_VA
 * ignores its ASID), one privilege level with XN at bit 54. With E2H = 1 (a VHE host, Linux's
 * ARM_SMMU_FEAT_E2H) it is NS-EL2-E2H: EL1&amp;0's two ranges, ASIDs and nG, and privileged/unprivileged
 * permissions. Before, CR2.E2H was ignored and every STRW = EL2 stream was a hybrid: both ranges and EPDx
 * honoured, ASID-tagged non-global entries, but one privilege level.
 */
class StreamWorldTest {
    private static final int R = AccessType.READ, X = AccessType.EXEC, PRIV = AccessType.PRIV;
    private DirectMachine m;
    private SmmuV3TestGuest d;

    private void boot(final boolean e2h) {
        m = new DirectMachine("arm-smmuv3", Map.of("hyp", true), 48L << 20);
        d = new SmmuV3TestGuest(m, 1L << 20);
        d.hwProbe();
        d.e2h = e2h;
        d.initStructures();
        d.deviceReset();
        m.attachEmulated("ep", 1);
    }

    @AfterEach
    void close() {
        if (m != null) m.close();
    }

    /** StreamID 1 translates through {@code cd} with STE.STRW = {@code strw} (stage 1 only). */
    private void stream(final long[] cd, final int strw) {
        final long at = d.alloc(64, 64);
        assertTrue(d.installCd(at, 1, 0, cd));
        final long[] ste = SmmuV3TestGuest.s1Ste(at, 0, 0, 0);
        ste[1] = Ste.STRW.with(ste[1], strw);
        assertTrue(d.installSte(1, ste));
    }

    private long out(final long va, final int access) { return m.translate(1, NO_PASID, va, access).outputAddress(); }

    private int fault(final long va, final int access) { return m.translate(1, NO_PASID, va, access).faultCode(); }

    private boolean tlbi(final int op, final int asid, final long va) {
        return d.issue(List.of(new long[] {op | (long) asid << 48, va}));
    }

    @Test
    void el2WithoutE2hWalksOnlyTtb0AndIgnoresEpd() {
        boot(false);
        final SmmuV3TestGuest.PageTable pt = d.s1Table(12);
        pt.map(0x5000, 0x80_5000, true, false, true, false);
        final long[] cd = SmmuV3TestGuest.s1Cd(1, pt.root, 12, 5, true, true);
        cd[0] |= 1L << 14;                 // EPD0: IGNORED at EL2
        cd[0] &= ~(1L << 30);              // EPD1 = 0 with T1SZ = 0, TG1 reserved: harmless, TTB1 is unreachable
        stream(cd, Ste.STRW_EL2);
        assertEquals(0x80_5000, out(0x5000, R), m::describe);
        assertEquals(EventId.F_TRANSLATION, fault(0xFFFF_FFFF_FFFF_5000L, R), "VA[55] = 1 is outside the one range");
        stream(cd, Ste.STRW_NSEL1);
        assertEquals(EventId.C_BAD_CD, fault(0x5000, R), "at EL1 the same CD's TTB1 half is ILLEGAL");
    }

    @Test
    void el2E2hTranslatesBothRangesAndHonoursEpd() {
        boot(true);
        final SmmuV3TestGuest.PageTable lower = d.s1Table(12), upper = d.s1Table(12);
        lower.map(0x5000, 0x80_5000, true, false, true, false);
        upper.map(0xFFFF_0000_5000L, 0x81_5000, true, false, true, false);
        final long[] cd = SmmuV3TestGuest.s1Cd(1, lower.root, 12, 5, true, true);
        cd[0] = (cd[0] & ~(1L << 30)) | 16L << 16 | 2L << 22;   // EPD1 = 0, T1SZ 16, TG1 4 KiB
        cd[2] = upper.root;
        stream(cd, Ste.STRW_EL2);
        assertEquals(0x80_5000, out(0x5000, R), m::describe);
        assertEquals(0x81_5000, out(0xFFFF_FFFF_0000_5000L, R), "TTB1");
        cd[0] |= 1L << 14;                                         // EPD0 honoured with E2H
        stream(cd, Ste.STRW_EL2);
        assertEquals(EventId.F_TRANSLATION, fault(0x5000, R));
    }

    @Test
    void el2WithoutE2hEntriesHaveNoAsidSoEl2VaInvalidatesWhateverAsidItNames() {
        boot(false);
        final SmmuV3TestGuest.PageTable pt = d.s1Table(12);
        pt.map(0x6000, 0x80_6000, true, false, true, false);       // nG = 1, as io-pgtable-arm maps
        stream(SmmuV3TestGuest.s1Cd(1, pt.root, 12, 5, true, true), Ste.STRW_EL2);
        assertEquals(0x80_6000, out(0x6000, R));
        pt.map(0x6000, 0x90_6000, true, false, true, false);
        assertEquals(0x80_6000, out(0x6000, R), "cached until invalidated");
        assertTrue(tlbi(Cmd.TLBI_EL2_VA, 7, 0x6000), "TLBI_EL2_VA, ASID 7 (the CD says 1)");
        assertEquals(0x90_6000, out(0x6000, R), "the ASID is ignored at EL2 (§4.4.2.8)");
    }

    @Test
    void el2E2hEntriesAreTaggedWithTheAsid() {
        boot(true);
        final SmmuV3TestGuest.PageTable pt = d.s1Table(12);
        pt.map(0x6000, 0x80_6000, true, false, true, false);
        stream(SmmuV3TestGuest.s1Cd(1, pt.root, 12, 5, true, true), Ste.STRW_EL2);
        assertEquals(0x80_6000, out(0x6000, R));
        pt.map(0x6000, 0x90_6000, true, false, true, false);
        assertTrue(tlbi(Cmd.TLBI_EL2_VA, 7, 0x6000));
        assertEquals(0x80_6000, out(0x6000, R), "a non-global entry of ASID 1 survives TLBI_EL2_VA for ASID 7");
        assertTrue(tlbi(Cmd.TLBI_EL2_ASID, 1, 0));
        assertEquals(0x90_6000, out(0x6000, R), "TLBI_EL2_ASID 1 (Linux's EL2 ASID invalidation with E2H)");
    }

    @Test
    void el2WithoutE2hHasOnePrivilegeLevelAndOneExecuteNeverBit() throws Exception {
        boot(false);
        final SmmuV3TestGuest.PageTable pt = d.s1Table(12);
        pt.map(0x7000, 0x80_7000, false, true, true, false);      // AP[1] = 0: treated as 1 at EL2 (§13.4.1)
        final long pxn = pt.map(0x8000, 0x80_8000, false, false, true, false);
        m.memory().write64(pxn, m.memory().read64(pxn) | Pte.PXN.mask());   // bit 53: reserved at EL2
        final long xn = pt.map(0x9000, 0x80_9000, false, false, true, false);
        m.memory().write64(xn, m.memory().read64(xn) | Pte.UXN.mask());      // bit 54: XN at EL2
        stream(SmmuV3TestGuest.s1Cd(1, pt.root, 12, 5, true, true), Ste.STRW_EL2);
        assertEquals(0x80_7000, out(0x7000, R), "an unprivileged read is checked as privileged");
        assertEquals(0x80_8000, out(0x8000, R | X | PRIV), "PXN has no meaning at EL2");
        assertEquals(EventId.F_PERMISSION, fault(0x9000, R | X | PRIV));
    }

    @Test
    void el2E2hChecksUnprivilegedAccessAndBothExecuteNeverBits() throws Exception {
        boot(true);
        final SmmuV3TestGuest.PageTable pt = d.s1Table(12);
        pt.map(0x7000, 0x80_7000, false, true, true, false);
        final long pxn = pt.map(0x8000, 0x80_8000, false, false, true, false);
        m.memory().write64(pxn, m.memory().read64(pxn) | Pte.PXN.mask());
        stream(SmmuV3TestGuest.s1Cd(1, pt.root, 12, 5, true, true), Ste.STRW_EL2);
        assertEquals(EventId.F_PERMISSION, fault(0x7000, R), "AP[1] = 0: no unprivileged access");
        assertEquals(0x80_7000, out(0x7000, R | PRIV));
        assertEquals(EventId.F_PERMISSION, fault(0x8000, R | X | PRIV), "PXN");
        assertEquals(0x80_8000, out(0x8000, R | X), "UXN clear: unprivileged execute");
    }
}
