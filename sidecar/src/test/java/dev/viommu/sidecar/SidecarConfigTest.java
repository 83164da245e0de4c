package dev.viommu.sidecar;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The configuration file's mapping: every key, the defaults, and an error naming what is wrong. */
class SidecarConfigTest {
    private static SidecarConfig parse(final String json) throws IOException {
        return SidecarConfig.parse(new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8)));
    }

    private static String error(final String json) {
        return assertThrows(IOException.class, () -> parse(json)).getMessage();
    }

    @Test
    void mapsEveryKeyAsJacksonsUntypedBindingWould() throws IOException {
        final SidecarConfig c = parse("""
                {"allowed-uids": [1000, 0],
                 "host": {"backend": "sim", "iommus": 2, "big": 12345678901, "ratio": 0.5, "on": true, "list": [1, "x"]},
                 "commands": [{"execute": "device_add", "arguments": {"driver": "intel-iommu", "id": "vtd0"}}]}
                """);
        assertEquals(List.of(1000, 0), c.allowedUids());
        assertEquals(Map.of("backend", "sim", "iommus", 2, "big", 12345678901L, "ratio", 0.5, "on", true, "list", List.of(1, "x")), c.host());
        assertEquals("sim", c.backend());
        assertEquals(List.of(Map.of("execute", "device_add", "arguments", Map.of("driver", "intel-iommu", "id", "vtd0"))), c.commands());
    }

    @Test
    void missingOrNullKeysTakeTheDefaults() throws IOException {
        final SidecarConfig c = parse("{\"host\": null}");
        assertEquals(List.of(), c.allowedUids());
        assertEquals("auto", c.backend());
        assertEquals(List.of(), c.commands());
        assertTrue(SidecarConfig.defaults().host().containsKey("backend"));
    }

    @Test
    void badInputIsRefusedWithItsName() {
        assertTrue(error("{\"no-such-key\": 1}").contains("no-such-key"));
        assertTrue(error("[1]").contains("JSON object"));
        assertTrue(error("{\"allowed-uids\": [\"root\"]}").contains("\"root\""));
        assertTrue(error("{\"allowed-uids\": [-1]}").contains("-1"));
        assertTrue(error("{\"allowed-uids\": 5}").contains("array"));
        assertTrue(error("{\"host\": []}").contains("object"));
        assertTrue(error("{\"host\": {\"backend\": null}}").contains("backend"));
        assertTrue(error("{\"commands\": [1]}").contains("QMP command"));
        assertThrows(IOException.class, () -> parse("{\"host\": "));
    }
}
