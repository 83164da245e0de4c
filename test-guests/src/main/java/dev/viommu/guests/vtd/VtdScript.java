package dev.viommu.guests.vtd;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.guests.GuestScript;
import dev.viommu.guests.Narrator;

import java.util.List;

/** What the VT-d scripts share: the driver name, the guest heap, and how a guest sees a fault event arrive. */
abstract class VtdScript implements GuestScript {
    /** The emulated endpoint: 00:02.0. */
    static final int SID = 0x0010;
    static final long HEAP = 0x10_0000L, HEAP_LIMIT = 0x300_0000L;
    /** DMA buffers the guest hands to the device live above the driver's heap. */
    static final long BUFFERS = 0x300_0000L;

    @Override public final String driver() { return "intel-iommu"; }

    static LinuxIntelIommuDriver linux(final GuestMachine m, final Narrator n) {
        return new LinuxIntelIommuDriver(m, n, HEAP, HEAP_LIMIT);
    }

    /** A recognisable byte pattern for DMA. */
    static byte[] pattern(final int length, final int seed) {
        final byte[] b = new byte[length];
        for (int i = 0; i < length; i++) b[i] = (byte) (i * 31 + seed);
        return b;
    }

    /** What guest RAM holds at {@code gpa}, as the CPU would read it. */
    static byte[] ram(final GuestMachine m, final long gpa, final int length) throws Exception {
        final byte[] b = new byte[length];
        m.memory().read(gpa, b, 0, length);
        return b;
    }

    /** The unit raised the fault-event MSI the driver programmed (dmar_set_interrupt), and nothing else. */
    static void checkFaultEvent(final GuestMachine m, final Narrator n) {
        final List<GuestMachine.Interrupt> irqs = m.takeInterrupts(2000);
        n.checkEquals(List.of(new GuestMachine.Interrupt.Msi(LinuxIntelIommuDriver.FAULT_MSI_ADDR, LinuxIntelIommuDriver.FAULT_MSI_DATA)),
                irqs, "the fault-event MSI arrives (dmar_fault runs)");
    }

    static String hex(final long v) { return "0x" + Long.toHexString(v); }
}
