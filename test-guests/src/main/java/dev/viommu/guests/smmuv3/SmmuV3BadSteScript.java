package dev.viommu.guests.smmuv3;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.translate.AccessType;
import dev.viommu.guests.Narrator;

import java.util.Map;

import static dev.viommu.core.guest.GuestMachine.NO_PASID;

/**
 * A buggy guest writes an STE whose S1CDMax exceeds IDR1.SSIDSIZE: the device's DMA is aborted with C_BAD_STE.
 * Rewriting the STE (bypass) and CFGI_STE recovers at once: an illegal STE is never cached.
 */
public final class SmmuV3BadSteScript extends SmmuV3Script {
    static final int SID = 0x60;

    @Override public String name() { return "smmuv3-bad-ste"; }

    @Override public String description() { return "an STE with S1CDMax above SSIDSIZE raises C_BAD_STE; rewriting it recovers"; }

    @Override public Map<String, Object> properties() { return Map.of("ssidsize", 8); }

    @Override
    public void run(final GuestMachine m, final Narrator n) throws Exception {
        final LinuxArmSmmuV3Driver d = linux(m, n);
        d.probe();
        n.checkEquals(8, d.ssidBits, "IDR1.SSIDSIZE 8");
        m.attachEmulated("nic0", SID);
        final LinuxArmSmmuV3Driver.CdTable cdt = d.armSmmuAllocCdTables(8);
        final long[] ste = d.makeCdtableSte(cdt, 0);
        ste[0] = (ste[0] & ~(0x1FL << 59)) | (9L << 59);
        n.check(d.armSmmuWriteSte(SID, ste), "a corrupted STE (S1CDMax 9 > SSIDSIZE 8) is written and synced");
        final GuestMachine.Translated t = m.translate(SID, NO_PASID, IOVA, AccessType.READ);
        n.checkEquals(LinuxArmSmmuV3Driver.EVT_BAD_STE, t.faultCode(), "the device's DMA is aborted: C_BAD_STE");
        final LinuxArmSmmuV3Driver.Event e = events(m, n, d, 1).get(0);
        n.checkEquals(LinuxArmSmmuV3Driver.EVT_BAD_STE, e.id(), "C_BAD_STE recorded");
        n.checkEquals(SID, e.sid(), "for SID 0x60");
        n.check(d.armSmmuWriteSte(SID, LinuxArmSmmuV3Driver.makeBypassSte()), "arm_smmu_make_bypass_ste written over it");
        final GuestMachine.Translated ok = m.translate(SID, NO_PASID, BUFFERS + 0x123, AccessType.WRITE);
        n.check(ok.ok() && ok.outputAddress() == BUFFERS + 0x123, "bypass: DMA passes untranslated");
        n.checkEquals(0, d.armSmmuEvtqThread().size(), "no further events");
    }
}
