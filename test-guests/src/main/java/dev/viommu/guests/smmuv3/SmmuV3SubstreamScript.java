package dev.viommu.guests.smmuv3;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.translate.AccessType;
import dev.viommu.guests.Narrator;

import java.util.List;
import java.util.Map;

import static dev.viommu.core.guest.GuestMachine.NO_PASID;

/**
 * Stage-1 translation with SubstreamIDs (PASIDs): a linear CD table whose CDs 0–2 hold three address spaces,
 * S1DSS = SSID0 so PASID-less DMA uses CD 0; then a master with 12 PASID bits, for which Linux builds a 2-level
 * CD table with 64 KiB leaves. Bad SSIDs and an invalid CD raise C_BAD_SUBSTREAMID and C_BAD_CD.
 */
public final class SmmuV3SubstreamScript extends SmmuV3Script {
    static final int SID = 0x20, SID_2L = 0x21;
    static final long VA = 0x8000;

    @Override public String name() { return "smmuv3-s1-ssid"; }

    @Override public String description() {
        return "stage-1 translation per SubstreamID through linear and 2-level CD tables, with C_BAD_CD and C_BAD_SUBSTREAMID";
    }

    @Override public Map<String, Object> properties() { return Map.of(); }

    @Override
    public void run(final GuestMachine m, final Narrator n) throws Exception {
        final LinuxArmSmmuV3Driver d = linux(m, n);
        d.probe();
        m.attachEmulated("accel0", SID);
        final LinuxArmSmmuV3Driver.CdTable cdt = d.armSmmuAllocCdTables(2);
        n.checkEquals(0, cdt.s1fmt, "4 contexts: a linear CD table");
        final LinuxArmSmmuV3Driver.IoPgtable[] pts = new LinuxArmSmmuV3Driver.IoPgtable[3];
        for (int ssid = 0; ssid < 3; ssid++) {
            pts[ssid] = d.s1Table(12);
            pts[ssid].map(VA, BUFFERS + 0x1000L * ssid, ssid != 2, false);
            n.check(d.armSmmuWriteCdEntry(SID, ssid, cdt.cdPtr(ssid), d.makeS1Cd(10 + ssid, pts[ssid], false)),
                    "arm_smmu_set_pasid: CD " + ssid + " (ASID " + (10 + ssid) + ")" + (ssid == 2 ? ", read-only mapping" : ""));
        }
        n.check(d.armSmmuWriteSte(SID, d.makeCdtableSte(cdt, 2)), "STE: S1CDMax 2, S1DSS = SSID0");
        n.checkEquals(BUFFERS, m.translate(SID, NO_PASID, VA, AccessType.READ).outputAddress(), "PASID-less DMA uses CD 0");
        n.checkEquals(BUFFERS + 0x1000, m.translate(SID, 1, VA, AccessType.READ).outputAddress(), "PASID 1 uses CD 1");
        n.checkEquals(BUFFERS + 0x2000, m.translate(SID, 2, VA, AccessType.READ).outputAddress(), "PASID 2 uses CD 2");
        n.checkEquals(LinuxArmSmmuV3Driver.EVT_PERMISSION, m.translate(SID, 2, VA, AccessType.WRITE).faultCode(),
                "a write through PASID 2's read-only page: F_PERMISSION");
        n.checkEquals(LinuxArmSmmuV3Driver.EVT_BAD_CD, m.translate(SID, 3, VA, AccessType.READ).faultCode(), "PASID 3: CD not valid, C_BAD_CD");
        n.checkEquals(LinuxArmSmmuV3Driver.EVT_BAD_SUBSTREAMID, m.translate(SID, 4, VA, AccessType.READ).faultCode(),
                "PASID 4 ≥ 2^S1CDMax: C_BAD_SUBSTREAMID");
        final List<LinuxArmSmmuV3Driver.Event> ev = events(m, n, d, 3);
        n.checkEquals(LinuxArmSmmuV3Driver.EVT_PERMISSION, ev.get(0).id(), "first event F_PERMISSION");
        n.check(ev.get(0).ssv() && ev.get(0).ssid() == 2, "with SSV and SSID 2");
        n.checkEquals(LinuxArmSmmuV3Driver.EVT_BAD_CD, ev.get(1).id(), "then C_BAD_CD");
        n.checkEquals(LinuxArmSmmuV3Driver.EVT_BAD_SUBSTREAMID, ev.get(2).id(), "then C_BAD_SUBSTREAMID");

        m.attachEmulated("accel1", SID_2L);
        final LinuxArmSmmuV3Driver.CdTable big = d.armSmmuAllocCdTables(12);
        n.checkEquals(2, big.s1fmt, "4096 contexts with IDR0.CD2L: a 2-level CD table, 64 KiB leaves");
        final int ssid = 1029;
        final LinuxArmSmmuV3Driver.IoPgtable pt = d.s1Table(12);
        pt.map(VA, BUFFERS + 0x5000, true, false);
        n.check(d.armSmmuWriteCdEntry(SID_2L, ssid, big.cdPtr(ssid), d.makeS1Cd(40, pt, false)), "CD for PASID 1029 (leaf 1, index 5)");
        n.check(d.armSmmuWriteSte(SID_2L, d.makeCdtableSte(big, 2)), "STE: S1Fmt 64K_L2, S1CDMax 12");
        n.checkEquals(BUFFERS + 0x5000, m.translate(SID_2L, ssid, VA, AccessType.WRITE).outputAddress(), "PASID 1029 translates");
        n.checkEquals(LinuxArmSmmuV3Driver.EVT_BAD_SUBSTREAMID, m.translate(SID_2L, 3000, VA, AccessType.READ).faultCode(),
                "PASID 3000: L1 CD descriptor invalid, C_BAD_SUBSTREAMID");
        n.checkEquals(LinuxArmSmmuV3Driver.EVT_BAD_SUBSTREAMID, events(m, n, d, 1).get(0).id(), "recorded");
    }
}
