package io.netty.channel.epoll;

import dev.viommu.core.posix.Posix;
import dev.viommu.core.posix.PosixException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.channel.unix.DomainSocketChannel;
import io.netty.channel.unix.PeerCredentials;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A Netty epoll domain-socket channel that reads with its own {@code recvmsg}, so that descriptors passed with
 * SCM_RIGHTS arrive together with the bytes they rode on (as QMP's {@code getfd} sends them) and are received
 * close-on-exec.
 * <p>
 * Why this lives in Netty's package: Netty's {@code FILE_DESCRIPTORS} read mode reads with a 1-byte iovec and
 * throws the data byte away, and in {@code BYTES} mode a plain {@code read} makes the kernel close any passed
 * descriptor (style guide, part A5 and C). The read loop is the only package-private hook, so this class
 * replaces just {@code epollInReady} and leaves writes, close and the event loop to Netty. Channels are
 * level-triggered in Netty 4.2, so a read that stops early is simply called again.
 * <p>
 * Each read fires one {@link ScmRead} down the pipeline: the bytes, and the descriptors that came with them.
 * The first handler owns those descriptors.
 */
public final class ScmDomainSocketChannel extends AbstractEpollStreamChannel implements DomainSocketChannel {
    private static final int READ_BUFFER = 16 * 1024;

    /** What one recvmsg delivered: the bytes, and the fds that arrived with the first of them. */
    public record ScmRead(ByteBuf bytes, int[] fds, boolean controlTruncated) {}

    // Made on the first read, on the event loop: a new connection's greeting must not wait for the FFM
    // layouts and VarHandles recvmsg needs (their first use spins bytecode).
    private Arena arena;
    private MemorySegment buffer;
    private Posix.RecvScratch scratch;
    private boolean closed;

    private final EpollDomainSocketChannelConfig config = new EpollDomainSocketChannelConfig(this);
    private final DomainSocketAddress local, remote;

    /**
     * Reads, on the event loop, whatever an adopted socket already holds. Its first bytes may have arrived before
     * it was registered with epoll (the early greeter's clients send as soon as they are greeted), and with
     * edge-triggered epoll that readiness is not guaranteed to be reported again; a read that finds nothing is
     * harmless.
     */
    public void readPendingInput() {
        eventLoop().execute(() -> {
            if (isActive() && config().isAutoRead()) ((ScmUnsafe) unsafe()).epollInReady();
        });
    }

    /** Adopts a connected, non-blocking domain socket (one the early greeter accepted); it is closed with the channel. */
    public static ScmDomainSocketChannel adopt(final int fd) {
        return new ScmDomainSocketChannel(null, new LinuxSocket(fd));
    }

    ScmDomainSocketChannel(final Channel parent, final LinuxSocket fd) {
        super(parent, fd);
        local = fd.localDomainSocketAddress();
        remote = fd.remoteDomainSocketAddress();
    }

    @Override
    public EpollDomainSocketChannelConfig config() { return config; }

    @Override
    protected DomainSocketAddress localAddress0() { return local; }

    @Override
    protected DomainSocketAddress remoteAddress0() { return remote; }

    @Override
    public DomainSocketAddress remoteAddress() { return (DomainSocketAddress) super.remoteAddress(); }

    @Override
    public DomainSocketAddress localAddress() { return (DomainSocketAddress) super.localAddress(); }

    /** SO_PEERCRED of the connected client. */
    public PeerCredentials peerCredentials() throws java.io.IOException { return socket.getPeerCredentials(); }

    @Override
    protected AbstractEpollUnsafe newUnsafe() {
        return new ScmUnsafe();
    }

    @Override
    protected void doClose() throws Exception {
        try {
            super.doClose();
        } finally {
            // The buffers are only used on the event loop, which is where doClose runs.
            closed = true;
            if (arena != null && arena.scope().isAlive()) arena.close();
        }
    }

    private final class ScmUnsafe extends EpollStreamUnsafe {
        @Override
        void epollInReady() {
            if (socket.isInputShutdown() || closed) {
                clearEpollIn0();
                return;
            }
            if (arena == null) {
                arena = Arena.ofShared();
                buffer = arena.allocate(READ_BUFFER);
                scratch = new Posix.RecvScratch(arena);
            }
            final ChannelPipeline pipeline = pipeline();
            final int[] fdsBuf = new int[Posix.MAX_FDS_PER_MESSAGE];
            try {
                // Read at most a few messages per wakeup; level-triggered epoll calls again if more is pending.
                for (int i = 0; i < 16; i++) {
                    final int[] count = {0};
                    final long n = Posix.recvWithFds(socket.intValue(), buffer, scratch, fd -> {
                        if (count[0] < fdsBuf.length) fdsBuf[count[0]++] = fd;
                        else Posix.closeQuietly(fd);
                    }, false);
                    if (n < 0) break;                       // EAGAIN
                    if (n == 0) {                           // EOF: close any fds and the channel
                        for (int k = 0; k < count[0]; k++) Posix.closeQuietly(fdsBuf[k]);
                        close(voidPromise());
                        return;
                    }
                    final ByteBuf bytes = alloc().heapBuffer((int) n);
                    final byte[] tmp = new byte[(int) n];
                    MemorySegment.copy(buffer, ValueLayout.JAVA_BYTE, 0, tmp, 0, (int) n);
                    bytes.writeBytes(tmp);
                    readPending = false;
                    pipeline.fireChannelRead(new ScmRead(bytes, java.util.Arrays.copyOf(fdsBuf, count[0]), scratch.ctrunc()));
                }
                pipeline.fireChannelReadComplete();
            } catch (PosixException e) {
                pipeline.fireChannelReadComplete();
                pipeline.fireExceptionCaught(e);
                close(voidPromise());
            } finally {
                if (!config().isAutoRead() && !readPending) clearEpollIn();
            }
        }
    }
}
