package dev.viommu.guests.vtd;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.translate.AccessType;
import dev.viommu.guests.Narrator;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Shared virtual addressing: a PRI-capable emulated device asks for a page that is not mapped; the guest's
 * prq_event_thread reads the page request, "faults the page in" by mapping it, and answers with a page-group
 * response; the device receives Success and its retried DMA succeeds.
 */
public final class VtdPageRequestScript extends VtdScript {
    static final int PASID = 1;
    static final long VA = 0x5555_0000_0000L;
    static final int GROUP = 5;

    @Override public String name() { return "vtd-page-request"; }

    @Override public String description() {
        return "SVA: a device's page request reaches the guest's PRQ, the guest maps the page and answers Success with a page-group response";
    }

    @Override public Map<String, Object> properties() {
        return Map.of("x-scalable-mode", true, "x-flts", true, "x-pasid-mode", true, "device-iotlb", true, "svm", true);
    }

    @Override
    public void run(final GuestMachine m, final Narrator n) throws Exception {
        final LinuxIntelIommuDriver d = linux(m, n);
        d.initDmars(true, false);
        final LinuxIntelIommuDriver.PasidTable pt = d.attachScalable(SID, true, true, true);
        final LinuxIntelIommuDriver.Domain mm = d.allocDomain(true);
        pt.setupFirstLevel(PASID, mm);
        n.step("intel_svm_set_dev_pasid: the process's page table is bound to PASID " + PASID + " (nothing mapped yet)");
        m.attachEmulated("gpu0", SID);
        m.takeInterrupts(0);

        n.check(m.pageRequest(SID, PASID, VA + 0x10, AccessType.READ | AccessType.WRITE, true, GROUP),
                "the device's page request (PRI) for VA " + hex(VA) + ", group " + GROUP + " is accepted");
        n.check(m.takePageResponses().isEmpty(), "no response until the guest answers");
        final List<GuestMachine.Interrupt> irqs = m.takeInterrupts(2000);
        n.checkEquals(List.of(new GuestMachine.Interrupt.Msi(LinuxIntelIommuDriver.PRQ_MSI_ADDR, LinuxIntelIommuDriver.PRQ_MSI_DATA)),
                irqs, "the page-request event MSI arrives");
        final List<LinuxIntelIommuDriver.PageRequest> reqs = d.prqEventThread();
        n.checkEquals(List.of(new LinuxIntelIommuDriver.PageRequest(SID, true, PASID, VA, true, true, false, true, GROUP)), reqs,
                "the descriptor names 00:02.0, PASID 1, the page, read+write, last in group " + GROUP);
        mm.map(VA, BUFFERS, 4096, true);
        n.step("handle_mm_fault: the guest faults the page in (maps VA → GPA " + hex(BUFFERS) + ")");
        d.intelIommuPageResponse(reqs.get(0), 0);
        n.checkEquals(List.of(new GuestMachine.PageResponse(SID, PASID, GROUP, 0)), m.takePageResponses(),
                "the device receives Success for group " + GROUP);
        final byte[] data = pattern(256, 11);
        n.checkEquals(0, m.dmaWrite(SID, PASID, VA + 0x10, data), "the device's retried DMA translates");
        n.check(Arrays.equals(data, ram(m, BUFFERS + 0x10, data.length)), "and lands in the page the guest mapped");
        n.checkEquals(0, m.read32(LinuxIntelIommuDriver.FSTS), "no fault recorded");
    }
}
