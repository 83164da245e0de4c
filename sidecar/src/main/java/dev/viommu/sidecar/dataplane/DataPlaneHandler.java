package dev.viommu.sidecar.dataplane;

import dev.viommu.core.dataplane.DataPlane;
import dev.viommu.core.spi.MmioRegion;
import dev.viommu.core.spi.PciFunction;
import dev.viommu.core.translate.Translation;
import dev.viommu.sidecar.machine.DeviceSlot;
import dev.viommu.sidecar.machine.Machine;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * Executes data-plane frames in arrival order on the connection's event loop: a read's reply is written only
 * after every earlier write took effect. Frames are read in place (no decoding objects); replies are small
 * pooled buffers flushed when the read burst ends.
 */
public final class DataPlaneHandler extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(DataPlaneHandler.class);
    private final Machine machine;
    private final DataPlaneServer server;
    private final Translation translation = new Translation();
    private final dev.viommu.core.spi.InterruptRemapper.Result remapped = new dev.viommu.core.spi.InterruptRemapper.Result();
    private long malformed;
    private boolean closing;      // event loop only

    public DataPlaneHandler(final Machine machine, final DataPlaneServer server) {
        this.machine = machine;
        this.server = server;
    }

    @Override
    public void channelActive(final ChannelHandlerContext ctx) {
        server.connected(ctx.channel());
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(final ChannelHandlerContext ctx) {
        server.disconnected(ctx.channel());
        ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(final ChannelHandlerContext ctx, final Object msg) {
        final ByteBuf f = (ByteBuf) msg;
        try {
            handle(ctx, f);
        } finally {
            f.release();
        }
    }

    @Override
    public void channelReadComplete(final ChannelHandlerContext ctx) {
        ctx.flush();
    }

    /** A hypervisor that does not read replies is not read from: the reply backlog stays bounded. */
    @Override
    public void channelWritabilityChanged(final ChannelHandlerContext ctx) {
        ctx.channel().config().setAutoRead(ctx.channel().isWritable());
        ctx.fireChannelWritabilityChanged();
    }

    private void handle(final ChannelHandlerContext ctx, final ByteBuf f) {
        final int base = f.readerIndex();
        final int len = f.readableBytes();
        if (len < DataPlane.HEADER_LENGTH) { error(ctx, 0, 0, DataPlane.S_MALFORMED); return; }
        final int type = f.getUnsignedShortLE(base + DataPlane.TYPE_OFFSET);
        final int handle = f.getUnsignedShortLE(base + DataPlane.HANDLE_OFFSET);
        final int tag = f.getIntLE(base + DataPlane.TAG_OFFSET);
        final int expected = DataPlane.lengthOf(type);
        if (expected < 0 || (type & DataPlane.REPLY) != 0 || type >= DataPlane.IRQ_MSI && type < DataPlane.REPLY) {
            error(ctx, type, tag, DataPlane.S_UNKNOWN_TYPE);
            return;
        }
        if (len != expected) { error(ctx, type, tag, DataPlane.S_MALFORMED); return; }
        if (type == DataPlane.PING) {
            final ByteBuf r = reply(ctx, DataPlane.PONG, 0, tag);
            r.setLongLE(4 + DataPlane.PING_PAYLOAD, f.getLongLE(base + DataPlane.PING_PAYLOAD));
            write(ctx, r);
            return;
        }
        final DeviceSlot slot = machine.byHandle(handle);
        if (slot == null) { error(ctx, type, tag, DataPlane.S_NO_DEVICE); return; }
        switch (type) {
            case DataPlane.MMIO_READ, DataPlane.MMIO_WRITE -> mmio(ctx, f, base, type, tag, slot);
            case DataPlane.TRANSLATE -> translate(ctx, f, base, tag, slot);
            case DataPlane.DOORBELL -> {
                final long q = f.getUnsignedIntLE(base + DataPlane.DB_QUEUE);
                if (!slot.enter()) { error(ctx, type, tag, DataPlane.S_NO_DEVICE); return; }
                try {
                    slot.model().doorbell((int) Math.min(q, Integer.MAX_VALUE));
                } catch (RuntimeException e) {
                    deviceBug(slot, e);                  // as for every other device call: logged, the connection lives
                } finally {
                    slot.lock().unlock();
                }
            }
            case DataPlane.PAGE_REQUEST -> pageRequest(ctx, f, base, tag, slot);
            case DataPlane.REMAP_MSI -> remapMsi(ctx, f, base, tag, slot);
            default -> error(ctx, type, tag, DataPlane.S_UNKNOWN_TYPE);
        }
    }

    private void pageRequest(final ChannelHandlerContext ctx, final ByteBuf f, final int base, final int tag, final DeviceSlot slot) {
        final var service = slot.model().pageRequests();
        if (service.isEmpty()) { error(ctx, DataPlane.PAGE_REQUEST, tag, DataPlane.S_NOT_SUPPORTED); return; }
        final int source = f.getIntLE(base + DataPlane.PR_SOURCE);
        final int pasid = f.getIntLE(base + DataPlane.PR_PASID);
        final long address = f.getLongLE(base + DataPlane.PR_ADDRESS);
        final int access = f.getIntLE(base + DataPlane.PR_ACCESS);
        final int group = f.getUnsignedShortLE(base + DataPlane.PR_GROUP);
        final boolean last = (f.getUnsignedShortLE(base + DataPlane.PR_FLAGS) & DataPlane.PR_FLAG_LAST) != 0;
        boolean accepted = false;
        slot.metrics().dataPlanePageRequests.increment();
        if (!slot.enter()) { error(ctx, DataPlane.PAGE_REQUEST, tag, DataPlane.S_NO_DEVICE); return; }
        try {
            accepted = service.get().pageRequest(source, pasid < 0 ? -1 : pasid, address, access, last, group);
        } catch (RuntimeException e) {
            deviceBug(slot, e);
        } finally {
            slot.lock().unlock();
        }
        final ByteBuf rep = reply(ctx, DataPlane.PAGE_REQUEST_REPLY, slot.handle(), tag);
        rep.setIntLE(4 + DataPlane.PRR_STATUS, accepted ? DataPlane.S_OK : 1);
        write(ctx, rep);
    }

    private void remapMsi(final ChannelHandlerContext ctx, final ByteBuf f, final int base, final int tag, final DeviceSlot slot) {
        final int source = f.getIntLE(base + DataPlane.RM_SOURCE);
        final int data = f.getIntLE(base + DataPlane.RM_DATA);
        final long address = f.getLongLE(base + DataPlane.RM_ADDRESS);
        final dev.viommu.core.spi.InterruptRemapper.Result r = remapped;
        final var remapper = slot.model().interruptRemapper();
        if (remapper.isEmpty()) {
            r.deliver(address, data);            // no remapping hardware: the MSI goes through as written
        } else {
            if (!slot.enter()) { error(ctx, DataPlane.REMAP_MSI, tag, DataPlane.S_NO_DEVICE); return; }
            try {
                remapper.get().remap(source, address, data, r);
            } catch (RuntimeException e) {
                deviceBug(slot, e);
                r.block(0);
            } finally {
                slot.lock().unlock();
            }
        }
        final ByteBuf rep = reply(ctx, DataPlane.REMAP_MSI_REPLY, slot.handle(), tag);
        rep.setIntLE(4 + DataPlane.RMR_STATUS, r.delivered ? DataPlane.S_OK : 1);
        rep.setIntLE(4 + DataPlane.RMR_DATA, r.data);
        rep.setLongLE(4 + DataPlane.RMR_ADDRESS, r.address);
        rep.setIntLE(4 + DataPlane.RMR_FAULT, r.faultReason);
        write(ctx, rep);
    }

    private void mmio(final ChannelHandlerContext ctx, final ByteBuf f, final int base, final int type, final int tag,
                      final DeviceSlot slot) {
        final int region = f.getUnsignedByte(base + DataPlane.MMIO_REGION);
        final int size = f.getUnsignedByte(base + DataPlane.MMIO_SIZE);
        final long offset = f.getLongLE(base + DataPlane.MMIO_OFFSET);
        final MmioRegion r;
        if (region == PciFunction.CONFIG_REGION) {
            final var pci = slot.model().pci();
            if (pci.isEmpty()) { error(ctx, type, tag, DataPlane.S_BAD_REGION); return; }
            r = new ConfigSpace(pci.get());
        } else {
            final List<MmioRegion> regions = slot.model().mmioRegions();
            if (region >= regions.size()) { error(ctx, type, tag, DataPlane.S_BAD_REGION); return; }
            r = regions.get(region);
        }
        if ((size != 1 && size != 2 && size != 4 && size != 8) || offset < 0 || offset > r.size() - size) {
            error(ctx, type, tag, DataPlane.S_BAD_ACCESS);
            return;
        }
        if (type == DataPlane.MMIO_WRITE) {
            final long value = f.getLongLE(base + DataPlane.MMIO_VALUE);
            slot.metrics().dataPlaneMmioWrites.increment();
            if (!slot.enter()) { error(ctx, type, tag, DataPlane.S_NO_DEVICE); return; }
            try { r.write(offset, size, value); } catch (RuntimeException e) { deviceBug(slot, e); } finally { slot.lock().unlock(); }
            return;
        }
        long value = 0;
        slot.metrics().dataPlaneMmioReads.increment();
        if (!slot.enter()) { error(ctx, type, tag, DataPlane.S_NO_DEVICE); return; }
        try { value = r.read(offset, size); } catch (RuntimeException e) { deviceBug(slot, e); } finally { slot.lock().unlock(); }
        final ByteBuf rep = reply(ctx, DataPlane.MMIO_READ_REPLY, slot.handle(), tag);
        rep.setIntLE(4 + DataPlane.RR_STATUS, DataPlane.S_OK);
        rep.setLongLE(4 + DataPlane.RR_VALUE, value);
        write(ctx, rep);
    }

    private void translate(final ChannelHandlerContext ctx, final ByteBuf f, final int base, final int tag, final DeviceSlot slot) {
        final int source = f.getIntLE(base + DataPlane.TR_SOURCE);
        final int pasid = f.getIntLE(base + DataPlane.TR_PASID);
        final long iova = f.getLongLE(base + DataPlane.TR_IOVA);
        final int access = f.getIntLE(base + DataPlane.TR_ACCESS);
        final Translation t = translation;
        slot.metrics().dataPlaneTranslations.increment();
        if (!slot.enter()) { error(ctx, DataPlane.TRANSLATE, tag, DataPlane.S_NO_DEVICE); return; }
        try {
            slot.model().translation().translate(source, pasid < 0 ? -1 : pasid, iova, access, t);
        } catch (RuntimeException e) {
            deviceBug(slot, e);
            t.fault(0, "internal-error");
        } finally {
            slot.lock().unlock();
        }
        final ByteBuf rep = reply(ctx, DataPlane.TRANSLATE_REPLY, slot.handle(), tag);
        rep.setIntLE(4 + DataPlane.TRR_STATUS, t.ok ? DataPlane.S_OK : DataPlane.S_FAULT);
        rep.setIntLE(4 + DataPlane.TRR_PERMS, t.permissions);
        rep.setLongLE(4 + DataPlane.TRR_OUT, t.outputAddress);
        rep.setLongLE(4 + DataPlane.TRR_PAGE_SIZE, t.pageSize);
        rep.setIntLE(4 + DataPlane.TRR_FAULT, t.faultCode);
        write(ctx, rep);
    }

    /** PCI configuration space seen as a region (config accesses are rare: a small object per access is fine). */
    private record ConfigSpace(PciFunction pci) implements MmioRegion {
        @Override public String name() { return "pci-config"; }
        @Override public long size() { return PciFunction.CONFIG_SIZE; }
        @Override public long read(final long offset, final int size) { return pci.configRead((int) offset, size); }
        @Override public void write(final long offset, final int size, final long value) { pci.configWrite((int) offset, size, value); }
    }

    /** A device model threw on guest input: a bug in the model; the guest sees a no-op, the sidecar lives on. */
    private static void deviceBug(final DeviceSlot slot, final RuntimeException e) {
        LOG.error("device {} threw on a guest access (a model bug; the access was dropped)", slot.model().id(), e);
        slot.metrics().fault("internal-error");
    }

    /** Writes a reply; when the outbound buffer fills, flushes and stops reading until it drains. */
    private static void write(final ChannelHandlerContext ctx, final ByteBuf b) {
        ctx.write(b, ctx.voidPromise());
        if (!ctx.channel().isWritable()) {
            ctx.flush();
            ctx.channel().config().setAutoRead(false);
        }
    }

    private static ByteBuf reply(final ChannelHandlerContext ctx, final int type, final int handle, final int tag) {
        final int len = DataPlane.lengthOf(type);
        final ByteBuf b = ctx.alloc().ioBuffer(4 + len);
        b.setZero(0, 4 + len);
        b.setIntLE(0, len);
        b.setShortLE(4 + DataPlane.TYPE_OFFSET, type);
        b.setShortLE(4 + DataPlane.HANDLE_OFFSET, handle);
        b.setIntLE(4 + DataPlane.TAG_OFFSET, tag);
        b.writerIndex(4 + len);
        return b;
    }

    private void error(final ChannelHandlerContext ctx, final int requestType, final int tag, final int status) {
        if ((malformed++ & 1023) == 0) LOG.warn("data plane: rejected a frame of type {}: {}", requestType, DataPlane.statusName(status));
        final ByteBuf b = reply(ctx, DataPlane.ERROR, 0, tag);
        b.setIntLE(4 + DataPlane.ERR_STATUS, status);
        b.setShortLE(4 + DataPlane.ERR_REQUEST_TYPE, requestType);
        write(ctx, b);
    }

    /**
     * A length prefix over {@link DataPlane#MAX_FRAME} (the frame decoder's TooLongFrameException) or a broken
     * socket: the connection is closed, as docs/dataplane.md says, but only after the replies owed to the frames
     * before it are flushed (closing at once would discard replies already written for well-formed requests).
     */
    @Override
    public void exceptionCaught(final ChannelHandlerContext ctx, final Throwable cause) {
        // Once per connection: after a peer has gone, every reply still being written fails here too (they are
        // written with the void promise), and a departed hypervisor with thousands of frames in flight must not
        // cost thousands of log lines.
        if (closing) return;
        closing = true;
        LOG.warn("data-plane connection closed: {}", cause.toString());
        ctx.channel().config().setAutoRead(false);
        ctx.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER).addListener(io.netty.channel.ChannelFutureListener.CLOSE);
    }
}
