package dev.viommu.guests;

import com.fasterxml.jackson.databind.JsonNode;
import dev.viommu.core.client.DataPlaneClient;
import dev.viommu.core.client.QmpClient;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The sidecar as a separate process: start, serve, and stop cleanly on quit and on SIGTERM. */
class SidecarLifecycleTest {

    @Test
    void shouldStopCleanlyOnSigterm() throws Exception {
        try (SidecarProcess s = SidecarProcess.start(null)) {
            try (QmpClient q = QmpClient.open(s.control().toString());
                 DataPlaneClient dp = DataPlaneClient.connect(s.dataPlane(), null)) {
                assertEquals(5, dp.ping(5));
                assertTrue(q.execute("query-version", Map.of()).has("package"));
            }
            assertEquals(0, s.terminate(20), s.log());
            assertFalse(Files.exists(s.control()), "the control socket was removed");
            assertFalse(Files.exists(s.dataPlane()), "the data-plane socket was removed");
            assertTrue(s.log().contains("shutting down"), s.log());
        }
    }

    /**
     * SIGTERM right after the greeting, while the sidecar is still starting (the early greeter answers before Netty
     * and the plugins are loaded): still a clean stop, exit 0, no socket file left.
     */
    @Test
    void shouldStopCleanlyOnSigtermWhileStillStarting() throws Exception {
        final Path dir = Files.createTempDirectory("viommu-early");
        final Path control = dir.resolve("c"), log = dir.resolve("log");
        try {
            final Process p = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(),
                    "--enable-native-access=ALL-UNNAMED", "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED",
                    "-cp", System.getProperty("java.class.path"), SidecarProcess.MAIN_CLASS,
                    "--control", control.toString(), "--dataplane", dir.resolve("d").toString())
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!Files.exists(control)) {
                assertTrue(p.isAlive() && System.nanoTime() < deadline, "no control socket");
                Thread.sleep(1);
            }
            try (java.nio.channels.SocketChannel c = java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
                c.connect(java.net.UnixDomainSocketAddress.of(control));
                final java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(512);
                while (b.position() == 0 || b.get(b.position() - 1) != '\n') assertTrue(c.read(b) >= 0, "closed before the greeting");
                assertTrue(new String(b.array(), 0, b.position()).startsWith("{\"QMP\""));
            }
            p.destroy();                                            // SIGTERM
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), Files.readString(log));
            assertFalse(Files.exists(control), "the control socket was removed");
            assertFalse(Files.exists(dir.resolve("d")), "no data-plane socket left");
        } finally {
            try (var s = Files.list(dir)) { for (Path f : s.toList()) Files.deleteIfExists(f); }
            Files.deleteIfExists(dir);
        }
    }

    @Test
    void shouldExitZeroAfterQuit() throws Exception {
        try (SidecarProcess s = SidecarProcess.start(null)) {
            try (QmpClient q = QmpClient.open(s.control().toString())) {
                q.execute("quit", Map.of());
            }
            assertTrue(s.process().waitFor(20, TimeUnit.SECONDS), s.log());
            assertEquals(0, s.process().exitValue(), s.log());
        }
    }

    @Test
    void shouldListEveryDevicePlugin() throws Exception {
        try (SidecarProcess s = SidecarProcess.start(null); QmpClient q = QmpClient.open(s.control().toString())) {
            final JsonNode drivers = q.execute("query-viommu-drivers", Map.of());
            final List<String> names = new java.util.ArrayList<>();
            drivers.forEach(d -> names.add(d.path("name").asText()));
            assertTrue(names.contains("intel-iommu"), names.toString());
            assertTrue(names.contains("arm-smmuv3"), names.toString());
            assertTrue(names.stream().anyMatch(n -> n.startsWith("virtio-iommu")), names.toString());
        }
    }

    @Test
    void shouldRunConfigurationCommandsAtStartup() throws Exception {
        final Path cfg = Files.createTempFile("viommu-cfg", ".json");
        Files.writeString(cfg, """
                {"host": {"backend": "none"},
                 "commands": [{"execute": "device_add", "arguments": {"driver": "intel-iommu", "id": "vtd0"}}]}
                """);
        try (SidecarProcess s = SidecarProcess.start(cfg); QmpClient q = QmpClient.open(s.control().toString())) {
            assertEquals("vtd0", q.execute("query-viommus", Map.of()).get(0).path("id").asText());
        } finally {
            Files.deleteIfExists(cfg);
        }
    }

    @Test
    void shouldFailWithExitCode2OnABadConfiguration() throws Exception {
        final Path cfg = Files.createTempFile("viommu-cfg", ".json");
        Files.writeString(cfg, "{\"commands\": [{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"nope\", \"id\": \"x\"}}]}");
        final Path dir = Files.createTempDirectory("viommu-bad");
        try {
            final Process p = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(),
                    "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), SidecarProcess.MAIN_CLASS,
                    "--control", dir.resolve("c").toString(), "--dataplane", dir.resolve("d").toString(), "--config", cfg.toString())
                    .redirectErrorStream(true).start();
            final String out = new String(p.getInputStream().readAllBytes());
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(2, p.exitValue(), out);
            assertTrue(out.contains("nope"), out);
        } finally {
            Files.deleteIfExists(cfg);
            try (var s = Files.list(dir)) { for (Path f : s.toList()) Files.deleteIfExists(f); }
            Files.deleteIfExists(dir);
        }
    }
}
