package dev.viommu.sidecar.dataplane;

import dev.viommu.core.dataplane.DataPlane;
import dev.viommu.sidecar.PeerCredentialsCheck;
import dev.viommu.sidecar.UnixSockets;
import dev.viommu.sidecar.machine.Machine;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;

import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

/**
 * The data-plane socket: length-prefixed binary frames (see {@link DataPlane}), one connection or more from
 * the hypervisor. Asynchronous output (interrupts, IOTLB invalidations) goes to every connection.
 */
public final class DataPlaneServer implements AutoCloseable {
    private final CopyOnWriteArrayList<Channel> connections = new CopyOnWriteArrayList<>();
    private Channel server;

    public void start(final Path path, final EventLoopGroup group, final Supplier<Machine> machine,
                      final PeerCredentialsCheck check) throws IOException, InterruptedException {
        server = UnixSockets.bind(path, group, EpollServerDomainSocketChannel.class, new ChannelInitializer<>() {
            @Override
            protected void initChannel(final Channel ch) {
                ch.pipeline().addLast(check)
                        .addLast(new LengthFieldBasedFrameDecoder(ByteOrder.LITTLE_ENDIAN, 4 + DataPlane.MAX_FRAME, 0, 4, 0, 4, true))
                        .addLast(new DataPlaneHandler(machine.get(), DataPlaneServer.this));
            }
        });
    }

    void connected(final Channel ch) { connections.add(ch); }

    void disconnected(final Channel ch) { connections.remove(ch); }

    public int connections() { return connections.size(); }

    private void broadcast(final int type, final int handle, final java.util.function.Consumer<ByteBuf> fill) {
        for (Channel ch : connections) {
            final int len = DataPlane.lengthOf(type);
            final ByteBuf b = ch.alloc().ioBuffer(4 + len);
            b.setZero(0, 4 + len);
            b.setIntLE(0, len);
            b.setShortLE(4 + DataPlane.TYPE_OFFSET, type);
            b.setShortLE(4 + DataPlane.HANDLE_OFFSET, handle);
            b.writerIndex(4 + len);
            fill.accept(b);
            ch.writeAndFlush(b, ch.voidPromise());
        }
    }

    public void msi(final int handle, final long address, final int data) {
        broadcast(DataPlane.IRQ_MSI, handle, b -> {
            b.setIntLE(4 + DataPlane.MSI_DATA, data);
            b.setLongLE(4 + DataPlane.MSI_ADDRESS, address);
        });
    }

    public void line(final int handle, final int line, final boolean level) {
        broadcast(DataPlane.IRQ_LINE, handle, b -> {
            b.setIntLE(4 + DataPlane.LINE_NUMBER, line);
            b.setIntLE(4 + DataPlane.LINE_LEVEL, level ? 1 : 0);
        });
    }

    public void invalidate(final int handle, final int sourceId, final int pasid, final long iova, final long size) {
        broadcast(DataPlane.IOTLB_INVALIDATE, handle, b -> {
            b.setIntLE(4 + DataPlane.INV_SOURCE, sourceId);
            b.setIntLE(4 + DataPlane.INV_PASID, pasid);
            b.setLongLE(4 + DataPlane.INV_IOVA, iova);
            b.setLongLE(4 + DataPlane.INV_SIZE, size);
        });
    }

    public void pageResponse(final int handle, final int sourceId, final int pasid, final int group, final int code) {
        broadcast(DataPlane.PAGE_RESPONSE, handle, b -> {
            b.setIntLE(4 + DataPlane.PRS_SOURCE, sourceId);
            b.setIntLE(4 + DataPlane.PRS_PASID, pasid);
            b.setIntLE(4 + DataPlane.PRS_GROUP, group);
            b.setIntLE(4 + DataPlane.PRS_CODE, code);
        });
    }

    @Override
    public void close() {
        if (server != null) server.close().syncUninterruptibly();
        for (Channel c : connections) c.close();
    }
}
