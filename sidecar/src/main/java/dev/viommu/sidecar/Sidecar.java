package dev.viommu.sidecar;

import dev.viommu.core.host.HostBackend;
import dev.viommu.core.host.HostBackendProvider;
import dev.viommu.core.host.NoHostBackend;
import dev.viommu.core.metrics.ViommuMetrics;
import dev.viommu.core.posix.Posix;
import dev.viommu.core.spi.DeviceRegistry;
import dev.viommu.sidecar.control.EarlyGreeter;
import dev.viommu.sidecar.control.EventBus;
import dev.viommu.sidecar.control.QmpCommands;
import dev.viommu.sidecar.control.QmpException;
import dev.viommu.sidecar.control.QmpServer;
import dev.viommu.sidecar.dataplane.DataPlaneServer;
import dev.viommu.sidecar.machine.Machine;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/** The sidecar process: the machine, the control socket, the data plane, and an orderly shutdown. */
public final class Sidecar implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Sidecar.class);

    private final java.util.concurrent.Callable<SidecarConfig> configLoader;
    private final Path controlPath, dataPlanePath;
    /** Until the configuration is read only the sidecar's own uid is let in; then the configured ones too. */
    private final PeerCredentialsCheck credentials = new PeerCredentialsCheck(Set.of(Posix.getuid()), "control");
    private java.util.concurrent.Future<?> initialised;
    private volatile Throwable failure;
    /** The event loops, made in {@link #startAsync} (loading Netty's native transport is most of a cold start's work). */
    private final java.util.concurrent.CompletableFuture<EventLoopGroup> group = new java.util.concurrent.CompletableFuture<>();
    private final ExecutorService control = Executors.newSingleThreadExecutor(r -> {
        final Thread t = new Thread(r, "viommu-control");
        t.setDaemon(true);
        return t;
    });
    private final EventBus events = new EventBus();
    private final DataPlaneServer dataPlane = new DataPlaneServer();
    private final QmpServer qmp = new QmpServer();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile boolean closing;
    private Machine machine;
    private final EarlyGreeter early;

    public Sidecar(final SidecarConfig config, final Path control, final Path dataPlane) {
        this(() -> config, control, dataPlane);
    }

    /** A sidecar whose configuration is read (and checked) during initialisation, after the greeting is possible. */
    public Sidecar(final java.util.concurrent.Callable<SidecarConfig> configLoader, final Path control, final Path dataPlane) {
        this(configLoader, control, dataPlane, null);
    }

    /**
     * As above, taking over a control socket an {@link EarlyGreeter} bound at {@code control} already (null to
     * bind it here). The sidecar owns the greeter from now on, and closes it if it stops before taking over.
     */
    public Sidecar(final java.util.concurrent.Callable<SidecarConfig> configLoader, final Path control, final Path dataPlane,
                   final EarlyGreeter early) {
        this.configLoader = configLoader;
        this.controlPath = control;
        this.dataPlanePath = dataPlane;
        this.early = early;
    }

    public Machine machine() { return machine; }

    public EventBus events() { return events; }

    /** Creates the host backend named by the configuration ({@code auto}: iommufd if available, else sim). */
    static HostBackend createHost(final Map<String, Object> host, final Machine[] machine) throws Exception {
        final String kind = String.valueOf(host.getOrDefault("backend", "auto"));
        if (kind.equals("none")) return new NoHostBackend();
        final Map<String, HostBackendProvider> providers = new LinkedHashMap<>();
        for (HostBackendProvider p : ServiceLoader.load(HostBackendProvider.class)) providers.put(p.kind(), p);
        HostBackendProvider chosen;
        if (kind.equals("auto")) {
            chosen = providers.get("iommufd");
            if (chosen == null || !chosen.available()) chosen = providers.get("sim");
            if (chosen == null) {
                LOG.warn("no host backend plugin is installed: passthrough endpoints are refused");
                return new NoHostBackend();
            }
        } else {
            chosen = providers.get(kind);
            if (chosen == null) throw new IllegalArgumentException("unknown host backend '" + kind + "' (have " + providers.keySet() + ", none)");
            if (!chosen.available()) throw new IllegalArgumentException("host backend '" + kind + "' is not available here");
        }
        final Map<String, Object> cfg = new LinkedHashMap<>(host);
        cfg.remove("backend");
        LOG.info("host backend: {}", chosen.kind());
        return chosen.create(cfg, () -> machine[0].memory());
    }

    /**
     * Starts and waits until the machine is initialised; throws what initialisation threw (for embedders and
     * tests).
     */
    public void start() throws Exception {
        startAsync();
        awaitReady();
    }

    /**
     * Binds the control socket first, so that a client gets its greeting as early as the JVM allows, and
     * initialises everything else (configuration, host backend, plugins, metrics, start-up commands, the data
     * plane) on the control thread. Commands queue behind the initialisation on that same thread, so none sees
     * a half-built machine. If initialisation fails the sidecar closes itself ({@link #failure()} says why).
     */
    public synchronized void startAsync() throws Exception {
        // synchronized with close(): a stop signal during start-up waits for the sockets to be up, then stops them
        if (closing) {
            initialised = java.util.concurrent.CompletableFuture.failedFuture(new IllegalStateException("the sidecar was stopped before it started"));
            return;
        }
        final QmpCommands[] commands = new QmpCommands[1];
        final java.util.concurrent.FutureTask<Void> init = new java.util.concurrent.FutureTask<>(() -> {
            try {
                initialise(commands);
            } catch (Exception | Error e) {
                failure = e;
                Thread.ofPlatform().name("viommu-init-failed").start(this::close);
                throw e;
            }
            return null;
        });
        initialised = init;
        // With the early greeter the control socket is bound and greeting already, so initialisation (configuration,
        // plugins, metrics, JSON) runs alongside Netty's loading, on the other core. Without it, it waits until the
        // socket is bound: on two cores it would otherwise slow the bind down.
        if (early != null) Thread.ofPlatform().name("viommu-init").daemon().start(init);
        final EventLoopGroup loops;
        try {
            loops = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
            group.complete(loops);
        } catch (RuntimeException | Error e) {
            group.completeExceptionally(e);
            throw e;
        }
        // Every command waits for initialisation first (on the control thread, which has nothing else to do).
        qmp.start(controlPath, early, loops, () -> {
            try {
                awaitReady();
            } catch (Exception e) {
                throw new IllegalStateException("the sidecar failed to start: " + e.getMessage(), e);
            }
            return commands[0];
        }, events, control, () -> Thread.ofPlatform().name("viommu-quit").start(this::close), credentials);
        if (early == null) Thread.ofPlatform().name("viommu-init").daemon().start(init);
    }

    private void initialise(final QmpCommands[] commandsOut) throws Exception {
        final SidecarConfig config = configLoader.call();
        final Set<Integer> uids = new HashSet<>(config.allowedUids());
        uids.add(Posix.getuid());
        credentials.allow(uids);
        final Machine[] ref = new Machine[1];
        final HostBackend host = createHost(config.host(), ref);
        machine = new Machine(DeviceRegistry.load(), host, new ViommuMetrics(), new Machine.Outputs() {
            @Override public void msi(final int h, final long a, final int d) { dataPlane.msi(h, a, d); }

            @Override public void line(final int h, final int l, final boolean v) { dataPlane.line(h, l, v); }

            @Override public void invalidate(final int h, final int s, final int p, final long i, final long z) { dataPlane.invalidate(h, s, p, i, z); }

            @Override public void pageResponse(final int h, final int s, final int p, final int g, final int c) { dataPlane.pageResponse(h, s, p, g, c); }

            @Override public void event(final String name, final Map<String, Object> data) { events.emit(name, data); }
        });
        ref[0] = machine;
        final QmpCommands commands = new QmpCommands(machine);
        runStartupCommands(config, commands);
        commandsOut[0] = commands;
        final EventLoopGroup loops;
        try {
            loops = group.get();
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("the event loops failed to start: " + e.getCause(), e.getCause());
        }
        dataPlane.start(dataPlanePath, loops, () -> machine, new PeerCredentialsCheck(uids, "data plane"));
        LOG.info("viommu {} ready: control={} dataplane={} drivers={} host={}", Version.VERSION, controlPath,
                dataPlanePath, machine.registry().providers().keySet(), machine.host().kind());
    }

    /** Waits for initialisation; rethrows its failure. */
    public void awaitReady() throws Exception {
        try {
            initialised.get();
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof Exception ex) throw ex;
            throw e;
        }
    }

    /** Why initialisation failed, or null. */
    public Throwable failure() { return failure; }

    private static void runStartupCommands(final SidecarConfig config, final QmpCommands commands) throws Exception {
        final com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        for (Map<String, Object> c : config.commands()) {
            final Object name = c.get("execute");
            final QmpCommands.Handler h = name == null ? null : commands.get(String.valueOf(name));
            if (h == null || "quit".equals(name) || "getfd".equals(name)) {
                throw new IllegalArgumentException("configuration: cannot run command " + name);
            }
            final Object args = c.getOrDefault("arguments", Map.of());
            try {
                h.run(new dev.viommu.sidecar.control.Args(json.valueToTree(args)), new QmpCommands.Session() {
                    @Override public int takeFd() { return -1; }

                    @Override public void requestQuit() { }
                });
            } catch (QmpException e) {
                throw new IllegalArgumentException("configuration command " + name + ": " + e.getMessage(), e);
            }
        }
    }

    /** Blocks until {@link #close} ran. */
    public void awaitStop() throws InterruptedException { stopped.await(); }

    @Override
    public void close() {
        synchronized (this) {
            if (closing) return;
            closing = true;
        }
        LOG.info("shutting down");
        try {
            if (early != null) early.close();       // nothing if Netty took its sockets over
            qmp.close();
            dataPlane.close();
            control.shutdown();
            try { control.awaitTermination(5, TimeUnit.SECONDS); } catch (InterruptedException e) { Thread.currentThread().interrupt(); }
            if (machine != null) machine.close();
            // never made (closed before start-up): an initialisation waiting for the loops fails instead
            if (!group.completeExceptionally(new IllegalStateException("the sidecar was closed")) && !group.isCompletedExceptionally()) {
                group.join().shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
            }
            for (Path p : new Path[] {controlPath, dataPlanePath}) {
                try { Files.deleteIfExists(p); } catch (Exception ignored) { /* best effort */ }
            }
        } finally {
            stopped.countDown();
        }
    }
}
