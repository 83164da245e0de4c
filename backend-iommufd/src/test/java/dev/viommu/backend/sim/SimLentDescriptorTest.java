package dev.viommu.backend.sim;

import dev.viommu.backend.iommufd.FdProbe;
import dev.viommu.core.host.HostDeviceRef;
import dev.viommu.core.host.HostException;
import dev.viommu.core.host.ObjectId;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.posix.Errno;
import dev.viommu.core.posix.Posix;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A cdev descriptor lent to the simulated host's bind (Endpoint's ownership rule): the sim holds a duplicate of
 * its own while the device is bound, closes that duplicate exactly once (unbind or close), and never closes, or
 * closes again, anything else: not the lender's descriptor, and not a number its duplicate had that was reused.
 */
class SimLentDescriptorTest {
    private Path dir;
    private String cdev;
    private int lent = -1;
    private SimHostBackend sim;

    @BeforeEach
    void setUp() throws Exception {
        dir = Files.createTempDirectory("sim-lent");
        final Path file = Files.createFile(dir.resolve("vfio-cdev"));
        lent = Posix.open(file.toString(), Posix.O_RDWR | Posix.O_CLOEXEC);
        cdev = FdProbe.target(lent);
        sim = new SimHostBackend(Map.of("iommus", List.of(Map.of("name", "dmar0", "type", "vtd")),
                "devices", List.of(Map.of("path", "sim:nic0"))), GuestMemory::empty);
    }

    @AfterEach
    void tearDown() throws Exception {
        sim.close();
        Posix.closeQuietly(lent);
        try (var s = Files.list(dir)) {
            for (Path p : s.toList()) Files.delete(p);
        }
        Files.delete(dir);
    }

    private static int errno(final org.junit.jupiter.api.function.Executable e) {
        return assertThrows(HostException.class, e).errno();
    }

    @Test
    void shouldHoldItsOwnDuplicateWhileBoundAndCloseOnlyThatAtUnbind() throws Throwable {
        final ObjectId.Device dev = sim.bindDevice(new HostDeviceRef("sim:nic0", lent));
        final List<Integer> held = sim.heldDescriptors();
        assertEquals(1, held.size());
        final int dup = held.getFirst();
        assertNotEquals(lent, dup, "a duplicate, not the lender's number");
        assertEquals(cdev, FdProbe.target(dup));
        assertEquals(2, FdProbe.countOn(cdev));

        sim.unbindDevice(dev);
        assertEquals(List.of(), sim.heldDescriptors());
        assertEquals(1, FdProbe.countOn(cdev), "the duplicate is closed");
        assertEquals(cdev, FdProbe.target(lent), "the lender's descriptor is untouched");

        // the duplicate's number is free now; whoever gets it next must keep it through a repeated unbind and close
        final Path other = Files.createFile(dir.resolve("sentinel"));
        final int sentinel = FdProbe.openAtLeast(other, dup);
        assertEquals(dup, sentinel, "the sentinel sits on the number the duplicate had");
        assertEquals(Errno.ENOENT, errno(() -> sim.unbindDevice(dev)));
        sim.close();
        assertEquals(other.toString(), FdProbe.target(sentinel), "a reused number is not closed a second time");
        Posix.close(sentinel);
    }

    @Test
    void shouldCloseTheDuplicatesOfStillBoundDevicesAtCloseButNotTheLentDescriptor() throws Exception {
        sim.bindDevice(new HostDeviceRef("sim:nic0", lent));
        assertEquals(2, FdProbe.countOn(cdev));
        sim.close();
        assertEquals(List.of(), sim.heldDescriptors());
        assertEquals(1, FdProbe.countOn(cdev));
        assertEquals(cdev, FdProbe.target(lent));
        sim.close();
        assertEquals(cdev, FdProbe.target(lent), "a second close closes nothing");
        assertEquals(Errno.EBADF, errno(() -> sim.bindDevice(new HostDeviceRef("sim:nic0", lent))), "closed backend");
        assertEquals(1, FdProbe.countOn(cdev));
    }

    @Test
    void shouldRefuseABindWithoutTakingOrClosingTheLentDescriptor() throws Exception {
        assertEquals(Errno.ENODEV, errno(() -> sim.bindDevice(new HostDeviceRef("sim:unknown", lent))));
        assertEquals(1, FdProbe.countOn(cdev));
        sim.bindDevice(new HostDeviceRef("sim:nic0", lent));
        assertEquals(Errno.EINVAL, errno(() -> sim.bindDevice(new HostDeviceRef("sim:nic0", lent))), "already bound");
        assertEquals(2, FdProbe.countOn(cdev), "one duplicate, for the one bind that succeeded");
        assertEquals(cdev, FdProbe.target(lent));
    }

    @Test
    void shouldRefuseANumberThatIsNotOpenWithEbadfAsTheKernelDoes() throws Throwable {
        final int gone = FdProbe.dupAtLeast(lent, 0);
        Posix.close(gone);
        assertEquals(Errno.EBADF, errno(() -> sim.bindDevice(new HostDeviceRef("sim:nic0", gone))));
        assertEquals(0, sim.liveObjects());
        assertEquals(Errno.EBADF, sim.calls().getLast().errno());
        sim.bindDevice(new HostDeviceRef("sim:nic0", lent));     // the failed bind left nothing bound
        assertEquals(2, FdProbe.countOn(cdev));
    }
}
