package dev.viommu.sidecar;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.unix.DomainSocketAddress;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Binds a domain-socket server (Netty epoll, or the JDK's for the early greeter) at a path with mode 0600 and no
 * window in which it is wider: the socket is bound inside a fresh 0700 directory, chmod-ed, then renamed into place.
 */
public final class UnixSockets {
    private UnixSockets() {}

    public static Channel bind(final Path path, final EventLoopGroup group, final Class<? extends ServerChannel> type,
                               final ChannelInitializer<Channel> init) throws IOException, InterruptedException {
        return bindPrivately(path, tmp -> new ServerBootstrap().group(group).channel(type).childHandler(init)
                .bind(new DomainSocketAddress(tmp.toString())).sync().channel());
    }

    /** Binds a listening socket at a path it is given; the path is inside a fresh 0700 directory. */
    @FunctionalInterface
    public interface Binder<T> {
        T bind(Path tmp) throws IOException, InterruptedException;
    }

    /**
     * Has {@code binder} bind a socket under a temporary name in a fresh 0700 directory next to {@code path},
     * makes the socket file 0600, and renames it to {@code path}: at no moment is the socket reachable with a
     * wider mode. A stale socket at {@code path} (nobody listening) is removed first; a live one is an error.
     */
    public static <T> T bindPrivately(final Path path, final Binder<T> binder) throws IOException, InterruptedException {
        final Path abs = path.toAbsolutePath();
        if (abs.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length >= 108) {
            throw new IOException("socket path too long (max 107 bytes): " + abs);
        }
        removeStale(abs);
        final Path dir = privateDirectory(abs.getParent());
        final Path tmp = dir.resolve("s");
        try {
            final T bound = binder.bind(tmp);
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE);
            return bound;
        } finally {
            Files.deleteIfExists(tmp);
            Files.deleteIfExists(dir);
        }
    }

    private static final java.util.concurrent.atomic.AtomicLong NAMES = new java.util.concurrent.atomic.AtomicLong(System.nanoTime());

    /**
     * A new directory with mode 0700 in {@code parent}. Not {@code Files.createTempDirectory}: its SecureRandom
     * names cost ~30 ms of start-up on the way to the QMP greeting. The name need not be unguessable: mkdir fails
     * on anything already there (a file, a directory, a symlink), and then the next name is tried.
     */
    private static Path privateDirectory(final Path parent) throws IOException {
        final var mode = PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
        for (int attempt = 0; ; attempt++) {
            // String.concat, not '+': the first indy string concatenation costs a few ms of bytecode spinning
            final Path dir = parent.resolve(".viommu-".concat(Long.toHexString(NAMES.getAndAdd(0x9E3779B97F4A7C15L))));
            try {
                return Files.createDirectory(dir, mode);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                if (attempt == 100) throw e;
            }
        }
    }

    /** Removes a socket file nobody listens on; refuses to touch a live socket or a non-socket file. */
    private static void removeStale(final Path p) throws IOException {
        if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) return;
        if (Files.isRegularFile(p) || Files.isDirectory(p)) throw new IOException(p + " exists and is not a socket");
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(p));
            throw new IOException(p + " is in use by another process");
        } catch (java.net.ConnectException | java.nio.file.NoSuchFileException e) {
            Files.deleteIfExists(p);
        }
    }
}
