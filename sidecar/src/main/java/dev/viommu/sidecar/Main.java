package dev.viommu.sidecar;

import dev.viommu.sidecar.control.EarlyGreeter;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The sidecar's command line. Exit codes: 0 clean stop, 1 runtime failure, 2 usage or configuration error.
 * <p>
 * The parser is written by hand: picocli cost 170 ms of start-up (measured with -Xlog:class+load), more than the
 * whole budget for reaching the QMP greeting.
 */
public final class Main {
    static final String USAGE = """
            Usage: viommu-sidecar --control SOCKET --dataplane SOCKET [--config FILE] [--log-level LEVEL]
                   viommu-sidecar --help | --version

            A virtual-IOMMU sidecar: emulated Intel VT-d, ARM SMMUv3 and virtio-iommu, driven over a
            QMP-like control socket and a binary data plane.

              --control SOCKET     Unix socket for the QMP-like control protocol (created 0600).
              --dataplane SOCKET   Unix socket for the binary data plane (created 0600).
              --config FILE        JSON configuration (default: the built-in configuration).
              --log-level LEVEL    trace, debug, info, warn or error (default: info). Logs go to stderr.
              -h, --help           Show this help and exit.
              -V, --version        Print the version and exit.
            """;

    /** The parsed command line. */
    record Options(Path control, Path dataPlane, Path config, String logLevel) {}

    /** A usage error: printed with the usage, exit code 2. */
    static final class UsageException extends Exception {
        UsageException(final String message) { super(message); }
    }

    private Main() {}

    public static void main(final String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code (for tests). */
    public static int run(final String... args) {
        final PrintStream out = System.out, err = System.err;
        final Options o;
        try {
            for (String a : args) {
                if (a.equals("-h") || a.equals("--help")) { out.print(USAGE); return 0; }
                if (a.equals("-V") || a.equals("--version")) { out.println("viommu-sidecar " + Version.VERSION); return 0; }
            }
            o = parse(args);
        } catch (UsageException e) {
            err.println("viommu-sidecar: " + e.getMessage());
            err.print(USAGE);
            return 2;
        }
        try {
            return serve(o);
        } catch (IllegalArgumentException e) {
            err.println("viommu-sidecar: " + e.getMessage());
            return 2;
        } catch (Exception e) {
            err.println("viommu-sidecar: " + e);
            return 1;
        }
    }

    static Options parse(final String[] args) throws UsageException {
        Path control = null, dataPlane = null, config = null;
        String level = "info";
        for (int i = 0; i < args.length; i++) {
            String a = args[i], v = null;
            final int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                v = a.substring(eq + 1);
                a = a.substring(0, eq);
            }
            switch (a) {
                case "--control", "--dataplane", "--config", "--log-level" -> {
                    if (v == null) {
                        if (i + 1 >= args.length) throw new UsageException("Missing value for option '" + a + "'");
                        v = args[++i];
                    }
                    if (v.isEmpty()) throw new UsageException("Empty value for option '" + a + "'");
                    switch (a) {
                        case "--control" -> control = Path.of(v);
                        case "--dataplane" -> dataPlane = Path.of(v);
                        case "--config" -> config = Path.of(v);
                        default -> level = v;
                    }
                }
                default -> throw new UsageException("Unknown option: '" + args[i] + "'");
            }
        }
        if (control == null) throw new UsageException("Missing required option: '--control=SOCKET'");
        if (dataPlane == null) throw new UsageException("Missing required option: '--dataplane=SOCKET'");
        switch (level) {
            case "trace", "debug", "info", "warn", "error" -> { }
            default -> throw new UsageException("--log-level must be trace, debug, info, warn or error, not '" + level + "'");
        }
        return new Options(control, dataPlane, config, level);
    }

    private static int serve(final Options o) throws Exception {
        // slf4j-simple reads these when the first logger is made: nothing has logged yet.
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", o.logLevel());
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
        System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "HH:mm:ss.SSS");
        System.setProperty("org.slf4j.simpleLogger.log.io.netty", "warn");
        if (o.config() != null && !Files.isReadable(o.config())) {
            throw new IllegalArgumentException("cannot read configuration " + o.config());
        }
        for (Path p : new Path[] {o.control(), o.dataPlane()}) {
            final Path dir = p.toAbsolutePath().getParent();
            if (dir == null || !Files.isDirectory(dir)) throw new IllegalArgumentException("no such directory for socket " + p);
        }
        if (o.control().toAbsolutePath().equals(o.dataPlane().toAbsolutePath())) {
            throw new IllegalArgumentException("--control and --dataplane must be different sockets");
        }
        final Path config = o.config();
        // The control socket is bound and greets clients before Netty loads (see EarlyGreeter); Netty takes it over.
        // SIGTERM and SIGINT stop the sidecar in order (sockets, devices, host objects, fds) and it exits 0, as a
        // clean stop. A plain shutdown hook would close it too, but the JVM would then exit 143. A signal that
        // comes while Netty is still loading (the greeter is up already) closes the greeter and exits 0 as well.
        // Installed before the socket exists: once a client has seen the greeting, SIGTERM must be a clean stop.
        final java.util.concurrent.atomic.AtomicReference<Sidecar> running = new java.util.concurrent.atomic.AtomicReference<>();
        final java.util.concurrent.atomic.AtomicReference<EarlyGreeter> greeter = new java.util.concurrent.atomic.AtomicReference<>();
        for (String sig : new String[] {"TERM", "INT"}) {
            sun.misc.Signal.handle(new sun.misc.Signal(sig), s -> Thread.ofPlatform().name("viommu-sig" + sig).start(() -> {
                final Sidecar sc = running.get();
                if (sc != null) {
                    sc.close();
                    return;
                }
                synchronized (greeter) {              // not while the greeter is binding: after it, or before
                    final EarlyGreeter g = greeter.get();
                    if (g != null) {                  // else the socket is not ours: leave the path alone
                        g.close();
                        try { Files.deleteIfExists(o.control()); } catch (java.io.IOException ignored) { /* exiting anyway */ }
                    }
                    System.exit(0);
                }
            }));
        }
        final EarlyGreeter early;
        synchronized (greeter) {
            early = EarlyGreeter.start(o.control());
            greeter.set(early);
        }
        final Sidecar sidecar;
        try {
            sidecar = new Sidecar(() -> {
                if (config == null) return SidecarConfig.defaults();
                try {
                    return SidecarConfig.read(config);
                } catch (java.io.IOException e) {
                    throw new IllegalArgumentException("configuration " + config + ": " + e.getMessage(), e);
                }
            }, o.control(), o.dataPlane(), early);
        } catch (RuntimeException | Error e) {
            if (early != null) {
                early.close();
                Files.deleteIfExists(o.control());
            }
            throw e;
        }
        running.set(sidecar);
        final Thread hook = new Thread(sidecar::close, "viommu-shutdown");   // any other exit path
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            sidecar.startAsync();
        } catch (Exception e) {
            sidecar.close();
            throw e;
        }
        sidecar.awaitStop();
        try { Runtime.getRuntime().removeShutdownHook(hook); } catch (IllegalStateException ignored) { /* already shutting down */ }
        final Throwable failure = sidecar.failure();
        if (failure == null) return 0;
        System.err.println("viommu-sidecar: " + failure.getMessage());
        return failure instanceof IllegalArgumentException ? 2 : 1;
    }
}
