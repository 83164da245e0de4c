package dev.viommu.sidecar;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line's errors and exit codes. */
class CliTest {
    private static String[] captured(final Runnable r) {
        final PrintStream out = System.out, err = System.err;
        final ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        System.setOut(new PrintStream(o));
        System.setErr(new PrintStream(e));
        try {
            r.run();
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        return new String[] {o.toString(), e.toString()};
    }

    @Test
    void shouldPrintHelpAndVersion() {
        final int[] rc = new int[1];
        final String[] help = captured(() -> rc[0] = Main.run("--help"));
        assertEquals(0, rc[0]);
        assertTrue(help[0].contains("--control") && help[0].contains("--dataplane") && help[0].contains("--log-level"), help[0]);
        final String[] version = captured(() -> rc[0] = Main.run("--version"));
        assertEquals(0, rc[0]);
        assertTrue(version[0].startsWith("viommu-sidecar "), version[0]);
    }

    @Test
    void shouldRejectMissingOptionsWithUsageExitCode() {
        final int[] rc = new int[1];
        final String[] r = captured(() -> rc[0] = Main.run("--control", "/tmp/x.sock"));
        assertEquals(2, rc[0]);
        assertTrue(r[1].contains("--dataplane"), r[1]);
    }

    @Test
    void shouldRejectAnUnknownOption() {
        final int[] rc = new int[1];
        captured(() -> rc[0] = Main.run("--bogus"));
        assertEquals(2, rc[0]);
    }

    @Test
    void shouldRejectABadLogLevel() {
        final int[] rc = new int[1];
        final String[] r = captured(() -> rc[0] = Main.run("--control", "/tmp/a.sock", "--dataplane", "/tmp/b.sock", "--log-level", "loud"));
        assertEquals(2, rc[0]);
        assertTrue(r[1].contains("--log-level"), r[1]);
    }

    @Test
    void shouldRejectAnUnreadableOrInvalidConfig() throws Exception {
        final int[] rc = new int[1];
        final String[] r = captured(() -> rc[0] = Main.run("--control", "/tmp/a.sock", "--dataplane", "/tmp/b.sock", "--config", "/nonexistent.json"));
        assertEquals(2, rc[0]);
        assertTrue(r[1].contains("cannot read configuration"), r[1]);
        final Path bad = Files.createTempFile("cfg", ".json");
        Files.writeString(bad, "{\"no-such-key\": 1}");
        final String[] r2 = captured(() -> rc[0] = Main.run("--control", "/tmp/a.sock", "--dataplane", "/tmp/b.sock", "--config", bad.toString()));
        assertEquals(2, rc[0]);
        assertTrue(r2[1].contains("no-such-key"), r2[1]);
        Files.delete(bad);
    }

    @Test
    void shouldRejectASocketInAMissingDirectory() {
        final int[] rc = new int[1];
        final String[] r = captured(() -> rc[0] = Main.run("--control", "/nonexistent/a.sock", "--dataplane", "/tmp/b.sock"));
        assertEquals(2, rc[0]);
        assertTrue(r[1].contains("no such directory"), r[1]);
    }
}
