package dev.viommu.backend.iommufd.rig;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Boots the real-kernel rig (tools/rig/run-vm.sh: Linux 7.3 with IOMMUFD/IOMMUFD_TEST/VFIO cdev under QEMU TCG,
 * intel-iommu + edu) and runs {@link InGuestChecks} in the guest with this module's classes over 9p. Asserts
 * every CHECK line. When the rig is not set up (no kernel in ~/.cache/viommu-rig) the test is reported
 * SKIPPED with the reason; set {@code -Dviommu.rig.required=true} (CI) to make that a failure.
 */
class RealKernelRigTest {
    static final List<String> EXPECTED = List.of("ioas-alloc", "bind", "get-hw-info", "vtd-decode",
            "nest-parent-eopnotsupp", "viommu-refused", "nested-refused", "dirty-tracking-eopnotsupp",
            "allow-iovas-attach-eaddrinuse", "attach", "allow-iovas", "map", "map-overlap-eexist",
            "region-info", "edu-id", "edu-dma-roundtrip", "unmap", "edu-dma-after-unmap-blocked",
            "unmap-nothing-enoent", "fault-queue-alloc", "teardown", "spi-capabilities", "spi-allow-iovas-attach",
            "spi-dirty-eopnotsupp", "spi-teardown", "mock-domain", "mock-hw-info", "mock-nesting-probe",
            "viommu-driver-data", "mock-nested-hwpt", "mock-attach-nested", "destroy-attached-ebusy", "invalidate-partial-entry-num",
            "invalidate-ok", "viommu-vdevice", "veventq-second-eexist", "attach-viommu-nested", "vevent-read",
            "viommu-invalidate", "iopf-read", "iopf-respond", "iopf-respond-again-einval", "mock-teardown",
            "dirty-tracking-without-flag-eopnotsupp", "mock-dirty-mark", "mock-dirty-bitmap", "dirty-bitmap-errors",
            "mock-dirty-teardown");

    @Test
    void shouldPassEveryCheckAgainstTheRealKernel() throws Exception {
        Path root = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        while (root != null && !Files.exists(root.resolve("tools/rig/run-vm.sh"))) root = root.getParent();
        final String cacheEnv = System.getenv("VIOMMU_RIG_CACHE");  // as tools/rig/lib.sh
        final Path cache = cacheEnv != null && !cacheEnv.isEmpty() ? Path.of(cacheEnv)
                : Path.of(System.getProperty("user.home"), ".cache/viommu-rig");
        final boolean kernel;
        try (Stream<Path> s = Files.exists(cache.resolve("kernel")) ? Files.list(cache.resolve("kernel")) : Stream.empty()) {
            kernel = s.anyMatch(p -> p.getFileName().toString().startsWith("bzImage"));
        }
        final String why = root == null ? "tools/rig/run-vm.sh not found"
                : !kernel ? "no rig kernel under " + cache + "/kernel (run tools/rig/setup.sh)" : null;
        if (why != null) {
            if (Boolean.getBoolean("viommu.rig.required")) fail("real-kernel rig required but not set up: " + why);
            Assumptions.abort("SKIPPED real-kernel rig: " + why);
        }
        // The guest sees the host's / over 9p, except the host's /tmp (the chroot has its own): a clone under /tmp
        // (as a CI checkout may be) would be invisible. Class directories and anything under /tmp are therefore
        // staged in the rig cache first, which the guest always sees.
        final Path stage = Files.createDirectories(cache.resolve("run")).resolve("cp-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        final String classPath = stageClassPath(System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")), stage);
        final List<String> cmd = new ArrayList<>(List.of("bash", root.resolve("tools/rig/run-vm.sh").toString(),
                "--loglevel", "1", "--timeout", "300", "--", "/guest/java", "--enable-native-access=ALL-UNNAMED",
                "-cp", classPath, InGuestChecks.class.getName()));
        final File log = File.createTempFile("rig-", ".out");
        final Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log).start();
        final boolean done;
        try {
            done = p.waitFor(400, TimeUnit.SECONDS);
        } finally {
            deleteTree(stage);
        }
        assertTrue(done, "rig VM timed out");
        final String out = Files.readString(log.toPath(), StandardCharsets.UTF_8);
        if (p.exitValue() == 126) {
            if (Boolean.getBoolean("viommu.rig.required")) fail("rig not set up (exit 126):\n" + out);
            Assumptions.abort("SKIPPED real-kernel rig: run-vm.sh says the rig is not set up (exit 126)");
        }
        System.out.println(out);
        final List<String> failed = new ArrayList<>();
        for (final String name : EXPECTED) {
            if (!out.contains("CHECK " + name + " OK")) failed.add(name);
        }
        assertTrue(failed.isEmpty(), "in-guest checks failed or missing: " + failed + "\n" + out);
        assertTrue(out.contains("RESULT PASS"), out);
        assertEquals(0, p.exitValue(), out);
    }

    /** Copies class directories, and any entry under /tmp, into {@code stage}; returns the class path to use. */
    private static String stageClassPath(final String classPath, final Path stage) throws java.io.IOException {
        final List<String> out = new ArrayList<>();
        int i = 0;
        for (String e : classPath.split(File.pathSeparator)) {
            if (e.isEmpty()) continue;
            final Path src = Path.of(e).toAbsolutePath();
            if (!Files.exists(src)) continue;
            if (Files.isDirectory(src) || src.startsWith("/tmp")) {
                final Path dst = stage.resolve((i++) + "-" + src.getFileName());
                copyTree(src, dst);
                out.add(dst.toString());
            } else {
                out.add(src.toString());
            }
        }
        return String.join(File.pathSeparator, out);
    }

    private static void copyTree(final Path src, final Path dst) throws java.io.IOException {
        if (!Files.isDirectory(src)) {
            Files.createDirectories(dst.getParent());
            Files.copy(src, dst);
            return;
        }
        try (Stream<Path> s = Files.walk(src)) {
            for (Path p : s.toList()) {
                final Path t = dst.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t);
            }
        }
    }

    private static void deleteTree(final Path p) {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path f : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(f);
        } catch (java.io.IOException ignored) {
            // a stale staging directory in the cache is harmless
        }
    }
}
