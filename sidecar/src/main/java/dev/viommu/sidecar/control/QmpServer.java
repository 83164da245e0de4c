package dev.viommu.sidecar.control;

import dev.viommu.sidecar.PeerCredentialsCheck;
import dev.viommu.sidecar.UnixSockets;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.ScmServerDomainSocketChannel;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;

/** The control socket: QMP over a domain socket whose reads carry SCM_RIGHTS descriptors. */
public final class QmpServer implements AutoCloseable {
    private Channel server;

    public void start(final Path path, final EventLoopGroup group, final java.util.function.Supplier<QmpCommands> commands, final EventBus events,
                      final ExecutorService control, final Runnable quit, final PeerCredentialsCheck check)
            throws IOException, InterruptedException {
        server = UnixSockets.bind(path, group, ScmServerDomainSocketChannel.class, new ChannelInitializer<>() {
            @Override
            protected void initChannel(final Channel ch) {
                ch.pipeline().addLast(check).addLast(new QmpConnection(commands, events, control, quit));
            }
        });
    }

    @Override
    public void close() {
        if (server != null) server.close().syncUninterruptibly();
    }
}
