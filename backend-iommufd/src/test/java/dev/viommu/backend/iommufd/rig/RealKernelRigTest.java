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
        final List<String> cmd = new ArrayList<>(List.of("bash", root.resolve("tools/rig/run-vm.sh").toString(),
                "--loglevel", "1", "--timeout", "300", "--", "/guest/java", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("surefire.test.class.path", System.getProperty("java.class.path")), InGuestChecks.class.getName()));
        final File log = File.createTempFile("rig-", ".out");
        final Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log).start();
        assertTrue(p.waitFor(400, TimeUnit.SECONDS), "rig VM timed out");
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
}
