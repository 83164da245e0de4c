package dev.viommu.sidecar;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Starts an in-process sidecar on sockets in a temporary directory. */
final class SidecarFixture implements AutoCloseable {
    final Path dir;
    final Path control, dataPlane;
    final Sidecar sidecar;

    SidecarFixture() throws Exception {
        this(new SidecarConfig(List.of(), Map.of("backend", "none"), List.of()));
    }

    SidecarFixture(final SidecarConfig cfg) throws Exception {
        dir = Files.createTempDirectory("viommu-test");
        control = dir.resolve("qmp.sock");
        dataPlane = dir.resolve("dp.sock");
        sidecar = new Sidecar(cfg, control, dataPlane);
        sidecar.start();
    }

    String controlPath() { return control.toString(); }

    @Override
    public void close() throws Exception {
        sidecar.close();
        try (var s = Files.list(dir)) {
            for (Path p : s.toList()) Files.deleteIfExists(p);
        }
        Files.deleteIfExists(dir);
    }
}
