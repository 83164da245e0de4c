package dev.viommu.guests;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real sidecar, started as a separate process on sockets in a private directory. It runs the shaded jar
 * named by {@code -Dviommu.sidecar.jar} when that exists (what the README's demo does), or else the sidecar's
 * main class on this JVM's class path (what the tests in a Maven build do).
 */
public final class SidecarProcess implements AutoCloseable {
    public static final String MAIN_CLASS = "dev.viommu.sidecar.Main";

    private final Path dir;
    private final Path control, dataPlane, log;
    private final Process process;

    private SidecarProcess(final Path dir, final Process process) {
        this.dir = dir;
        this.control = dir.resolve("qmp.sock");
        this.dataPlane = dir.resolve("dataplane.sock");
        this.log = dir.resolve("sidecar.log");
        this.process = process;
    }

    /** Starts the sidecar with the built-in configuration, or {@code config} if not null, and waits until it listens. */
    public static SidecarProcess start(final Path config, final String... extraArgs) throws IOException, InterruptedException {
        final Path dir = Files.createTempDirectory("viommu-guest-");
        final List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.add("--enable-native-access=ALL-UNNAMED");
        // Extra JVM options for the sidecar, such as the launcher's -XX:AOTCache (space-separated).
        final String jvmArgs = System.getProperty("viommu.sidecar.jvmArgs", "").trim();
        if (!jvmArgs.isEmpty()) cmd.addAll(List.of(jvmArgs.split("\\s+")));
        final String jar = System.getProperty("viommu.sidecar.jar");
        if (jar != null && Files.isRegularFile(Path.of(jar))) {
            cmd.add("-jar");
            cmd.add(jar);
        } else {
            cmd.add("-cp");
            cmd.add(System.getProperty("java.class.path"));
            cmd.add(MAIN_CLASS);
        }
        cmd.add("--control");
        cmd.add(dir.resolve("qmp.sock").toString());
        cmd.add("--dataplane");
        cmd.add(dir.resolve("dataplane.sock").toString());
        if (config != null) {
            cmd.add("--config");
            cmd.add(config.toString());
        }
        cmd.addAll(List.of(extraArgs));
        final Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(dir.resolve("sidecar.log").toFile()).start();
        final SidecarProcess s = new SidecarProcess(dir, p);
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!(Files.exists(s.control) && Files.exists(s.dataPlane))) {
            if (!p.isAlive()) throw new IOException("the sidecar exited with " + p.exitValue() + ":\n" + s.log());
            if (System.nanoTime() > deadline) {
                s.close();
                throw new IOException("the sidecar did not listen within 30 s:\n" + s.log());
            }
            Thread.sleep(20);
        }
        return s;
    }

    public Path control() { return control; }

    public Path dataPlane() { return dataPlane; }

    public Process process() { return process; }

    /** What the sidecar has logged so far. */
    public String log() {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            return "(log unreadable: " + e + ")";
        }
    }

    /** Sends SIGTERM and waits for the exit code. */
    public int terminate(final long timeoutSeconds) throws InterruptedException {
        process.destroy();   // SIGTERM on Linux
        if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            return -1;
        }
        return process.exitValue();
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            try { terminate(10); } catch (InterruptedException e) { Thread.currentThread().interrupt(); process.destroyForcibly(); }
        }
        try (var s = Files.list(dir)) {
            for (Path p : s.toList()) Files.deleteIfExists(p);
            Files.deleteIfExists(dir);
        } catch (IOException ignored) {
            // a temporary directory left behind is harmless
        }
    }
}
