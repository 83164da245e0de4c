package io.netty.channel.epoll;

import io.netty.channel.Channel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.ServerDomainSocketChannel;

import java.net.SocketAddress;

/**
 * A domain-socket server whose accepted connections are {@link ScmDomainSocketChannel}s. It mirrors Netty's
 * (final) {@code EpollServerDomainSocketChannel}, except that it leaves the socket file to its owner, which
 * binds under a temporary name and renames it into place.
 */
public final class ScmServerDomainSocketChannel extends AbstractEpollServerChannel implements ServerDomainSocketChannel {
    private final EpollServerChannelConfig config = new EpollServerChannelConfig(this);
    private volatile DomainSocketAddress local;

    public ScmServerDomainSocketChannel() {
        super(LinuxSocket.newSocketDomain(), false);
    }

    /**
     * Adopts a domain socket that is already bound and listening, in non-blocking mode (the control socket the
     * early greeter bound); it is active at once and closed with this channel.
     */
    public ScmServerDomainSocketChannel(final int listeningFd) {
        super(new LinuxSocket(listeningFd), true);
        local = socket.localDomainSocketAddress();
    }

    @Override
    protected Channel newChildChannel(final int fd, final byte[] addr, final int offset, final int len) {
        return new ScmDomainSocketChannel(this, new LinuxSocket(fd));
    }

    @Override
    protected DomainSocketAddress localAddress0() { return local; }

    @Override
    protected void doBind(final SocketAddress localAddress) throws Exception {
        socket.bind(localAddress);
        socket.listen(config.getBacklog());
        local = (DomainSocketAddress) localAddress;
        active = true;
    }

    @Override
    public EpollServerChannelConfig config() { return config; }

    @Override
    public DomainSocketAddress remoteAddress() { return (DomainSocketAddress) super.remoteAddress(); }

    @Override
    public DomainSocketAddress localAddress() { return (DomainSocketAddress) super.localAddress(); }
}
