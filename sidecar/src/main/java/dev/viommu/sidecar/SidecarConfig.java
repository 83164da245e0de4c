package dev.viommu.sidecar;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * The sidecar's configuration file (JSON). Everything is optional; see {@code docs/configuration.md}.
 *
 * @param allowedUids uids besides the sidecar's own that may connect to either socket
 * @param host        the host backend: {@code {"backend": "auto"|"iommufd"|"sim"|"none", ...backend options}}
 * @param commands    QMP commands run at start-up, as if a client had sent them (for example {@code device_add})
 */
@JsonIgnoreProperties(ignoreUnknown = false)
public record SidecarConfig(@JsonProperty("allowed-uids") List<Integer> allowedUids,
                            @JsonProperty("host") Map<String, Object> host,
                            @JsonProperty("commands") List<Map<String, Object>> commands) {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    public SidecarConfig {
        allowedUids = allowedUids == null ? List.of() : List.copyOf(allowedUids);
        host = host == null ? Map.of("backend", "auto") : Map.copyOf(host);
        commands = commands == null ? List.of() : List.copyOf(commands);
    }

    public static SidecarConfig read(final Path path) throws IOException {
        try (InputStream in = Files.newInputStream(path)) {
            return JSON.readValue(in, SidecarConfig.class);
        }
    }

    /** The built-in default: the simulated host (or iommufd where /dev/iommu exists), nothing pre-created. */
    public static SidecarConfig defaults() {
        try (InputStream in = SidecarConfig.class.getResourceAsStream("/default-config.json")) {
            return JSON.readValue(in, SidecarConfig.class);
        } catch (IOException e) {
            throw new IllegalStateException("built-in configuration is unreadable", e);
        }
    }

    public String backend() { return String.valueOf(host.getOrDefault("backend", "auto")); }
}
