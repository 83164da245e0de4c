package dev.viommu.guests.smmuv3;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.guests.GuestScript;
import dev.viommu.guests.Narrator;

import java.util.List;

/** What the SMMUv3 scripts share: the driver name, the guest heap, DMA buffers and how events reach the guest. */
abstract class SmmuV3Script implements GuestScript {
    /** The kernel's heap for queues and tables, and the DMA buffers the guest hands to devices above it. */
    static final long HEAP = 0x10_0000L, HEAP_LIMIT = 0x300_0000L, BUFFERS = 0x300_0000L;
    /** An IOVA the DMA API would hand out. */
    static final long IOVA = 0xFFFF_0000L;

    @Override public final String driver() { return "arm-smmuv3"; }

    static LinuxArmSmmuV3Driver linux(final GuestMachine m, final Narrator n) {
        return new LinuxArmSmmuV3Driver(m, n, HEAP, HEAP_LIMIT);
    }

    /**
     * arm_smmu_attach_dev for a DMA-API (stage-1) domain: arm_smmu_alloc_cd_tables (no PASIDs), the domain's
     * io-pgtable, arm_smmu_make_s1_cd into CD 0, then arm_smmu_make_cdtable_ste. Returns the page table.
     */
    static LinuxArmSmmuV3Driver.IoPgtable attachS1(final LinuxArmSmmuV3Driver d, final Narrator n, final int sid,
                                                   final int asid) {
        final LinuxArmSmmuV3Driver.IoPgtable pt = d.s1Table(12);
        final LinuxArmSmmuV3Driver.CdTable cdt = d.armSmmuAllocCdTables(0);
        n.check(d.armSmmuWriteCdEntry(sid, 0, cdt.cdPtr(0), d.makeS1Cd(asid, pt, false)), "CD 0 written and synced (CFGI_CD + CMD_SYNC)");
        n.check(d.armSmmuWriteSte(sid, d.makeCdtableSte(cdt, 0)), "STE written and synced (CFGI_STE + CMD_SYNC)");
        n.step(String.format("arm_smmu_attach_dev: SID 0x%x → stage-1 domain, ASID %d", sid, asid));
        return pt;
    }

    /** The event-queue MSI arrives (the evtq IRQ thread is woken), then arm_smmu_evtq_thread drains the queue. */
    static List<LinuxArmSmmuV3Driver.Event> events(final GuestMachine m, final Narrator n, final LinuxArmSmmuV3Driver d,
                                                  final int expected) {
        final List<GuestMachine.Interrupt> irqs = m.takeInterrupts(2000);
        n.check(irqs.contains(new GuestMachine.Interrupt.Msi(LinuxArmSmmuV3Driver.ITS_DOORBELL, LinuxArmSmmuV3Driver.MSI_EVTQ)),
                "the event-queue MSI arrives at the ITS doorbell");
        final List<LinuxArmSmmuV3Driver.Event> ev = d.armSmmuEvtqThread();
        n.checkEquals(expected, ev.size(), "event records read by arm_smmu_evtq_thread");
        return ev;
    }

    /** A recognisable byte pattern for DMA. */
    static byte[] pattern(final int length, final int seed) {
        final byte[] b = new byte[length];
        for (int i = 0; i < length; i++) b[i] = (byte) (i * 37 + seed);
        return b;
    }

    /** What guest RAM holds at {@code gpa}, as the CPU would read it. */
    static byte[] ram(final GuestMachine m, final long gpa, final int length) throws Exception {
        final byte[] b = new byte[length];
        m.memory().read(gpa, b, 0, length);
        return b;
    }

    static String hex(final long v) { return "0x" + Long.toHexString(v); }
}
