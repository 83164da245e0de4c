package dev.viommu.backend.sim;

import dev.viommu.core.host.HostCapabilities;
import dev.viommu.core.host.HwInfoDecoder;
import dev.viommu.core.host.ObjectId;
import dev.viommu.core.posix.Errno;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.viommu.backend.sim.SimFixture.errno;
import static org.junit.jupiter.api.Assertions.*;

/** HostBackend.capabilities on the sim: hw info decoded, nesting from the configuration. */
class SimCapabilitiesTest {
    final SimFixture f = new SimFixture();
    final SimHostBackend sim = f.sim;

    @Test
    void shouldKnowSmmuv3NestingThatTheMaskedIdrsHide() throws Exception {
        final ObjectId.Device nic = f.bind("sim:nic0");
        assertFalse(HwInfoDecoder.decode(sim.hwInfo(nic)).nesting(), "S1P/S2P are masked as on a real host");
        final HostCapabilities caps = sim.capabilities(nic);
        assertEquals(HostCapabilities.Kind.SMMUV3, caps.kind());
        assertTrue(caps.nesting());
        assertFalse(sim.capabilities(f.bind("sim:nic2")).nesting());
    }

    @Test
    void shouldAgreeWithEcapNestOnVtdAndClampFeatures() throws Exception {
        final HostCapabilities gpu = sim.capabilities(f.bind("sim:gpu0"));
        assertTrue(gpu.nesting());
        assertEquals(48, gpu.inputAddressBits());
        assertEquals(20, gpu.pasidBits());
        assertTrue(gpu.dirtyTracking());
        final HostCapabilities old = sim.capabilities(f.bind("sim:old0"));
        assertFalse(old.nesting());
        assertFalse(old.dirtyTracking());
        assertEquals(0, old.pasidBits(), "the device has no PASID capability");
    }

    @Test
    void shouldLogHwInfoAndFailForUnknownDevices() throws Exception {
        sim.capabilities(f.bind("sim:gpu0"));
        assertEquals(List.of("VFIO_DEVICE_BIND_IOMMUFD", "IOMMU_GET_HW_INFO"), sim.ops());
        assertEquals(Errno.ENOENT, errno(() -> sim.capabilities(new ObjectId.Device(999))));
    }
}
