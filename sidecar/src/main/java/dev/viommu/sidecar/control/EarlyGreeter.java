package dev.viommu.sidecar.control;

import dev.viommu.sidecar.UnixSockets;
import dev.viommu.sidecar.Version;

import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The control socket during start-up, before Netty runs: it binds the socket with the JDK's own Unix-domain
 * channels (a few milliseconds after {@code main}, where Netty's epoll transport takes a few hundred to load its
 * native library and initialise), accepts clients, and sends each client of the sidecar's own uid the QMP
 * greeting. Nothing is read: a client's first command waits in the kernel's socket buffer.
 * <p>
 * Once Netty is up, {@link #handOver()} stops the greeter and gives the listening socket and the accepted
 * connections, as file descriptors, to the Netty control server ({@link QmpServer}), which serves them from then
 * on as it serves its own: the listening socket is never closed or re-bound, so no client can connect in a gap.
 * A connection from another uid is handed over without a greeting; the Netty side applies the configured uid
 * check to it as to any other.
 * <p>
 * The descriptors are read with {@code sun.nio.ch.SelChImpl.getFDVal()}, which needs {@code java.base} to export
 * {@code sun.nio.ch} to this code (the sidecar jar's manifest says {@code Add-Exports: java.base/sun.nio.ch}).
 * Where it does not, {@link #start} returns null and the sidecar binds with Netty as before, only later.
 */
public final class EarlyGreeter implements AutoCloseable {
    /** One connection accepted before the hand-over. */
    public record Accepted(int fd, boolean greeted) {}

    /** What the Netty server takes over: the listening socket and the connections accepted so far. */
    public record Handover(int listenFd, List<Accepted> connections) {}

    /**
     * The JDK channel objects whose descriptors were handed over. They are never closed (Netty closes the
     * descriptors) and never collected, so nothing can close a descriptor number Netty owns, or its reuse.
     */
    private static final List<Object> HANDED_OVER = new ArrayList<>();

    /** Whether java.base exports sun.nio.ch to this code (the handle itself is made at the hand-over). */
    private static final boolean AVAILABLE = Object.class.getModule().isExported("sun.nio.ch", EarlyGreeter.class.getModule());

    private static final class FdVal {
        static final MethodHandle HANDLE = fdValHandle();
    }

    private final ServerSocketChannel server;
    private final Selector selector;
    private final UserPrincipal owner;
    private record Client(SocketChannel channel, boolean greeted) {}

    private final List<Client> accepted = new ArrayList<>();
    private final Thread thread;
    private volatile boolean stopping;
    private boolean done;

    private EarlyGreeter(final ServerSocketChannel server, final Selector selector, final UserPrincipal owner) {
        this.server = server;
        this.selector = selector;
        this.owner = owner;
        this.thread = Thread.ofPlatform().name("viommu-greeter").daemon().unstarted(this::run);
    }

    private static MethodHandle fdValHandle() {
        try {
            final Class<?> selCh = Class.forName("sun.nio.ch.SelChImpl");
            return MethodHandles.lookup().findVirtual(selCh, "getFDVal", MethodType.methodType(int.class));
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    /** True if this JVM lets the greeter hand JDK sockets to Netty. */
    public static boolean available() { return AVAILABLE; }

    /**
     * Binds {@code path} (mode 0600, as {@link UnixSockets#bindPrivately} does) and starts greeting; null if
     * {@link #available()} is false.
     */
    public static EarlyGreeter start(final Path path) throws IOException, InterruptedException {
        if (!AVAILABLE) return null;
        final ServerSocketChannel server = UnixSockets.bindPrivately(path, tmp -> {
            final ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                s.bind(UnixDomainSocketAddress.of(tmp), 64);
            } catch (IOException e) {
                s.close();
                throw e;
            }
            return s;
        });
        final Selector selector;
        final UserPrincipal owner;
        try {
            // The socket file is ours: its owner is the uid a client must have to be greeted now (the configured
            // extra uids are known only once the configuration is read, after the hand-over).
            owner = Files.getOwner(path);
            server.configureBlocking(false);
            selector = Selector.open();
            server.register(selector, SelectionKey.OP_ACCEPT);
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
        final EarlyGreeter g = new EarlyGreeter(server, selector, owner);
        g.thread.start();
        return g;
    }

    private void run() {
        final byte[] greeting = Version.greeting().concat("\n").getBytes(StandardCharsets.UTF_8);
        // initialised now, while no client waits: the option's class loads libextnet on first use
        final var peerCred = jdk.net.ExtendedSocketOptions.SO_PEERCRED;
        try {
            while (!stopping) {
                selector.select();
                SocketChannel c;
                while (!stopping && (c = server.accept()) != null) greet(c, greeting, peerCred);
                selector.selectedKeys().clear();
            }
        } catch (IOException | RuntimeException e) {
            // Netty's server takes the listening socket over as it is; it reports errors of its own
        }
    }

    private void greet(final SocketChannel c, final byte[] greeting,
                       final java.net.SocketOption<jdk.net.UnixDomainPrincipal> peerCred) {
        boolean ours = false;
        try {
            ours = c.getOption(peerCred).user().equals(owner);
            if (ours) {
                // ~130 bytes into a new connection's empty send buffer: the blocking write cannot stall
                final ByteBuffer b = ByteBuffer.wrap(greeting);
                while (b.hasRemaining()) c.write(b);
            }
            c.configureBlocking(false);       // Netty's epoll transport expects O_NONBLOCK
        } catch (IOException | RuntimeException e) {
            try { c.close(); } catch (IOException ignored) { /* gone */ }
            return;
        }
        synchronized (this) {
            accepted.add(new Client(c, ours));
        }
    }

    /**
     * Stops greeting and hands over the listening socket and every connection accepted so far; their descriptors
     * belong to the caller from now on. Connections still in the listen backlog are the new owner's to accept.
     */
    public Handover handOver() throws IOException {
        if (!stop()) throw new IOException("the early greeter did not stop");
        synchronized (this) {
            done = true;
            selector.close();                 // deregisters the listening socket; does not close it
            final List<Accepted> conns = new ArrayList<>();
            for (Client c : accepted) conns.add(new Accepted(fd(c.channel()), c.greeted()));
            synchronized (HANDED_OVER) {
                HANDED_OVER.add(server);
                for (Client c : accepted) HANDED_OVER.add(c.channel());
            }
            return new Handover(fd(server), List.copyOf(conns));
        }
    }

    /** Stops the greeter thread (a greeting in progress completes); false if it did not stop in time. */
    private boolean stop() {
        stopping = true;
        selector.wakeup();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return !thread.isAlive();
    }

    private static int fd(final Object channel) throws IOException {
        final MethodHandle h = FdVal.HANDLE;
        if (h == null) throw new IOException("cannot read the descriptor of " + channel + ": sun.nio.ch.SelChImpl.getFDVal() is not accessible");
        try {
            return (int) h.invoke(channel);
        } catch (Throwable t) {
            throw new IOException("cannot read the descriptor of " + channel, t);
        }
    }

    /** Closes everything if the sidecar stops before the hand-over; nothing after it. */
    @Override
    public void close() {
        stop();
        synchronized (this) {
            if (done) return;
            done = true;
            try { selector.close(); } catch (IOException ignored) { /* closing anyway */ }
            for (Client c : accepted) {
                try { c.channel().close(); } catch (IOException ignored) { /* closing anyway */ }
            }
            try { server.close(); } catch (IOException ignored) { /* closing anyway */ }
        }
    }
}
