package dev.viommu.sidecar;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** The sidecar's command line. Exit codes: 0 clean stop, 1 runtime failure, 2 usage or configuration error. */
@Command(name = "viommu-sidecar", mixinStandardHelpOptions = true, versionProvider = Main.VersionProvider.class,
        description = "A virtual-IOMMU sidecar: emulated Intel VT-d, ARM SMMUv3 and virtio-iommu, driven over a "
                + "QMP-like control socket and a binary data plane.%n")
public final class Main implements Callable<Integer> {
    @Option(names = "--control", required = true, paramLabel = "SOCKET", description = "Unix socket for the QMP-like control protocol (created 0600).")
    Path control;

    @Option(names = "--dataplane", required = true, paramLabel = "SOCKET", description = "Unix socket for the binary data plane (created 0600).")
    Path dataPlane;

    @Option(names = "--config", paramLabel = "FILE", description = "JSON configuration (default: the built-in configuration).")
    Path config;

    @Option(names = "--log-level", paramLabel = "LEVEL", defaultValue = "info",
            description = "trace, debug, info, warn or error (default: ${DEFAULT-VALUE}). Logs go to stderr.")
    String logLevel;

    static final class VersionProvider implements CommandLine.IVersionProvider {
        @Override public String[] getVersion() { return new String[] {"viommu-sidecar " + Version.VERSION}; }
    }

    public static void main(final String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code (for tests). */
    public static int run(final String... args) {
        final CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("viommu-sidecar: " + e.getMessage());
            return e instanceof IllegalArgumentException || e instanceof java.io.IOException ? 2 : 1;
        });
        return cl.execute(args);
    }

    @Override
    public Integer call() throws Exception {
        switch (logLevel) {
            case "trace", "debug", "info", "warn", "error" -> { }
            default -> throw new IllegalArgumentException("--log-level must be trace, debug, info, warn or error, not '" + logLevel + "'");
        }
        // slf4j-simple reads these when the first logger is made: nothing has logged yet.
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", logLevel);
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
        System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "HH:mm:ss.SSS");
        System.setProperty("org.slf4j.simpleLogger.log.io.netty", "warn");
        final SidecarConfig cfg;
        if (config == null) {
            cfg = SidecarConfig.defaults();
        } else {
            if (!Files.isReadable(config)) throw new IllegalArgumentException("cannot read configuration " + config);
            try {
                cfg = SidecarConfig.read(config);
            } catch (java.io.IOException e) {
                throw new IllegalArgumentException("configuration " + config + ": " + e.getMessage(), e);
            }
        }
        for (Path p : new Path[] {control, dataPlane}) {
            final Path dir = p.toAbsolutePath().getParent();
            if (dir == null || !Files.isDirectory(dir)) throw new IllegalArgumentException("no such directory for socket " + p);
        }
        if (control.toAbsolutePath().equals(dataPlane.toAbsolutePath())) {
            throw new IllegalArgumentException("--control and --dataplane must be different sockets");
        }
        final Sidecar sidecar = new Sidecar(cfg, control, dataPlane);
        // SIGTERM and SIGINT run shutdown hooks: close sockets, devices, host objects and fds in order.
        final Thread hook = new Thread(sidecar::close, "viommu-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            sidecar.start();
        } catch (Exception e) {
            sidecar.close();
            throw e;
        }
        sidecar.awaitStop();
        try { Runtime.getRuntime().removeShutdownHook(hook); } catch (IllegalStateException ignored) { /* already shutting down */ }
        return 0;
    }
}
