package dev.viommu.sidecar;

import com.fasterxml.jackson.databind.JsonNode;
import dev.viommu.core.posix.Posix;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static dev.viommu.sidecar.QmpFuzzer.assertError;
import static dev.viommu.sidecar.QmpFuzzer.assertErrorDesc;
import static dev.viommu.sidecar.QmpFuzzer.assertReturn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Who closes a passthrough endpoint's descriptor (docs/qmp.md, "File descriptors"; Endpoint's Javadoc), over the
 * real control socket with the simulated host backend: the sidecar owns a {@code host-fd} from the moment it takes
 * it from the table until the endpoint is gone, and closes it exactly once; the simulated host, when a model binds
 * the device (virtio-iommu does at attach), holds a duplicate of its own and closes only that. Each descriptor is
 * open on a file of the test's own, so the links to that file count exactly its copies; after a close, a sentinel
 * file is opened on the freed number, and must survive everything that follows (a second close would take it).
 */
class PassthroughDescriptorOwnershipTest {
    /** Every model that accepts vfio endpoints. */
    static final List<String> DRIVERS = List.of("intel-iommu", "arm-smmuv3", "virtio-iommu-pci", "virtio-iommu-device");

    enum Ending { DETACH, DEVICE_DEL, SHUTDOWN }

    private SidecarFixture fx;
    private RawQmpClient c;
    private Path tmp;

    @BeforeEach
    void start() throws Exception {
        fx = new SidecarFixture(new SidecarConfig(List.of(), Map.of("backend", "sim"), List.of()));
        c = RawQmpClient.negotiated(fx);
        tmp = Files.createTempDirectory("viommu-ownership");
    }

    @AfterEach
    void stop() throws Exception {
        try {
            c.close();
            fx.close();
        } finally {
            try (var s = Files.list(tmp)) {
                for (Path p : s.toList()) Files.deleteIfExists(p);
            }
            Files.deleteIfExists(tmp);
        }
    }

    static Stream<String> drivers() { return DRIVERS.stream(); }

    static Stream<Arguments> driversAndEndings() {
        final List<Arguments> out = new ArrayList<>();
        for (String d : DRIVERS) for (Ending e : Ending.values()) out.add(Arguments.of(d, e));
        return out.stream();
    }

    // ---- the paths ----------------------------------------------------------------------------------------

    @ParameterizedTest(name = "{0}, then {1}")
    @MethodSource("driversAndEndings")
    @Timeout(20)
    void closesAnAttachedEndpointsDescriptorExactlyOnce(final String driver, final Ending ending) throws Throwable {
        final Map<Integer, String> baseline = warmUp(driver);
        assertReturn(deviceAdd(driver, "v0"));
        final Path cdev = file("vfio-cdev");
        final int n = getfd("vfio", cdev);
        assertReturn(attach("v0", "p0", 16, "vfio"));
        assertEquals(cdev.toString(), OpenFds.target(n), "the endpoint holds the descriptor that was sent");
        // virtio-iommu binds at attach, and the simulated host keeps a duplicate of its own; VT-d and SMMUv3 never bind
        assertEquals(binds(driver) ? 2 : 1, OpenFds.numbersOn(cdev.toString()).size());

        switch (ending) {
            case DETACH -> assertReturn(call("viommu-detach-device", "{\"viommu\":\"v0\",\"id\":\"p0\"}"));
            case DEVICE_DEL -> assertReturn(call("device_del", "{\"id\":\"v0\"}"));
            case SHUTDOWN -> {
                c.close();
                fx.sidecar.close();
            }
        }
        // before: VT-d and SMMUv3 (any backend) and virtio-iommu on the sim never closed it: one leaked per endpoint
        assertEquals(List.of(), OpenFds.numbersOn(cdev.toString()), "the sidecar's descriptor and the sim's duplicate are closed");
        if (ending != Ending.SHUTDOWN) OpenFds.awaitBaseline(baseline, 3000);

        final Path other = file("sentinel");
        final int sentinel = OpenFds.openAtLeast(other, n);
        try {
            assertEquals(n, sentinel, "the sentinel sits on the endpoint's old number");
            if (ending == Ending.DETACH) {
                assertErrorDesc(call("viommu-detach-device", "{\"viommu\":\"v0\",\"id\":\"p0\"}"), "GenericError", "endpoint 'p0' is not attached");
                assertReturn(call("device_del", "{\"id\":\"v0\"}"));
            }
            c.close();
            fx.sidecar.close();
            assertEquals(other.toString(), OpenFds.target(sentinel), "nothing closed the reused number a second time");
        } finally {
            Posix.close(sentinel);      // throws EBADF if anything had closed it
        }
    }

    @ParameterizedTest(name = "{0} refuses source-id {1}")
    @CsvSource({
            "intel-iommu, 65536, source id 65536 is not a PCI requester ID",
            "arm-smmuv3, 65536, StreamID 65536 exceeds sidsize 16"})
    @Timeout(20)
    void closesTheDescriptorOfAnEndpointTheModelRefusesOnce(final String driver, final long sourceId, final String why) throws Throwable {
        final Map<Integer, String> baseline = warmUp(driver);
        assertReturn(deviceAdd(driver, "v0"));
        final Path cdev = file("vfio-cdev");
        final int n = getfd("vfio", cdev);
        assertErrorDesc(attach("v0", "p0", sourceId, "vfio"), "GenericError", why);
        assertEquals(List.of(), OpenFds.numbersOn(cdev.toString()), "taken from the table, closed by the refused command");
        assertErrorDesc(call("closefd", "{\"fdname\":\"vfio\"}"), "GenericError", "File descriptor named 'vfio' not found");
        OpenFds.awaitBaseline(baseline, 3000);

        final Path other = file("sentinel");
        final int sentinel = OpenFds.openAtLeast(other, n);
        try {
            assertEquals(n, sentinel);
            assertReturn(call("device_del", "{\"id\":\"v0\"}"));
            c.close();
            fx.sidecar.close();
            assertEquals(other.toString(), OpenFds.target(sentinel));
        } finally {
            Posix.close(sentinel);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("drivers")
    @Timeout(20)
    void aSecondAttachOfTheSameEndpointLeavesEachDescriptorWithItsOwner(final String driver) throws Throwable {
        final Map<Integer, String> baseline = warmUp(driver);
        assertReturn(deviceAdd(driver, "v0"));
        final Path first = file("vfio-first"), second = file("vfio-second");
        getfd("a", first);
        assertReturn(attach("v0", "p0", 16, "a"));
        final int n = getfd("b", second);
        assertErrorDesc(attach("v0", "p0", 17, "b"), "GenericError", "endpoint 'p0' is already attached");
        assertErrorDesc(attach("v0", "p1", 16, "b"), "GenericError", "source-id 16 is already used by endpoint 'p0'");
        assertEquals(List.of(n), OpenFds.numbersOn(second.toString()), "refused before it was taken: still the table's");
        assertEquals(binds(driver) ? 2 : 1, OpenFds.numbersOn(first.toString()).size(), "the attached endpoint's is untouched");
        assertReturn(call("closefd", "{\"fdname\":\"b\"}"));
        assertReturn(call("viommu-detach-device", "{\"viommu\":\"v0\",\"id\":\"p0\"}"));
        assertEquals(List.of(), OpenFds.numbersOn(first.toString()));
        assertReturn(call("device_del", "{\"id\":\"v0\"}"));
        OpenFds.awaitBaseline(baseline, 3000);
    }

    @Test
    @Timeout(20)
    void refusesAnIommufdObjectWhoseDescriptorIsNotDevIommuAndLeavesItInTheTable() throws Throwable {
        final List<Integer> ours = new ArrayList<>();
        try {
            ours.add(Posix.memfdCreate("not-an-iommufd", 4096));
            ours.add(OpenFds.eventfd());
            ours.add(Posix.open("/dev/null", Posix.O_RDWR | Posix.O_CLOEXEC));
            refuseIommufd(ours.get(0), "not a character device");        // also warms the iommufd provider up
            final Map<Integer, String> baseline = OpenFds.snapshot();
            refuseIommufd(ours.get(0), "not a character device");
            refuseIommufd(ours.get(1), "not a character device");
            refuseIommufd(ours.get(2), Files.exists(Path.of("/dev/iommu")) ? "character device 1:3 is not /dev/iommu" : "character device 1:3 does not answer IOMMU_OPTION");
            OpenFds.awaitBaseline(baseline, 3000);
        } finally {
            for (int fd : ours) Posix.close(fd);
        }
    }

    /**
     * Sends {@code fd} (a duplicate arrives) by getfd, asks for an iommufd object on it, and checks the refusal:
     * no object, and the descriptor still in the table, open on the same file, until closefd closes it.
     */
    private void refuseIommufd(final int fd, final String why) throws Exception {
        final String what = OpenFds.target(fd);
        final List<Integer> before = OpenFds.numbersOn(what);
        assertReturn(call("getfd", "{\"fdname\":\"io\"}", fd));
        final List<Integer> sent = new ArrayList<>(OpenFds.numbersOn(what));
        sent.removeAll(before);
        assertEquals(1, sent.size(), "the sidecar's copy of " + what);
        final JsonNode r = call("object-add", "{\"qom-type\":\"iommufd\",\"id\":\"io0\",\"fd\":\"io\"}");
        assertErrorDesc(r, "GenericError", "iommufd: iommufd fd " + sent.getFirst());
        assertTrue(r.path("error").path("desc").asText().contains(why), r.toString());
        assertEquals(Map.of(), fx.sidecar.machine().hostObjects());
        assertEquals("sim", fx.sidecar.machine().host().kind(), "the host backend is unchanged");
        assertEquals(Map.of("io", sent.getFirst()), fx.sidecar.machine().fds().snapshot(), "still in the table");
        assertEquals(what, OpenFds.target(sent.getFirst()));
        assertReturn(call("closefd", "{\"fdname\":\"io\"}"));
        assertNotEquals(what, OpenFds.target(sent.getFirst()));
    }

    // ---- driving ---------------------------------------------------------------------------------------------

    private static boolean binds(final String driver) { return driver.startsWith("virtio-iommu"); }

    private JsonNode call(final String execute, final String arguments, final int... fds) throws Exception {
        c.write("{\"execute\":\"" + execute + "\",\"arguments\":" + arguments + "}", fds);
        return c.reply(5000);
    }

    private JsonNode deviceAdd(final String driver, final String id) throws Exception {
        return call("device_add", "{\"driver\":\"" + driver + "\",\"id\":\"" + id + "\"}");
    }

    private JsonNode attach(final String viommu, final String id, final long sourceId, final String fdname) throws Exception {
        return call("viommu-attach-device", "{\"viommu\":\"" + viommu + "\",\"id\":\"" + id + "\",\"source-id\":" + sourceId
                + ",\"kind\":\"vfio\",\"host-fd\":\"" + fdname + "\"}");
    }

    /** A file of the test's own: the descriptors open on it are exactly the copies of one descriptor. */
    private Path file(final String name) throws Exception {
        return Files.createFile(tmp.resolve(name));
    }

    /**
     * Sends a descriptor open on {@code file} by getfd and closes the test's copy, so the sidecar's is the only
     * one; returns its number in this process (the sidecar runs here).
     */
    private int getfd(final String fdname, final Path file) throws Exception {
        final int fd = Posix.open(file.toString(), Posix.O_RDWR | Posix.O_CLOEXEC);
        try {
            assertReturn(call("getfd", "{\"fdname\":\"" + fdname + "\"}", fd));
        } finally {
            Posix.close(fd);
        }
        final List<Integer> n = OpenFds.numbersOn(file.toString());
        assertEquals(1, n.size(), "the sidecar holds one descriptor on " + file + ": " + n);
        return n.getFirst();
    }

    /**
     * One full round (device_add, getfd, attach, detach, device_del) on a throwaway device, so that what the JVM
     * opens once (the plugins' classes, the sim's first bind) is open before the baseline is taken.
     */
    private Map<Integer, String> warmUp(final String driver) throws Exception {
        assertReturn(deviceAdd(driver, "warm"));
        getfd("warm", file("vfio-warm"));
        assertReturn(attach("warm", "w0", 8, "warm"));
        assertReturn(call("viommu-detach-device", "{\"viommu\":\"warm\",\"id\":\"w0\"}"));
        assertReturn(call("device_del", "{\"id\":\"warm\"}"));
        assertError(call("closefd", "{\"fdname\":\"warm\"}"), "GenericError");
        Thread.sleep(50);
        return OpenFds.snapshot();
    }
}
