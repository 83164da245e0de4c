package dev.viommu.guests.smmuv3;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.translate.AccessType;
import dev.viommu.guests.Narrator;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static dev.viommu.core.guest.GuestMachine.NO_PASID;

/**
 * A stage-2-only SMMU (stage=2): Linux finalises DMA domains as stage 2 (arm_smmu_domain_finalise picks S2 when
 * S1 is absent) and installs arm_smmu_make_s2_domain_ste. DMA translates IPA → PA; an unmapped IPA faults with
 * the event's S2 bit and IPA (STE.S2R).
 */
public final class SmmuV3Stage2Script extends SmmuV3Script {
    static final int SID = 0x30, VMID = 9;
    static final long IPA = 0x1000_0000L, UNMAPPED = 0x2000_0000L;

    @Override public String name() { return "smmuv3-s2-only"; }

    @Override public String description() {
        return "a stage-2-only SMMU: Linux installs an S2 STE, DMA translates IPA to PA, an unmapped IPA records F_TRANSLATION with S2";
    }

    @Override public Map<String, Object> properties() { return Map.of("stage", "2"); }

    @Override
    public void run(final GuestMachine m, final Narrator n) throws Exception {
        final LinuxArmSmmuV3Driver d = linux(m, n);
        d.probe();
        n.check(d.s2p && !d.s1p, "IDR0: S2P only");
        m.attachEmulated("nic0", SID);
        final LinuxArmSmmuV3Driver.IoPgtable s2 = d.s2Table();
        s2.map(IPA, BUFFERS + 0x4000, true, false);
        n.check(d.armSmmuWriteSte(SID, d.makeS2DomainSte(VMID, s2)), "arm_smmu_make_s2_domain_ste: VMID 9, S2T0SZ 24, S2SL0 1, S2R");
        final byte[] data = pattern(200, 5);
        n.checkEquals(0, m.dmaWrite(SID, NO_PASID, IPA + 0x40, data), "DMA to IPA " + hex(IPA) + " translates");
        n.check(Arrays.equals(data, ram(m, BUFFERS + 0x4040, data.length)), "and lands at PA " + hex(BUFFERS + 0x4040));
        final GuestMachine.Translated miss = m.translate(SID, NO_PASID, UNMAPPED, AccessType.READ);
        n.checkEquals(LinuxArmSmmuV3Driver.EVT_TRANSLATION, miss.faultCode(), "an unmapped IPA: F_TRANSLATION");
        final List<LinuxArmSmmuV3Driver.Event> ev = events(m, n, d, 1);
        n.check(ev.get(0).s2(), "the event says stage 2");
        n.checkEquals(UNMAPPED, ev.get(0).ipa(), "and gives the IPA");
        n.checkEquals(SID, ev.get(0).sid(), "for the NIC's SID");
    }
}
