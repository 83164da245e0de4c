package dev.viommu.guests.smmuv3;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.guests.Narrator;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static dev.viommu.core.guest.GuestMachine.NO_PASID;

/**
 * Boot with a 2-level stream table (SIDSIZE 16): the L2 table of a SID is allocated when a device is attached;
 * DMA from a SID whose L1 descriptor is still invalid is C_BAD_STREAMID (CR2.RECINVSID is set by Linux).
 */
public final class SmmuV3BootTwoLevelScript extends SmmuV3Script {
    static final int SID = 0x1234, UNPOPULATED_SID = 0x4000, ASID = 7;

    @Override public String name() { return "smmuv3-boot-2lvl"; }

    @Override public String description() {
        return "Linux boots with a 2-level stream table, populates an L2 table on attach, and sees C_BAD_STREAMID elsewhere";
    }

    @Override public Map<String, Object> properties() { return Map.of("sidsize", 16, "2lvl-strtab", true); }

    @Override
    public void run(final GuestMachine m, final Narrator n) throws Exception {
        final LinuxArmSmmuV3Driver d = linux(m, n);
        d.probe();
        n.check(d.twoLevelStrtab, "IDR0.ST_LVL = 2-level and SIDSIZE 16: a 2-level stream table");
        n.checkEquals((1 << 16) | (8 << 6) | 16, m.read32(LinuxArmSmmuV3Driver.STRTAB_BASE_CFG),
                "STRTAB_BASE_CFG: FMT 2-level, SPLIT 8, LOG2SIZE 16");

        m.attachEmulated("disk0", SID);
        final LinuxArmSmmuV3Driver.IoPgtable pt = attachS1(d, n, SID, ASID);
        n.checkEquals(d.steAddr(SID) & ~0x3FFFL, m.memory().read64(d.strtab + 8L * (SID >>> 8)) & ~0x3FL,
                "L1 descriptor " + (SID >>> 8) + " points at the new L2 table");
        pt.map(IOVA, BUFFERS + 0x1000, true, false);
        final byte[] data = pattern(300, 9);
        n.checkEquals(0, m.dmaWrite(SID, NO_PASID, IOVA + 8, data), "the disk's DMA through SID 0x1234 translates");
        n.check(Arrays.equals(data, ram(m, BUFFERS + 0x1008, data.length)), "and lands in the buffer");

        n.check(!m.translate(UNPOPULATED_SID, NO_PASID, 0, 1).ok(), "SID 0x4000 (L1 descriptor invalid) is aborted");
        final List<LinuxArmSmmuV3Driver.Event> ev = events(m, n, d, 1);
        n.checkEquals(LinuxArmSmmuV3Driver.EVT_BAD_STREAMID, ev.get(0).id(), "C_BAD_STREAMID recorded (CR2.RECINVSID)");
        n.checkEquals(UNPOPULATED_SID, ev.get(0).sid(), "for SID 0x4000");
    }
}
