package dev.viommu.sidecar;

import dev.viommu.core.posix.Posix;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.ScmServerDomainSocketChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SO_PEERCRED decides who gets in, on both kinds of server channel. */
class PeerCredentialsCheckTest {
    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());

    @AfterEach void stop() { group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly(); }

    private boolean admitted(final Class<? extends io.netty.channel.ServerChannel> type, final Set<Integer> uids) throws Exception {
        final Path dir = Files.createTempDirectory("viommu-cred");
        final Path sock = dir.resolve("s");
        final AtomicBoolean active = new AtomicBoolean();
        final Channel server = UnixSockets.bind(sock, group, type, new ChannelInitializer<>() {
            @Override protected void initChannel(final Channel ch) {
                ch.pipeline().addLast(new PeerCredentialsCheck(uids, "test")).addLast(new ChannelInboundHandlerAdapter() {
                    @Override public void channelActive(final ChannelHandlerContext ctx) {
                        active.set(true);
                        ctx.writeAndFlush(ctx.alloc().buffer().writeByte('!'));
                    }
                });
            }
        });
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(sock));
            final ByteBuffer b = ByteBuffer.allocate(1);
            final int n = c.read(b);   // '!' if admitted, end of stream if refused
            return n == 1 && active.get();
        } finally {
            server.close().sync();
            Files.deleteIfExists(sock);
            Files.deleteIfExists(dir);
        }
    }

    @Test
    void shouldAdmitTheLaunchingUid() throws Exception {
        assertTrue(admitted(EpollServerDomainSocketChannel.class, Set.of(Posix.getuid())));
        assertTrue(admitted(ScmServerDomainSocketChannel.class, Set.of(Posix.getuid())));
    }

    @Test
    void shouldRefuseAnyOtherUidBeforeSayingAnything() throws Exception {
        final int other = Posix.getuid() + 4242;
        assertFalse(admitted(EpollServerDomainSocketChannel.class, Set.of(other)));
        assertFalse(admitted(ScmServerDomainSocketChannel.class, Set.of(other)));
    }

    @Test
    void shouldRefuseToReplaceALiveSocketOrARegularFile() throws Exception {
        final Path dir = Files.createTempDirectory("viommu-cred");
        final Path file = dir.resolve("f");
        Files.writeString(file, "x");
        final ChannelInitializer<Channel> nop = new ChannelInitializer<>() { @Override protected void initChannel(final Channel ch) { } };
        final java.io.IOException e = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                () -> UnixSockets.bind(file, group, EpollServerDomainSocketChannel.class, nop));
        assertTrue(e.getMessage().contains("not a socket"));
        final Path live = dir.resolve("live");
        final Channel s = UnixSockets.bind(live, group, EpollServerDomainSocketChannel.class, nop);
        final java.io.IOException e2 = org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
                () -> UnixSockets.bind(live, group, EpollServerDomainSocketChannel.class, nop));
        assertTrue(e2.getMessage().contains("in use"));
        s.close().sync();
        // a stale socket file (nobody listening) is replaced
        final Channel again = UnixSockets.bind(live, group, EpollServerDomainSocketChannel.class, nop);
        assertEquals(true, again.isActive());
        again.close().sync();
        try (var l = Files.list(dir)) { for (Path p : l.toList()) Files.deleteIfExists(p); }
        Files.deleteIfExists(dir);
    }
}
