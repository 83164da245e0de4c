package dev.viommu.guests.smmuv3;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.translate.AccessType;
import dev.viommu.guests.Narrator;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static dev.viommu.core.guest.GuestMachine.NO_PASID;

/**
 * Nested translation (STE.Config = S1 + S2), as iommufd's nested domain sets it up: the guest's CD table, CD and
 * stage-1 tables live at IPAs that stage 2 maps, and the stage-1 output is an IPA too. Then stage 2 stops mapping
 * the stage-1 root: after TLBI_S12_VMALL a DMA faults in stage 2 while walking stage 1 (CLASS = TT).
 */
public final class SmmuV3NestedScript extends SmmuV3Script {
    static final int SID = 0x40, VMID = 2, ASID = 5;
    static final long VA = 0x7000, IPA_OUT = 0x5000_0000L;

    @Override public String name() { return "smmuv3-nested"; }

    @Override public String description() {
        return "nested translation: every stage-1 structure address and the stage-1 output go through stage 2";
    }

    @Override public Map<String, Object> properties() { return Map.of("stage", "nested"); }

    @Override
    public void run(final GuestMachine m, final Narrator n) throws Exception {
        final LinuxArmSmmuV3Driver d = linux(m, n);
        d.probe();
        n.check(d.s1p && d.s2p, "IDR0: S1P and S2P (ARM_SMMU_FEAT_NESTING)");
        m.attachEmulated("vf0", SID);
        final long s1Start = d.alloc(0, 4096);
        final LinuxArmSmmuV3Driver.IoPgtable s1 = d.s1Table(12);
        s1.map(VA, IPA_OUT, true, false);
        final LinuxArmSmmuV3Driver.CdTable cdt = d.armSmmuAllocCdTables(0);
        final long[] cd = d.makeS1Cd(ASID, s1, false);
        for (int i = 7; i >= 0; i--) m.memory().write64(cdt.cdPtr(0) + 8L * i, cd[i]);
        final long s1End = d.alloc(0, 4096);
        n.step(String.format("the L1 guest's stage-1 structures (CD table, CD, page tables) occupy IPA [0x%x, 0x%x)", s1Start, s1End));
        final LinuxArmSmmuV3Driver.IoPgtable s2 = d.s2Table();
        for (long p = s1Start; p < s1End; p += 4096) s2.map(p, p, true, false);
        s2.map(IPA_OUT, BUFFERS + 0x8000, true, false);
        n.step("the parent stage 2 maps those IPAs 1:1 and the stage-1 output IPA " + hex(IPA_OUT) + " → " + hex(BUFFERS + 0x8000));
        n.check(d.armSmmuWriteSte(SID, d.makeNestedSte(cdt, 0, VMID, s2)), "arm_smmu_make_nested_cd_table_ste: Config S1+S2, VMID 2");
        final byte[] data = pattern(128, 1);
        n.checkEquals(0, m.dmaWrite(SID, NO_PASID, VA + 0xabc - 0x80, data), "DMA through both stages translates");
        n.check(Arrays.equals(data, ram(m, BUFFERS + 0x8abc - 0x80, data.length)), "and lands at the final PA");

        s2.unmap(s1.root & ~0xFFFL);
        n.check(d.armSmmuTlbInvVmall(VMID), "the parent unmaps the stage-1 root's IPA and invalidates VMID 2");
        final GuestMachine.Translated f = m.translate(SID, NO_PASID, VA + 0xabc, AccessType.READ);
        n.checkEquals(LinuxArmSmmuV3Driver.EVT_TRANSLATION, f.faultCode(), "the stage-1 walk faults in stage 2");
        final List<LinuxArmSmmuV3Driver.Event> ev = events(m, n, d, 1);
        n.check(ev.get(0).s2(), "event: S2");
        n.checkEquals(1, ev.get(0).clazz(), "CLASS = TT (a translation-table fetch)");
        n.checkEquals(VA + 0xabc, ev.get(0).iova(), "InputAddr is the transaction's VA");
        n.checkEquals(s1.root & ~0xFFFL, ev.get(0).ipa(), "IPA is the stage-1 table's address");
    }
}
