package dev.viommu.guests.smmuv3;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.spi.PageRequestService;
import dev.viommu.core.translate.AccessType;
import dev.viommu.guests.Narrator;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * PRI: a PRI-capable emulated device (PASID 1, nothing mapped yet) sends a page request; the PRI-queue MSI wakes
 * arm_smmu_priq_thread, which reads the request, the guest maps the page and answers with PRI_RESP (Success);
 * the device receives the response and its retried DMA succeeds.
 */
public final class SmmuV3PageRequestScript extends SmmuV3Script {
    static final int SID = 0x80, PASID = 1, GROUP = 0x15, ASID = 21;
    static final long VA = 0x5555_0000_0000L;

    @Override public String name() { return "smmuv3-pri-resp"; }

    @Override public String description() {
        return "a device's PRI page request reaches the PRI queue; the guest maps the page and answers PRI_RESP Success";
    }

    @Override public Map<String, Object> properties() { return Map.of("pri", true, "ats", true); }

    @Override
    public void run(final GuestMachine m, final Narrator n) throws Exception {
        final LinuxArmSmmuV3Driver d = linux(m, n);
        d.probe();
        n.check(d.pri && d.ats, "IDR0.PRI and IDR0.ATS");
        n.checkEquals(LinuxArmSmmuV3Driver.CR0_CMDQEN | LinuxArmSmmuV3Driver.CR0_EVTQEN | LinuxArmSmmuV3Driver.CR0_PRIQEN
                | LinuxArmSmmuV3Driver.CR0_ATSCHK | LinuxArmSmmuV3Driver.CR0_SMMUEN, m.read32(LinuxArmSmmuV3Driver.CR0ACK),
                "CR0ACK: PRIQEN and ATSCHK too");
        m.attachEmulated("gpu0", SID);
        final LinuxArmSmmuV3Driver.CdTable cdt = d.armSmmuAllocCdTables(1);
        final LinuxArmSmmuV3Driver.IoPgtable mm = d.s1Table(12);
        n.check(d.armSmmuWriteCdEntry(SID, PASID, cdt.cdPtr(PASID), d.makeS1Cd(ASID, mm, false)),
                "arm_smmu_sva_set_dev_pasid: the process's (empty) page table bound to PASID 1");
        n.check(d.armSmmuWriteSte(SID, d.makeCdtableSte(cdt, 2)), "STE: S1CDMax 1");
        m.takeInterrupts(0);

        n.check(m.pageRequest(SID, PASID, VA + 0x10, AccessType.READ | AccessType.WRITE, true, GROUP),
                "the device's page request for VA " + hex(VA) + ", group " + GROUP + " is accepted");
        n.check(m.takePageResponses().isEmpty(), "no response until the guest answers");
        n.check(m.takeInterrupts(2000).contains(new GuestMachine.Interrupt.Msi(LinuxArmSmmuV3Driver.ITS_DOORBELL, LinuxArmSmmuV3Driver.MSI_PRIQ)),
                "the PRI-queue MSI arrives");
        mm.map(VA, BUFFERS + 0x9000, true, false);
        n.step("handle_mm_fault: the guest faults the page in (maps VA → GPA " + hex(BUFFERS + 0x9000) + ")");
        final List<LinuxArmSmmuV3Driver.PageRequest> reqs = d.armSmmuPriqThread(LinuxArmSmmuV3Driver.PRI_RESP_SUCC);
        n.checkEquals(List.of(new LinuxArmSmmuV3Driver.PageRequest(SID, true, PASID, GROUP, true, true, true, VA)), reqs,
                "the PRI queue entry names SID 0x80, PASID 1, group 0x15 (last), read+write, the page");
        n.checkEquals(List.of(new GuestMachine.PageResponse(SID, PASID, GROUP, PageRequestService.SUCCESS)), m.takePageResponses(),
                "the device receives Success for its group");
        final byte[] data = pattern(256, 4);
        n.checkEquals(0, m.dmaWrite(SID, PASID, VA + 0x10, data), "the device's retried DMA translates");
        n.check(Arrays.equals(data, ram(m, BUFFERS + 0x9010, data.length)), "and lands in the page the guest mapped");
        n.check(!d.priqOverflowSeen, "no PRI queue overflow");
    }
}
