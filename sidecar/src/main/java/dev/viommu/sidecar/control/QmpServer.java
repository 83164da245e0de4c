package dev.viommu.sidecar.control;

import dev.viommu.sidecar.PeerCredentialsCheck;
import dev.viommu.sidecar.UnixSockets;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.epoll.ScmDomainSocketChannel;
import io.netty.channel.epoll.ScmServerDomainSocketChannel;

import io.netty.util.concurrent.GlobalEventExecutor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;

/** The control socket: QMP over a domain socket whose reads carry SCM_RIGHTS descriptors. */
public final class QmpServer implements AutoCloseable {
    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(QmpServer.class);
    private Channel server;
    /**
     * Every client connection, accepted or adopted, closed explicitly at {@link #close}: the event loops' own
     * close-all at shutdown was seen to miss a connection adopted from the early greeter (about 1 stop in 15 under
     * load), leaving that client without its end-of-file.
     */
    private final ChannelGroup clients = new DefaultChannelGroup("qmp-clients", GlobalEventExecutor.INSTANCE);

    /**
     * Serves the control socket at {@code path}: binds it, or, given an {@link EarlyGreeter} that bound it already,
     * takes over its listening socket and the connections it accepted (those it greeted skip the uid check, which
     * it made, and the greeting).
     */
    public void start(final Path path, final EarlyGreeter early, final EventLoopGroup group, final java.util.function.Supplier<QmpCommands> commands,
                      final EventBus events, final ExecutorService control, final Runnable quit, final PeerCredentialsCheck check)
            throws IOException, InterruptedException {
        final ChannelInitializer<Channel> init = new ChannelInitializer<>() {
            @Override
            protected void initChannel(final Channel ch) {
                clients.add(ch);
                ch.pipeline().addLast(check).addLast(new QmpConnection(commands, events, control, quit, false));
            }
        };
        if (early == null) {
            server = UnixSockets.bind(path, group, ScmServerDomainSocketChannel.class, init);
            return;
        }
        final EarlyGreeter.Handover h = early.handOver();
        server = new ServerBootstrap().group(group).channelFactory(() -> new ScmServerDomainSocketChannel(h.listenFd()))
                .childHandler(init).register().sync().channel();
        for (EarlyGreeter.Accepted a : h.connections()) {
            final ScmDomainSocketChannel ch = ScmDomainSocketChannel.adopt(a.fd());
            clients.add(ch);
            if (a.greeted()) ch.pipeline().addLast(new QmpConnection(commands, events, control, quit, true));
            else ch.pipeline().addLast(init);
            // waited for, so that a failed adoption is an error of start-up, not a client left unanswered
            group.register(ch).sync();
            ch.readPendingInput();
        }
        LOG.debug("control socket taken over from the early greeter: listener fd {}, {} connection(s)", h.listenFd(), h.connections().size());
    }

    @Override
    public void close() {
        if (server != null) server.close().syncUninterruptibly();
        clients.close().syncUninterruptibly();
    }
}
