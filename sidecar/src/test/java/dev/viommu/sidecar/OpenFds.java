package dev.viommu.sidecar;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * The descriptors open in this process (the fixture's sidecar runs in it), by number and what they point at, so
 * a test can show which ones leaked.
 */
final class OpenFds {
    private OpenFds() {}

    static Map<Integer, String> snapshot() throws IOException {
        final Map<Integer, String> m = new TreeMap<>();
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            for (Path p : s.toList()) {
                try {
                    final String target = Files.readSymbolicLink(p).toString();
                    if (target.matches("/proc/\\d+/fd")) continue;      // this listing's own descriptors
                    m.put(Integer.parseInt(p.getFileName().toString()), target);
                } catch (IOException e) {
                    // closed while listing (the directory's own descriptor, or one another thread closed)
                }
            }
        }
        return m;
    }

    /**
     * Waits up to {@code millis} for the open descriptors to match {@code baseline} (connections close and
     * commands finish asynchronously); fails naming the extra and missing ones.
     */
    static void awaitBaseline(final Map<Integer, String> baseline, final long millis) throws Exception {
        final long deadline = System.currentTimeMillis() + millis;
        Map<Integer, String> now = snapshot();
        while (!now.keySet().equals(baseline.keySet()) && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
            now = snapshot();
        }
        if (now.keySet().equals(baseline.keySet())) return;
        final Map<Integer, String> extra = new TreeMap<>(now), missing = new TreeMap<>(baseline);
        extra.keySet().removeAll(baseline.keySet());
        missing.keySet().removeAll(now.keySet());
        throw new AssertionError("descriptors leaked: " + extra + (missing.isEmpty() ? "" : "; closed: " + missing));
    }
}
