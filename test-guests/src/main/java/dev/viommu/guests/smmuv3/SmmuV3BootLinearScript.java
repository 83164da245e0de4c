package dev.viommu.guests.smmuv3;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.translate.AccessType;
import dev.viommu.guests.Narrator;

import java.util.Arrays;
import java.util.Map;

import static dev.viommu.core.guest.GuestMachine.NO_PASID;

/**
 * Boot with a linear stream table (SIDSIZE 8, so Linux picks linear), attach an emulated NIC to a stage-1 DMA
 * domain, DMA through it; an unattached SID hits its initial abort STE. Every CMD_SYNC completes by MSI into
 * the command queue (MSIPOLL): none reaches the interrupt controller.
 */
public final class SmmuV3BootLinearScript extends SmmuV3Script {
    static final int SID = 0x10, OTHER_SID = 0x11, ASID = 1;

    @Override public String name() { return "smmuv3-boot-linear"; }

    @Override public String description() {
        return "Linux probes and resets an SMMUv3 with a linear stream table, attaches a stage-1 domain and does DMA";
    }

    @Override public Map<String, Object> properties() { return Map.of("sidsize", 8); }

    @Override
    public void run(final GuestMachine m, final Narrator n) throws Exception {
        final LinuxArmSmmuV3Driver d = linux(m, n);
        d.probe();
        n.check(!d.twoLevelStrtab, "SIDSIZE 8 fits one L2 table: a linear stream table");
        n.checkEquals(8, m.read32(LinuxArmSmmuV3Driver.STRTAB_BASE_CFG), "STRTAB_BASE_CFG: FMT linear, LOG2SIZE 8");
        n.checkEquals(LinuxArmSmmuV3Driver.CR0_CMDQEN | LinuxArmSmmuV3Driver.CR0_EVTQEN | LinuxArmSmmuV3Driver.CR0_SMMUEN,
                m.read32(LinuxArmSmmuV3Driver.CR0ACK), "CR0ACK: CMDQEN | EVTQEN | SMMUEN");
        n.check(d.msipoll, "IDR0.MSI with coherent access: Linux waits for CMD_SYNC by MSI polling");
        n.check(m.takeInterrupts(0).isEmpty(), "the reset's CMD_SYNC MSIs landed in the command queue, not at the interrupt controller");

        m.attachEmulated("nic0", SID);
        final LinuxArmSmmuV3Driver.IoPgtable pt = attachS1(d, n, SID, ASID);
        pt.map(IOVA, BUFFERS, true, false);
        n.step("arm_smmu_map_pages: IOVA " + hex(IOVA) + " → " + hex(BUFFERS) + " read-write");
        final byte[] data = pattern(512, 3);
        n.checkEquals(0, m.dmaWrite(SID, NO_PASID, IOVA + 0x80, data), "the NIC's DMA write translates");
        n.check(Arrays.equals(data, ram(m, BUFFERS + 0x80, data.length)), "and lands in the buffer");
        final GuestMachine.Translated t = m.translate(SID, NO_PASID, IOVA + 0x10, AccessType.READ);
        n.checkEquals(BUFFERS + 0x10, t.outputAddress(), "translation of IOVA + 0x10");
        n.checkEquals(4096L, t.pageSize(), "a 4 KiB page");

        final GuestMachine.Translated other = m.translate(OTHER_SID, NO_PASID, IOVA, AccessType.READ);
        n.check(!other.ok(), "SID 0x11 has the initial abort STE: its DMA is aborted");
        n.checkEquals(0, d.armSmmuEvtqThread().size(), "an abort STE records no event");
    }
}
