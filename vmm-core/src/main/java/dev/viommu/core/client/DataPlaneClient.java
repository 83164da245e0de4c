package dev.viommu.core.client;

import dev.viommu.core.dataplane.DataPlane;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;

/**
 * The data-plane client a hypervisor embeds: MMIO reads and writes, translation requests and doorbells to the
 * sidecar; interrupts and IOTLB-invalidation notices back through a {@link Listener}.
 * <p>
 * It is synchronous and thread-safe: a call sends its frame and reads until its reply, handing asynchronous
 * frames that arrive meanwhile to the listener on the calling thread. {@link #poll} drains asynchronous
 * frames between calls. No thread hand-off, so a round trip costs one socket write and one read.
 */
public final class DataPlaneClient implements AutoCloseable {

    /** Receives the sidecar's asynchronous frames. */
    public interface Listener {
        default void msi(final int handle, final long address, final int data) { }

        default void line(final int handle, final int line, final boolean level) { }

        default void iotlbInvalidate(final int handle, final int sourceId, final int pasid, final long iova, final long size) { }

        /** The vIOMMU answered an emulated endpoint's page request group. */
        default void pageResponse(final int handle, final int sourceId, final int pasid, final int groupIndex, final int code) { }
    }

    /** A data-plane error reply (bad handle, region, access) or a protocol violation. */
    public static final class DataPlaneException extends IOException {
        private final int status;

        public DataPlaneException(final int status, final String message) {
            super(message + ": " + DataPlane.statusName(status));
            this.status = status;
        }

        public int status() { return status; }
    }

    /** The result of a TRANSLATE request. */
    public record TranslateReply(boolean ok, long outputAddress, int permissions, long pageSize, int faultCode) {}

    /** The result of a REMAP_MSI request. */
    public record RemapReply(boolean delivered, long address, int data, int faultReason) {}

    private final SocketChannel ch;
    private final Listener listener;
    private final ByteBuffer out = ByteBuffer.allocateDirect(4 + DataPlane.MAX_FRAME).order(ByteOrder.LITTLE_ENDIAN);
    private final ByteBuffer in = ByteBuffer.allocateDirect(64 * 1024).order(ByteOrder.LITTLE_ENDIAN);
    private int nextTag = 1;
    private boolean blockingMode = true;

    private DataPlaneClient(final SocketChannel ch, final Listener listener) {
        this.ch = ch;
        this.listener = listener;
        in.limit(0);
    }

    public static DataPlaneClient connect(final Path socket, final Listener listener) throws IOException {
        final SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        return new DataPlaneClient(ch, listener == null ? new Listener() { } : listener);
    }

    private int begin(final int type, final int handle) {
        final int tag = nextTag++;
        if (nextTag == 0) nextTag = 1;
        out.clear();
        final int len = DataPlane.lengthOf(type);
        out.putInt(0, len);
        for (int i = 4; i < 4 + len; i += 8) out.putLong(i, 0L);
        out.putShort(4 + DataPlane.TYPE_OFFSET, (short) type);
        out.putShort(4 + DataPlane.HANDLE_OFFSET, (short) handle);
        out.putInt(4 + DataPlane.TAG_OFFSET, tag);
        out.limit(4 + len);
        return tag;
    }

    private void send() throws IOException {
        while (out.hasRemaining()) ch.write(out);
    }

    /** An MMIO read of {@code size} bytes; returns after every earlier write on this connection took effect. */
    public synchronized long mmioRead(final int handle, final int region, final long offset, final int size) throws IOException {
        final int tag = begin(DataPlane.MMIO_READ, handle);
        out.put(4 + DataPlane.MMIO_REGION, (byte) region);
        out.put(4 + DataPlane.MMIO_SIZE, (byte) size);
        out.putLong(4 + DataPlane.MMIO_OFFSET, offset);
        send();
        final int f = awaitReply(tag, DataPlane.MMIO_READ_REPLY);
        final int status = in.getInt(f + DataPlane.RR_STATUS);
        if (status != DataPlane.S_OK) throw new DataPlaneException(status, "MMIO read");
        return in.getLong(f + DataPlane.RR_VALUE);
    }

    /** A posted MMIO write. */
    public synchronized void mmioWrite(final int handle, final int region, final long offset, final int size, final long value)
            throws IOException {
        begin(DataPlane.MMIO_WRITE, handle);
        out.put(4 + DataPlane.MMIO_REGION, (byte) region);
        out.put(4 + DataPlane.MMIO_SIZE, (byte) size);
        out.putLong(4 + DataPlane.MMIO_OFFSET, offset);
        out.putLong(4 + DataPlane.MMIO_VALUE, value);
        send();
    }

    public synchronized TranslateReply translate(final int handle, final int sourceId, final int pasid, final long iova,
                                                 final int access) throws IOException {
        final int tag = begin(DataPlane.TRANSLATE, handle);
        out.putInt(4 + DataPlane.TR_SOURCE, sourceId);
        out.putInt(4 + DataPlane.TR_PASID, pasid);
        out.putLong(4 + DataPlane.TR_IOVA, iova);
        out.putInt(4 + DataPlane.TR_ACCESS, access);
        send();
        final int f = awaitReply(tag, DataPlane.TRANSLATE_REPLY);
        final int status = in.getInt(f + DataPlane.TRR_STATUS);
        if (status != DataPlane.S_OK && status != DataPlane.S_FAULT) throw new DataPlaneException(status, "translate");
        return new TranslateReply(status == DataPlane.S_OK, in.getLong(f + DataPlane.TRR_OUT),
                in.getInt(f + DataPlane.TRR_PERMS), in.getLong(f + DataPlane.TRR_PAGE_SIZE), in.getInt(f + DataPlane.TRR_FAULT));
    }

    /**
     * An emulated endpoint's page request (PCIe PRI). Returns whether the vIOMMU accepted it; the group's
     * response arrives later through {@link Listener#pageResponse}.
     */
    public synchronized boolean pageRequest(final int handle, final int sourceId, final int pasid, final long address,
                                            final int access, final boolean last, final int groupIndex) throws IOException {
        final int tag = begin(DataPlane.PAGE_REQUEST, handle);
        out.putInt(4 + DataPlane.PR_SOURCE, sourceId);
        out.putInt(4 + DataPlane.PR_PASID, pasid);
        out.putLong(4 + DataPlane.PR_ADDRESS, address);
        out.putInt(4 + DataPlane.PR_ACCESS, access);
        out.putShort(4 + DataPlane.PR_GROUP, (short) groupIndex);
        out.putShort(4 + DataPlane.PR_FLAGS, (short) (last ? DataPlane.PR_FLAG_LAST : 0));
        send();
        final int f = awaitReply(tag, DataPlane.PAGE_REQUEST_REPLY);
        return in.getInt(f + DataPlane.PRR_STATUS) == DataPlane.S_OK;
    }

    /** Asks the vIOMMU's interrupt remapping what a device's MSI write becomes. */
    public synchronized RemapReply remapMsi(final int handle, final int sourceId, final long address, final int data) throws IOException {
        final int tag = begin(DataPlane.REMAP_MSI, handle);
        out.putInt(4 + DataPlane.RM_SOURCE, sourceId);
        out.putInt(4 + DataPlane.RM_DATA, data);
        out.putLong(4 + DataPlane.RM_ADDRESS, address);
        send();
        final int f = awaitReply(tag, DataPlane.REMAP_MSI_REPLY);
        return new RemapReply(in.getInt(f + DataPlane.RMR_STATUS) == DataPlane.S_OK, in.getLong(f + DataPlane.RMR_ADDRESS),
                in.getInt(f + DataPlane.RMR_DATA), in.getInt(f + DataPlane.RMR_FAULT));
    }

    /** A posted queue notification (virtio notify). */
    public synchronized void doorbell(final int handle, final int queue) throws IOException {
        begin(DataPlane.DOORBELL, handle);
        out.putInt(4 + DataPlane.DB_QUEUE, queue);
        send();
    }

    /** A round trip with no device work: liveness and latency measurement. */
    public synchronized long ping(final long payload) throws IOException {
        final int tag = begin(DataPlane.PING, 0);
        out.putLong(4 + DataPlane.PING_PAYLOAD, payload);
        send();
        final int f = awaitReply(tag, DataPlane.PONG);
        return in.getLong(f + DataPlane.PING_PAYLOAD);
    }

    /**
     * Handles asynchronous frames already received or arriving within {@code timeoutMillis} (0: only what is
     * buffered or readable now). Returns how many were handled.
     */
    public synchronized int poll(final long timeoutMillis) throws IOException {
        int handled = 0;
        final long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
        while (true) {
            int f;
            while ((f = nextFrame()) >= 0) {
                dispatchAsync(f);
                handled++;
            }
            if (handled > 0 || System.nanoTime() - deadline >= 0) {
                // one non-blocking read for anything that just arrived
                if (!readSome(false)) return handled;
                continue;
            }
            if (!readSome(false)) {
                try { Thread.sleep(1); } catch (InterruptedException e) { Thread.currentThread().interrupt(); return handled; }
            }
        }
    }

    /** Reads frames until the reply with {@code tag}; returns the frame's offset in {@link #in}. */
    private int awaitReply(final int tag, final int expectedType) throws IOException {
        while (true) {
            final int f = nextFrame();
            if (f < 0) { readSome(true); continue; }
            final int type = in.getShort(f + DataPlane.TYPE_OFFSET) & 0xFFFF;
            if (type == DataPlane.IRQ_MSI || type == DataPlane.IRQ_LINE || type == DataPlane.IOTLB_INVALIDATE
                    || type == DataPlane.PAGE_RESPONSE) {
                dispatchAsync(f);
                continue;
            }
            if (in.getInt(f + DataPlane.TAG_OFFSET) != tag) throw new DataPlaneException(DataPlane.S_MALFORMED, "reply out of order");
            if (type == DataPlane.ERROR) throw new DataPlaneException(in.getInt(f + DataPlane.ERR_STATUS), "request rejected");
            if (type != expectedType) throw new DataPlaneException(DataPlane.S_MALFORMED, "unexpected reply type " + type);
            return f;
        }
    }

    private void dispatchAsync(final int f) {
        final int type = in.getShort(f + DataPlane.TYPE_OFFSET) & 0xFFFF;
        final int handle = in.getShort(f + DataPlane.HANDLE_OFFSET) & 0xFFFF;
        switch (type) {
            case DataPlane.IRQ_MSI -> listener.msi(handle, in.getLong(f + DataPlane.MSI_ADDRESS), in.getInt(f + DataPlane.MSI_DATA));
            case DataPlane.IRQ_LINE -> listener.line(handle, in.getInt(f + DataPlane.LINE_NUMBER), in.getInt(f + DataPlane.LINE_LEVEL) != 0);
            case DataPlane.IOTLB_INVALIDATE -> listener.iotlbInvalidate(handle, in.getInt(f + DataPlane.INV_SOURCE),
                    in.getInt(f + DataPlane.INV_PASID), in.getLong(f + DataPlane.INV_IOVA), in.getLong(f + DataPlane.INV_SIZE));
            case DataPlane.PAGE_RESPONSE -> listener.pageResponse(handle, in.getInt(f + DataPlane.PRS_SOURCE),
                    in.getInt(f + DataPlane.PRS_PASID), in.getInt(f + DataPlane.PRS_GROUP), in.getInt(f + DataPlane.PRS_CODE));
            default -> { /* a stray reply: ignore */ }
        }
    }

    /** The offset of the next complete frame in {@code in} (consumed), or -1. */
    private int nextFrame() throws IOException {
        if (in.remaining() < 4) return -1;
        final int p = in.position();
        final int len = in.getInt(p);
        if (len < DataPlane.HEADER_LENGTH || len > DataPlane.MAX_FRAME) throw new DataPlaneException(DataPlane.S_MALFORMED, "frame length " + len);
        if (in.remaining() < 4 + len) return -1;
        in.position(p + 4 + len);
        return p + 4;
    }

    /** Reads more bytes; returns whether any arrived. Blocking reads wait for at least one byte. */
    private boolean readSome(final boolean blocking) throws IOException {
        in.compact();
        try {
            if (blockingMode != blocking) {
                ch.configureBlocking(blocking);
                blockingMode = blocking;
            }
            final int n = ch.read(in);
            if (n < 0) throw new java.io.EOFException("data plane closed by the sidecar");
            return n > 0;
        } finally {
            in.flip();
        }
    }

    @Override
    public void close() throws IOException { ch.close(); }
}
