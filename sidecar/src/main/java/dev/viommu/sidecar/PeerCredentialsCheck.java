package dev.viommu.sidecar;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.ScmDomainSocketChannel;
import io.netty.channel.unix.PeerCredentials;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Set;

/**
 * Lets a connection through only if SO_PEERCRED names an allowed uid (the sidecar's own, plus those the
 * configuration lists). A refused connection is closed before anything is read or written.
 */
@ChannelHandler.Sharable
public final class PeerCredentialsCheck extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(PeerCredentialsCheck.class);
    private volatile Set<Integer> allowed;
    private final String socketName;

    public PeerCredentialsCheck(final Set<Integer> allowed, final String socketName) {
        this.allowed = Set.copyOf(allowed);
        this.socketName = socketName;
    }

    /** Replaces the allowed uids (once the configuration has been read). */
    public void allow(final Set<Integer> uids) { allowed = Set.copyOf(uids); }

    @Override
    public void channelActive(final ChannelHandlerContext ctx) throws Exception {
        final PeerCredentials cred;
        try {
            cred = ctx.channel() instanceof ScmDomainSocketChannel scm ? scm.peerCredentials()
                    : ((EpollDomainSocketChannel) ctx.channel()).peerCredentials();
        } catch (Exception e) {
            LOG.warn("{}: cannot read SO_PEERCRED, refusing the connection: {}", socketName, e.toString());
            ctx.close();
            return;
        }
        if (!allowed.contains(cred.uid())) {
            LOG.warn("{}: refused a connection from uid {} pid {}", socketName, cred.uid(), cred.pid());
            ctx.close();
            return;
        }
        LOG.debug("{}: connection from uid {} pid {}", socketName, cred.uid(), cred.pid());
        ctx.pipeline().remove(this);
        ctx.fireChannelActive();
    }
}
