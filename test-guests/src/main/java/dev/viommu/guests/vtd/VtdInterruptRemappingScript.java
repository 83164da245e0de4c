package dev.viommu.guests.vtd;

import dev.viommu.core.guest.GuestMachine;
import dev.viommu.guests.Narrator;

import java.util.List;
import java.util.Map;

/** Interrupt remapping: the guest writes an IRTE, a device's remappable MSI becomes the interrupt it names. */
public final class VtdInterruptRemappingScript extends VtdScript {
    static final int INDEX = 37;

    @Override public String name() { return "vtd-interrupt-remapping"; }

    @Override public String description() {
        return "x2APIC interrupt remapping: an IRTE turns the device's remappable MSI into vector 0x61 for APIC 0x103; a wrong requester is blocked (0x26)";
    }

    @Override public Map<String, Object> properties() { return Map.of("intremap", true, "eim", true); }

    @Override
    public void run(final GuestMachine m, final Narrator n) {
        final LinuxIntelIommuDriver d = linux(m, n);
        d.initDmars(false, true);
        d.modifyIrte(INDEX, 0x61, 0x103, SID);
        final long msiAddr = LinuxIntelIommuDriver.remappableMsiAddress(INDEX);
        n.step("the device's MSI is programmed in remappable format: address " + hex(msiAddr) + ", data 0");
        final GuestMachine.Remapped ok = m.remapMsi(SID, msiAddr, 0);
        n.check(ok.delivered(), "00:02.0's MSI is remapped, not blocked");
        n.checkEquals(0x61, ok.data() & 0xFF, "to vector 0x61");
        n.checkEquals(0xFEE0_3000L | 1L << 40, ok.address(), "for x2APIC destination 0x103 (low byte in 19:12, the rest in 63:40)");
        n.checkEquals(0, m.read32(LinuxIntelIommuDriver.FSTS), "no fault");

        final GuestMachine.Remapped bad = m.remapMsi(SID + 1, msiAddr, 0);
        n.check(!bad.delivered() && bad.faultReason() == 0x26, "00:02.1 using the same IRTE is blocked: SID verification (0x26)");
        checkFaultEvent(m, n);
        final List<LinuxIntelIommuDriver.Fault> f = d.dmarFault();
        n.checkEquals(List.of(new LinuxIntelIommuDriver.Fault(0x26, SID + 1, (long) INDEX << 48, false, false, 0)), f,
                "dmar_fault reads an interrupt-remapping fault for index " + INDEX);

        final GuestMachine.Remapped compat = m.remapMsi(SID, 0xFEE0_0000L, 0x30);
        n.check(!compat.delivered() && compat.faultReason() == 0x25, "a compatibility-format MSI is blocked in x2APIC mode (0x25)");
        checkFaultEvent(m, n);
        n.checkEquals(0x25, d.dmarFault().get(0).reason(), "dmar_fault reads it");
    }
}
