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
 * Binds a Netty epoll domain-socket server at a path with mode 0600 and no window in which it is wider: the
 * socket is bound inside a fresh 0700 directory, chmod-ed, then renamed into place.
 */
public final class UnixSockets {
    private UnixSockets() {}

    public static Channel bind(final Path path, final EventLoopGroup group, final Class<? extends ServerChannel> type,
                               final ChannelInitializer<Channel> init) throws IOException, InterruptedException {
        final Path abs = path.toAbsolutePath();
        if (abs.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length >= 108) {
            throw new IOException("socket path too long (max 107 bytes): " + abs);
        }
        removeStale(abs);
        final Path dir = Files.createTempDirectory(abs.getParent(), ".viommu-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        final Path tmp = dir.resolve("s");
        try {
            final Channel ch = new ServerBootstrap().group(group).channel(type).childHandler(init)
                    .bind(new DomainSocketAddress(tmp.toString())).sync().channel();
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE);
            return ch;
        } finally {
            Files.deleteIfExists(tmp);
            Files.deleteIfExists(dir);
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
