package dev.viommu.backend.sim;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.viommu.core.host.HostBackend;
import dev.viommu.core.host.HostBackendProvider;
import dev.viommu.core.host.HostDeviceRef;
import dev.viommu.core.host.HwInfo;
import dev.viommu.core.host.IovaRange;
import dev.viommu.core.host.ObjectId;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.posix.Errno;
import dev.viommu.core.translate.AccessType;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

import static dev.viommu.backend.sim.SimFixture.errno;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The sidecar's built-in configuration (sidecar/src/main/resources/default-config.json) must give a working
 * simulated host: its {@code "host"} section is parsed with Jackson exactly as the sidecar does, {@code "backend"}
 * removed (Sidecar.createHost), and handed to the {@code sim} provider found by the ServiceLoader.
 */
class SidecarDefaultConfigTest {
    static final Path DEFAULT_CONFIG = Path.of("../sidecar/src/main/resources/default-config.json");
    static final long RAM = 0x4000_0000L;

    @SuppressWarnings("unchecked")
    static Map<String, Object> hostSection() throws Exception {
        final Path file = Path.of(System.getProperty("user.dir")).resolve(DEFAULT_CONFIG).normalize();
        assertTrue(Files.isRegularFile(file), "missing " + file);
        final Map<String, Object> root = new ObjectMapper().readValue(file.toFile(), new TypeReference<>() {});
        final Map<String, Object> host = new LinkedHashMap<>((Map<String, Object>) root.get("host"));
        host.remove("backend");
        return host;
    }

    static HostBackendProvider simProvider() {
        return ServiceLoader.load(HostBackendProvider.class).stream().map(ServiceLoader.Provider::get)
                .filter(p -> p.kind().equals("sim")).findFirst().orElseThrow();
    }

    @Test
    void shouldCreateAWorkingSimFromTheSidecarsBuiltInHostSection() throws Exception {
        final Map<String, Object> host = hostSection();
        assertInstanceOf(String.class, ((Map<?, ?>) ((List<?>) host.get("reserved")).getFirst()).get("start"),
                "the file writes the reserved range in hex strings; this test is about them");
        final GuestMemory ram = GuestMemory.anonymous(RAM, 1 << 20);
        try (HostBackend backend = simProvider().create(host, () -> ram)) {
            final SimHostBackend sim = assertInstanceOf(SimHostBackend.class, backend);
            assertEquals(List.of("dmar0", "smmu0"), sim.config().iommus().stream().map(SimConfig.Iommu::name).toList());
            assertEquals(List.of(new IovaRange(0xFEE0_0000L, 0xFEEF_FFFFL)), sim.config().reserved());

            final ObjectId.Device nic = backend.bindDevice(HostDeviceRef.path("sim:nic0"));
            final ObjectId.Device gpu = backend.bindDevice(HostDeviceRef.path("sim:gpu0"));
            assertInstanceOf(HwInfo.Vtd.class, backend.hwInfo(nic));
            assertInstanceOf(HwInfo.SmmuV3.class, backend.hwInfo(gpu));
            assertTrue(backend.capabilities(nic).nesting());
            assertTrue(backend.capabilities(gpu).nesting(), "smmu0 is configured with nesting");
            assertEquals(Errno.ENODEV, errno(() -> backend.bindDevice(HostDeviceRef.path("sim:unknown"))),
                    "devices are listed, so no automatic devices");

            final ObjectId.Ioas ioas = backend.allocIoas();
            assertFalse(backend.iovaRanges(ioas).stream().anyMatch(r -> r.contains(0xFEE0_0000L, 1)),
                    "the host-wide reserved range from the hex strings");
            assertEquals(Errno.EINVAL, errno(() -> backend.map(ioas, 0xFEE0_0000L, RAM, 0x1000, AccessType.READ)));
            backend.attach(gpu, -1, ioas);
            backend.map(ioas, 0x10_0000, RAM, 0x1000, AccessType.READ | AccessType.WRITE);
            ram.write(RAM + 0x10, new byte[] {42}, 0, 1);
            final byte[] buf = new byte[1];
            assertEquals(SimHostBackend.DmaStatus.OK, sim.dma(gpu, -1, 0x10_0010, buf, false));
            assertEquals(42, buf[0]);
        }
    }
}
