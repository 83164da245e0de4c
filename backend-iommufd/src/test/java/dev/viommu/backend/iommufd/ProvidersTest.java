package dev.viommu.backend.iommufd;

import dev.viommu.backend.sim.SimHostBackend;
import dev.viommu.core.host.HostBackend;
import dev.viommu.core.host.HostBackendProvider;
import dev.viommu.core.mem.GuestMemory;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

class ProvidersTest {
    @Test
    void shouldRegisterSimAndIommufdProvidersByKind() throws Exception {
        final Map<String, HostBackendProvider> byKind = ServiceLoader.load(HostBackendProvider.class).stream()
                .map(ServiceLoader.Provider::get).collect(Collectors.toMap(HostBackendProvider::kind, p -> p));
        assertTrue(byKind.get("sim").available());
        assertEquals(Files.exists(Path.of("/dev/iommu")), byKind.get("iommufd").available());
        try (HostBackend b = byKind.get("sim").create(Map.of(), () -> GuestMemory.anonymous(0, 1 << 20))) {
            assertEquals("sim", b.kind());
            assertInstanceOf(SimHostBackend.class, b);
        }
    }

    @Test
    void shouldReportABadSimConfigAsEinval() {
        final HostBackendProvider sim = new dev.viommu.backend.sim.SimHostBackendProvider();
        assertEquals(22, assertThrows(dev.viommu.core.host.HostException.class, () -> sim.create(Map.of("iommus",
                java.util.List.of(Map.of("name", "x", "type", "amd"))), GuestMemory::empty)).errno());
    }
}
