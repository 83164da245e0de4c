package dev.viommu.sidecar;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The sidecar's configuration file (JSON). Everything is optional; see {@code docs/configuration.md}.
 *
 * @param allowedUids uids besides the sidecar's own that may connect to either socket
 * @param host        the host backend: {@code {"backend": "auto"|"iommufd"|"sim"|"none", ...backend options}}
 * @param commands    QMP commands run at start-up, as if a client had sent them (for example {@code device_add})
 */
public record SidecarConfig(List<Integer> allowedUids, Map<String, Object> host, List<Map<String, Object>> commands) {
    private static final Set<String> KEYS = Set.of("allowed-uids", "host", "commands");

    public SidecarConfig {
        allowedUids = allowedUids == null ? List.of() : List.copyOf(allowedUids);
        host = host == null ? Map.of("backend", "auto") : Map.copyOf(host);
        commands = commands == null ? List.of() : List.copyOf(commands);
    }

    public static SidecarConfig read(final Path path) throws IOException {
        try (InputStream in = Files.newInputStream(path)) {
            return parse(in);
        }
    }

    /** The built-in default: the simulated host (or iommufd where /dev/iommu exists), nothing pre-created. */
    public static SidecarConfig defaults() {
        try (InputStream in = SidecarConfig.class.getResourceAsStream("/default-config.json")) {
            return parse(in);
        } catch (IOException e) {
            throw new IllegalStateException("built-in configuration is unreadable", e);
        }
    }

    /**
     * Parses the JSON text into a tree and maps it by hand. Jackson's record binding would do the same, but on the
     * way to the first command's reply its introspection cost a few hundred milliseconds of a cold start; the
     * tree parser is loaded for the commands anyway.
     */
    static SidecarConfig parse(final InputStream in) throws IOException {
        final JsonNode root = Json.MAPPER.readTree(in);
        if (root == null || !root.isObject()) throw new IOException("the configuration must be a JSON object");
        for (String k : (Iterable<String>) root::fieldNames) {
            if (!KEYS.contains(k)) throw new IOException("unknown key '" + k + "' (known: allowed-uids, host, commands)");
        }
        final List<Integer> uids = new ArrayList<>();
        final JsonNode u = root.path("allowed-uids");
        if (!u.isMissingNode() && !u.isNull()) {
            if (!u.isArray()) throw new IOException("allowed-uids must be an array of uids");
            for (JsonNode n : u) {
                if (!n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() < 0) {
                    throw new IOException("allowed-uids: " + n + " is not a uid");
                }
                uids.add(n.intValue());
            }
        }
        final JsonNode h = root.path("host");
        Map<String, Object> host = null;
        if (!h.isMissingNode() && !h.isNull()) {
            if (!h.isObject()) throw new IOException("host must be an object");
            host = object(h);
            for (Map.Entry<String, Object> e : host.entrySet()) {
                if (e.getValue() == null) throw new IOException("host: '" + e.getKey() + "' must not be null");
            }
        }
        final List<Map<String, Object>> commands = new ArrayList<>();
        final JsonNode c = root.path("commands");
        if (!c.isMissingNode() && !c.isNull()) {
            if (!c.isArray()) throw new IOException("commands must be an array of QMP commands");
            for (JsonNode n : c) {
                if (!n.isObject()) throw new IOException("commands: " + n + " is not a QMP command object");
                commands.add(object(n));
            }
        }
        return new SidecarConfig(uids, host, commands);
    }

    private static Map<String, Object> object(final JsonNode n) {
        final Map<String, Object> m = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : n.properties()) m.put(e.getKey(), value(e.getValue()));
        return m;
    }

    /** A JSON value as Jackson's untyped binding gives it: Map, List, String, Integer/Long/BigInteger/Double, Boolean, null. */
    private static Object value(final JsonNode n) {
        if (n.isObject()) return object(n);
        if (n.isArray()) {
            final List<Object> l = new ArrayList<>();
            for (JsonNode e : n) l.add(value(e));
            return l;
        }
        if (n.isTextual()) return n.textValue();
        if (n.isNumber()) return n.numberValue();
        if (n.isBoolean()) return n.booleanValue();
        return null;
    }

    private static final class Json {
        static final ObjectMapper MAPPER = new ObjectMapper();
    }

    public String backend() { return String.valueOf(host.getOrDefault("backend", "auto")); }
}
