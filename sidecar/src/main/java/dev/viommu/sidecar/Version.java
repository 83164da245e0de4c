package dev.viommu.sidecar;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The sidecar's version, from the build. */
public final class Version {
    public static final String VERSION;
    public static final int MAJOR, MINOR, MICRO;

    static {
        String v = "0.0.0";
        try (var in = Version.class.getResourceAsStream("/viommu-version.properties")) {
            if (in != null) {
                final java.util.Properties p = new java.util.Properties();
                p.load(in);
                v = p.getProperty("version", v);
            }
        } catch (java.io.IOException ignored) {
            // keep the default
        }
        VERSION = v;
        final String[] parts = v.replaceAll("[^0-9.].*$", "").split("\\.");
        MAJOR = parts.length > 0 && !parts[0].isEmpty() ? Integer.parseInt(parts[0]) : 0;
        MINOR = parts.length > 1 ? Integer.parseInt(parts[1]) : 0;
        MICRO = parts.length > 2 ? Integer.parseInt(parts[2]) : 0;
    }

    private Version() {}

    /** The QMP greeting, {@code {"QMP": {"version": ..., "capabilities": []}}}, built without a JSON library. */
    public static String greeting() {
        // a StringBuilder, not '+': this runs before anything else in the process has bootstrapped indy string
        // concatenation, which costs a few milliseconds of bytecode spinning on the way to the greeting
        return new StringBuilder(160).append("{\"QMP\": {\"version\": {\"qemu\": {\"micro\": ").append(MICRO)
                .append(", \"minor\": ").append(MINOR).append(", \"major\": ").append(MAJOR)
                .append("}, \"package\": \"viommu ").append(VERSION.replace("\\", "").replace("\"", ""))
                .append("\"}, \"capabilities\": []}}").toString();
    }

    /** QMP's version object: {@code {"qemu": {"major", "minor", "micro"}, "package": "viommu X"}}. */
    public static ObjectNode qmpVersion(final ObjectMapper json) {
        final ObjectNode v = json.createObjectNode();
        v.putObject("qemu").put("major", MAJOR).put("minor", MINOR).put("micro", MICRO);
        v.put("package", "viommu " + VERSION);
        return v;
    }
}
