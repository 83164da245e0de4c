package dev.viommu.backend.iommufd.uapi;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Compiles tools/rig/uapi-dump against the real Linux 7.3 {@code linux/iommufd.h} and {@code linux/vfio.h}
 * (linux-libc-dev from Debian, extracted by the rig's setup; never the system headers) and compares every struct
 * size and alignment, field offset and size, ioctl number and constant it prints with the Java layouts. Any
 * difference, anything the Java side lacks, or a program that cannot be built fails the test, loudly.
 */
class LayoutConformanceTest {
    static Path repoRoot() {
        Path p = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("tools/rig/uapi-dump"))) p = p.getParent();
        if (p == null) fail("cannot find tools/rig/uapi-dump above " + System.getProperty("user.dir"));
        return p;
    }

    static List<String> dump(final String... flags) throws IOException, InterruptedException {
        final Path root = repoRoot();
        final List<String> cmd = new ArrayList<>(List.of("bash", root.resolve("tools/rig/uapi-dump/build.sh").toString(), "--run"));
        cmd.addAll(List.of(flags));
        final Path err = Files.createTempFile("uapi-dump", ".err");
        final Process p = new ProcessBuilder(cmd).directory(root.toFile()).redirectError(err.toFile()).start();
        final byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(600, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("uapi_dump build timed out");
        }
        final String stderr = Files.readString(err);
        Files.deleteIfExists(err);
        if (p.exitValue() != 0) {
            fail("tools/rig/uapi-dump/build.sh failed (exit " + p.exitValue() + "): the layout conformance test "
                    + "needs gcc and the linux-libc-dev 7.3 headers (tools/rig/setup.sh headers; apt access).\n" + stderr);
        }
        return new String(out, StandardCharsets.UTF_8).lines().toList();
    }

    static Object constant(final String name) {
        for (final Class<?> c : List.of(IommufdUapi.class, VfioUapi.class, IommuTestCmd.class)) {
            try {
                final Field f = c.getField(name);
                return f.get(null);
            } catch (final NoSuchFieldException e) {
                // next
            } catch (final IllegalAccessException e) {
                throw new AssertionError(e);
            }
        }
        return null;
    }

    static List<String> compare(final List<String> lines, final List<StructLayout> layouts) {
        final Map<String, StructLayout> byName = new HashMap<>();
        for (final StructLayout l : layouts) byName.put(l.name().orElseThrow(), l);
        final List<String> diffs = new ArrayList<>();
        int checked = 0;
        for (final String line : lines) {
            final String[] w = line.trim().split(" ");
            switch (w[0]) {
                case "struct" -> {
                    final StructLayout l = byName.get(w[1]);
                    if (l == null) diffs.add("struct " + w[1] + ": no Java layout");
                    else if (l.byteSize() != Long.parseLong(w[3])) diffs.add("struct " + w[1] + ": size C " + w[3] + " Java " + l.byteSize());
                    checked++;
                }
                case "align" -> {
                    final StructLayout l = byName.get(w[1]);
                    if (l != null && l.byteAlignment() != Long.parseLong(w[2])) {
                        diffs.add("struct " + w[1] + ": align C " + w[2] + " Java " + l.byteAlignment());
                    }
                }
                case "field" -> {
                    final int dot = w[1].indexOf('.');
                    final StructLayout l = byName.get(w[1].substring(0, dot));
                    if (l == null) break;
                    final String f = w[1].substring(dot + 1);
                    final long off = Uapi.offsetOf(l, f);
                    final MemoryLayout m = Uapi.member(l, f);
                    if (off < 0) diffs.add("field " + w[1] + ": missing in Java");
                    else if (off != Long.parseLong(w[2]) || m.byteSize() != Long.parseLong(w[3])) {
                        diffs.add("field " + w[1] + ": C @" + w[2] + "/" + w[3] + " Java @" + off + "/" + m.byteSize());
                    }
                    checked++;
                }
                case "ioctl" -> {
                    final Object v = constant(w[1]);
                    final long c = Long.parseUnsignedLong(w[2].substring(2), 16);
                    if (!(v instanceof Long j)) diffs.add("ioctl " + w[1] + ": missing in Java");
                    else if (j != c) diffs.add("ioctl " + w[1] + ": C 0x" + Long.toHexString(c) + " Java 0x" + Long.toHexString(j));
                    checked++;
                }
                case "const" -> {
                    final Object v = constant(w[1]);
                    final long c = Long.parseLong(w[2]);
                    if (!(v instanceof Number n)) diffs.add("const " + w[1] + ": missing in Java");
                    else if (n.longValue() != c && Integer.toUnsignedLong(n.intValue()) != c) {
                        diffs.add("const " + w[1] + ": C " + c + " Java " + n);
                    }
                    checked++;
                }
                default -> { }  // "header" and future record kinds
            }
        }
        if (checked == 0) diffs.add("the dump had no records");
        return diffs;
    }

    @Test
    void shouldMatchTheLinux73HeadersExactly() throws Exception {
        final List<String> lines = dump();
        final List<String> diffs = compare(lines, UapiStructs.ALL);
        assertTrue(diffs.isEmpty(), diffs.size() + " differences from the kernel headers ("
                + lines.stream().filter(l -> l.startsWith("header")).findFirst().orElse("?") + "):\n  "
                + String.join("\n  ", diffs));
        assertTrue(lines.stream().filter(l -> l.startsWith("struct ")).count() >= 50, "dump covers every struct");
    }

    @Test
    void shouldDetectADifference() {
        final List<String> diffs = compare(List.of("struct iommu_destroy size 12", "field iommu_destroy.id 8 4",
                "ioctl IOMMU_DESTROY 0x3b81", "const IOMMU_HWPT_ALLOC_PASID 16", "struct iommu_new_thing size 8"),
                UapiStructs.ALL);
        assertEquals(5, diffs.size(), String.join("\n", diffs));
    }

    /**
     * The mock IOMMU's iommu_test_cmd (iommufd_test.h, kernel-internal): every accessor and constant the rig
     * tests use must match. Needs the kernel source the rig's full setup extracts; skipped (loudly) without it.
     */
    @Test
    void shouldMatchTheMockIommuHeaderTheRigUses() throws Exception {
        final Path mock = Path.of(System.getProperty("user.home"), ".cache/viommu-rig/mock-include/iommufd_test.h");
        final String missing = "SKIPPED: " + mock + " missing: run tools/rig/setup.sh (full) to check the mock IOMMU layouts";
        if (!Files.exists(mock) && Boolean.getBoolean("viommu.rig.required")) fail(missing);  // CI: the rig must be set up
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(mock), missing);
        final List<String> lines = dump("--mock");
        final Map<String, String> fields = new HashMap<>();
        final Map<String, Long> consts = new HashMap<>();
        for (final String l : lines) {
            final String[] w = l.split(" ");
            if (w[0].equals("field") && w[1].startsWith("iommu_test_cmd.")) fields.put(w[1].substring(15), w[2] + "/" + w[3]);
            if (w[0].equals("const")) consts.put(w[1], Long.parseLong(w[2]));
            if (w[0].equals("struct") && w[1].equals("iommu_test_cmd")) assertEquals(IommuTestCmd.LAYOUT.byteSize(), Long.parseLong(w[3]));
        }
        final List<String> diffs = new ArrayList<>();
        for (final Field f : IommuTestCmd.class.getFields()) {
            final Object v = f.get(null);
            final String got = switch (v) {
                case U32 u -> u.offset() + "/4";
                case U64 u -> u.offset() + "/8";
                default -> null;
            };
            if (got != null) {
                final String name = v instanceof U32 u ? u.name() : ((U64) v).name();
                if (!got.equals(fields.get(name))) diffs.add(name + ": C " + fields.get(name) + " Java " + got);
            } else if (v instanceof Integer i && consts.containsKey(f.getName())) {
                final long c = consts.get(f.getName());
                if (c != i && c != Integer.toUnsignedLong(i)) diffs.add(f.getName() + ": C " + c + " Java " + i);
            }
        }
        assertTrue(diffs.isEmpty(), String.join("\n", diffs));
    }
}
