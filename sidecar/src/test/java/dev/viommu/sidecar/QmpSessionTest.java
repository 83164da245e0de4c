package dev.viommu.sidecar;

import com.fasterxml.jackson.databind.JsonNode;
import dev.viommu.core.client.QmpClient;
import dev.viommu.core.posix.Posix;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A QMP session over the real control socket. */
class QmpSessionTest {
    private SidecarFixture fx;

    @BeforeEach void start() throws Exception { fx = new SidecarFixture(); }

    @AfterEach void stop() throws Exception { fx.close(); }

    private static String errorClass(final JsonNode reply) { return reply.path("error").path("class").asText(); }

    private static String errorDesc(final JsonNode reply) { return reply.path("error").path("desc").asText(); }

    @Test
    void shouldGreetWithVersionAndCapabilities() throws Exception {
        try (QmpClient c = QmpClient.connect(fx.controlPath())) {
            final JsonNode qmp = c.greeting().get("QMP");
            assertTrue(qmp.path("version").path("qemu").has("major"));
            assertTrue(qmp.path("version").path("package").asText().startsWith("viommu "));
            assertTrue(qmp.path("capabilities").isArray());
        }
    }

    @Test
    void shouldCreateSocketsWithMode0600() throws Exception {
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(fx.control)));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(fx.dataPlane)));
    }

    @Test
    void shouldRequireCapabilitiesNegotiationFirst() throws Exception {
        try (QmpClient c = QmpClient.connect(fx.controlPath())) {
            final JsonNode r = c.call("query-version", Map.of());
            assertEquals("CommandNotFound", errorClass(r));
            assertEquals("Expecting capabilities negotiation with 'qmp_capabilities'", errorDesc(r));
            assertTrue(c.call("qmp_capabilities", Map.of()).has("return"));
            assertEquals("CommandNotFound", errorClass(c.call("qmp_capabilities", Map.of())));
            assertTrue(c.execute("query-version", Map.of()).path("qemu").has("minor"));
        }
    }

    @Test
    void shouldEchoAnyJsonId() throws Exception {
        try (QmpClient c = QmpClient.open(fx.controlPath())) {
            final JsonNode r = c.sendRaw("{\"execute\":\"query-version\",\"id\":{\"a\":[1,\"x\"]}}\n");
            assertEquals("x", r.path("id").path("a").get(1).asText());
            final JsonNode e = c.sendRaw("{\"execute\":\"nope\",\"id\":\"abc\"}");
            assertEquals("abc", e.path("id").asText());
        }
    }

    @Test
    void shouldAnswerEveryErrorClassWithoutDroppingTheConnection() throws Exception {
        try (QmpClient c = QmpClient.open(fx.controlPath())) {
            assertEquals("CommandNotFound", errorClass(c.call("no-such-command", Map.of())));
            assertTrue(errorDesc(c.sendRaw("{\"execute\": \"query-version\",,}\n")).startsWith("JSON parse error"));
            assertEquals("GenericError", errorClass(c.sendRaw("this is not json\n")));
            assertEquals("QMP input must be a JSON object", errorDesc(c.sendRaw("[1, 2]\n")));
            assertEquals("QMP input lacks member 'execute'", errorDesc(c.sendRaw("{\"arguments\": {}}\n")));
            assertEquals("QMP input member 'execute' must be a string", errorDesc(c.sendRaw("{\"execute\": 5}\n")));
            assertEquals("QMP input member 'arguments' must be an object", errorDesc(c.sendRaw("{\"execute\": \"quit\", \"arguments\": 3}\n")));
            assertEquals("Parameter 'fdname' is missing", errorDesc(c.call("getfd", Map.of())));
            assertEquals("Invalid parameter type for 'fdname', expected: string", errorDesc(c.call("getfd", Map.of("fdname", 7))));
            assertEquals("Parameter 'bogus' is unexpected", errorDesc(c.call("query-version", Map.of("bogus", 1))));
            assertEquals("DeviceNotFound", errorClass(c.call("device_del", Map.of("id", "ghost"))));
            assertEquals("GenericError", errorClass(c.call("device_add", Map.of("driver", "no-such-driver", "id", "x"))));
            // still alive
            assertTrue(c.execute("query-version", Map.of()).has("package"));
        }
    }

    @Test
    void shouldRejectAnOversizedTextAndRecover() throws Exception {
        try (QmpClient c = QmpClient.open(fx.controlPath())) {
            final String big = "{\"execute\":\"query-version\",\"id\":\"" + "x".repeat(100_000) + "\"}\n";
            final JsonNode r = c.sendRaw(big);
            assertTrue(errorDesc(r).contains("too large"), r.toString());
            assertTrue(c.execute("query-version", Map.of()).has("package"));
        }
    }

    @Test
    void shouldValidateDevicePropertiesByType() throws Exception {
        try (QmpClient c = QmpClient.open(fx.controlPath())) {
            final JsonNode unknown = c.call("device_add", Map.of("driver", "test-iommu", "id", "t0", "bogus", 1));
            assertEquals("Property 'test-iommu.bogus' not found", errorDesc(unknown));
            final JsonNode badType = c.call("device_add", Map.of("driver", "test-iommu", "id", "t0", "verbose", "maybe"));
            assertTrue(errorDesc(badType).contains("expects a bool"), badType.toString());
            final JsonNode range = c.call("device_add", Map.of("driver", "test-iommu", "id", "t0", "limit", 0));
            assertTrue(errorDesc(range).contains("out of range"), range.toString());
            c.execute("device_add", Map.of("driver", "test-iommu", "id", "t0", "verbose", "on", "limit", "0x2000"));
            assertEquals("GenericError", errorClass(c.call("device_add", Map.of("driver", "test-iommu", "id", "t0"))));
            final JsonNode list = c.execute("query-viommus", Map.of());
            assertEquals("t0", list.get(0).path("id").asText());
            assertEquals(1, list.get(0).path("handle").asInt());
            final JsonNode state = c.execute("query-viommu", Map.of("id", "t0"));
            assertEquals(0x7E57, state.path("state").path("registers").path("ID").asInt());
        }
    }

    @Test
    void shouldDeliverEventsToEveryNegotiatedClient() throws Exception {
        try (QmpClient a = QmpClient.open(fx.controlPath()); QmpClient b = QmpClient.open(fx.controlPath());
             QmpClient unnegotiated = QmpClient.connect(fx.controlPath())) {
            a.execute("device_add", Map.of("driver", "test-iommu", "id", "t0"));
            a.execute("device_del", Map.of("id", "t0"));
            final JsonNode ea = a.awaitEvent("DEVICE_DELETED", 5000);
            final JsonNode eb = b.awaitEvent("DEVICE_DELETED", 5000);
            assertEquals("t0", ea.path("data").path("device").asText());
            assertEquals(ea.path("timestamp"), eb.path("timestamp"));
            assertTrue(ea.path("timestamp").has("seconds") && ea.path("timestamp").has("microseconds"));
            assertThrows(java.io.IOException.class, () -> unnegotiated.awaitEvent("DEVICE_DELETED", 300));
        }
    }

    @Test
    void shouldTakeFdsPassedWithGetfdAndCloseThemWithClosefd() throws Exception {
        final int memfd = Posix.memfdCreate("ram", 1 << 20);
        try (QmpClient c = QmpClient.open(fx.controlPath())) {
            c.execute("getfd", Map.of("fdname", "ram"), memfd);
            assertTrue(fx.sidecar.machine().fds().peek("ram") >= 0);
            c.execute("closefd", Map.of("fdname", "ram"));
            assertEquals(-1, fx.sidecar.machine().fds().peek("ram"));
            assertEquals("File descriptor named 'ram' not found", errorDesc(c.call("closefd", Map.of("fdname", "ram"))));
            assertEquals("No file descriptor supplied via SCM_RIGHTS", errorDesc(c.call("getfd", Map.of("fdname", "x"))));
        } finally {
            Posix.closeQuietly(memfd);
        }
    }

    @Test
    void shouldCloseFdsThatNoCommandTakes() throws Exception {
        final int memfd = Posix.memfdCreate("stray", 4096);
        try (QmpClient c = QmpClient.open(fx.controlPath())) {
            final long before = openFds();
            for (int i = 0; i < 20; i++) c.execute("query-version", Map.of(), memfd);   // fds nobody asked for
            c.execute("query-version", Map.of());
            assertTrue(openFds() <= before + 1, "stray descriptors were leaked: " + before + " -> " + openFds());
        } finally {
            Posix.closeQuietly(memfd);
        }
    }

    private static long openFds() throws Exception {
        try (var s = Files.list(Path.of("/proc/self/fd"))) { return s.count(); }
    }

    @Test
    void shouldMapGuestRamFromAMemfdPassedWithGetfd() throws Exception {
        final int memfd = Posix.memfdCreate("ram", 2 << 20);
        try (QmpClient c = QmpClient.open(fx.controlPath())) {
            c.execute("getfd", Map.of("fdname", "ramfd"), memfd);
            c.execute("object-add", Map.of("qom-type", "memory-backend-memfd", "id", "ram0", "size", 2 << 20, "fd", "ramfd", "gpa", 0x4000_0000L));
            assertEquals(2 << 20, fx.sidecar.machine().memory().size());
            assertTrue(fx.sidecar.machine().memory().contains(0x4000_0000L, 2 << 20));
            final JsonNode overlap = c.call("object-add", Map.of("qom-type", "memory-backend-file", "id", "ram1", "size", 4096, "mem-path", "/dev/null", "gpa", 0x4000_0000L));
            assertEquals("GenericError", errorClass(overlap));
            assertEquals(1, c.execute("query-memory", Map.of()).size());
            c.execute("object-del", Map.of("id", "ram0"));
            assertEquals(0, fx.sidecar.machine().memory().size());
        } finally {
            Posix.closeQuietly(memfd);
        }
    }

    @Test
    void shouldExportMetricsInPrometheusFormat() throws Exception {
        try (QmpClient c = QmpClient.open(fx.controlPath())) {
            c.execute("device_add", Map.of("driver", "test-iommu", "id", "t0"));
            final String text = c.execute("query-metrics", Map.of()).path("text").asText();
            assertTrue(text.contains("viommu_mmio_accesses_total{device=\"t0\""), text);
        }
    }

    @Test
    void shouldListCommands() throws Exception {
        try (QmpClient c = QmpClient.open(fx.controlPath())) {
            final String names = c.execute("query-commands", Map.of()).toString();
            for (String n : new String[] {"qmp_capabilities", "query-version", "query-commands", "quit", "getfd", "closefd",
                    "object-add", "object-del", "device_add", "device_del", "device-add", "device-del",
                    "viommu-attach-device", "viommu-detach-device", "query-viommus", "query-viommu", "query-metrics"}) {
                assertTrue(names.contains("\"" + n + "\""), n);
            }
        }
    }

    @Test
    void shouldAttachAndDetachEndpointsWithChecks() throws Exception {
        try (QmpClient c = QmpClient.open(fx.controlPath())) {
            c.execute("device_add", Map.of("driver", "test-iommu", "id", "t0"));
            c.execute("viommu-attach-device", Map.of("viommu", "t0", "id", "ep0", "source-id", 0x10));
            assertEquals("GenericError", errorClass(c.call("viommu-attach-device", Map.of("viommu", "t0", "id", "ep1", "source-id", 0x10))));
            assertEquals("GenericError", errorClass(c.call("viommu-attach-device", Map.of("viommu", "t0", "id", "ep0", "source-id", 0x11))));
            assertEquals("Invalid parameter type for 'source-id', expected: uint64", errorDesc(c.call("viommu-attach-device", Map.of("viommu", "t0", "id", "ep2", "source-id", -1))));
            final JsonNode vfio = c.call("viommu-attach-device", Map.of("viommu", "t0", "id", "ep3", "kind", "vfio", "source-id", 0x20, "host", "/dev/vfio/devices/vfio0"));
            assertEquals("GenericError", errorClass(vfio));
            assertEquals("ep0", c.execute("query-viommus", Map.of()).get(0).path("endpoints").get(0).path("id").asText());
            c.execute("viommu-detach-device", Map.of("viommu", "t0", "id", "ep0"));
            assertEquals("GenericError", errorClass(c.call("viommu-detach-device", Map.of("viommu", "t0", "id", "ep0"))));
        }
    }

    @Test
    void shouldAnswerAFloodOfCommandsInOrderWithBoundedBuffering() throws Exception {
        try (java.nio.channels.SocketChannel raw = java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            raw.connect(java.net.UnixDomainSocketAddress.of(fx.control));
            final int n = 3000;
            final Thread writer = Thread.ofPlatform().start(() -> {
                try {
                    final StringBuilder sb = new StringBuilder("{\"execute\":\"qmp_capabilities\"}\n");
                    for (int i = 0; i < n; i++) sb.append("{\"execute\":\"query-version\",\"id\":").append(i).append("}\n");
                    final java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(sb.toString().getBytes());
                    while (b.hasRemaining()) raw.write(b);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            Thread.sleep(300);    // the client is not reading: the sidecar must stop reading it, not buffer without end
            final java.io.BufferedReader r = new java.io.BufferedReader(new java.io.InputStreamReader(java.nio.channels.Channels.newInputStream(raw)));
            r.readLine();          // greeting
            r.readLine();          // qmp_capabilities
            for (int i = 0; i < n; i++) {
                final JsonNode reply = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.readLine());
                assertEquals(i, reply.path("id").asInt());
                assertTrue(reply.has("return"));
            }
            writer.join(10_000);
        }
    }

    @Test
    void shouldStopOnQuitAndRemoveTheSockets() throws Exception {
        try (QmpClient c = QmpClient.open(fx.controlPath())) {
            c.execute("quit", Map.of());
        }
        fx.sidecar.awaitStop();
        assertFalse(Files.exists(fx.control));
        assertFalse(Files.exists(fx.dataPlane));
    }
}
