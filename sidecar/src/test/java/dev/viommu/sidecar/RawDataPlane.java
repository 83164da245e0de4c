package dev.viommu.sidecar;

import dev.viommu.core.dataplane.DataPlane;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

/**
 * A data-plane client for hostile tests: it writes any bytes, whole or split anywhere, and reads frames with a
 * deadline, so a missing reply is a failure rather than a hang.
 */
final class RawDataPlane implements AutoCloseable {
    private final SocketChannel ch;
    private final ByteBuffer in = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
    private boolean eof;

    RawDataPlane(final Path socket) throws IOException {
        ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        ch.configureBlocking(false);
        in.limit(0);
    }

    void write(final byte[] b) throws IOException {
        final ByteBuffer buf = ByteBuffer.wrap(b);
        final long deadline = System.nanoTime() + 5_000_000_000L;
        while (buf.hasRemaining()) {
            if (ch.write(buf) == 0) {
                if (System.nanoTime() > deadline) throw new SocketTimeoutException("the sidecar stopped reading");
                java.util.concurrent.locks.LockSupport.parkNanos(100_000);
            }
        }
    }

    /** Writes in random pieces (byte by byte when {@code maxPiece} is 1). */
    void writeSplit(final byte[] b, final Random rnd, final int maxPiece) throws IOException {
        int off = 0;
        while (off < b.length) {
            final int n = Math.min(b.length - off, 1 + rnd.nextInt(maxPiece));
            write(Arrays.copyOfRange(b, off, off + n));
            off += n;
        }
    }

    /** The next frame (without its length prefix), little-endian; EOFException at end of stream. */
    ByteBuffer frame(final long timeoutMillis) throws IOException {
        final long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        while (true) {
            if (in.remaining() >= 4) {
                final int len = in.getInt(in.position());
                if (len < DataPlane.HEADER_LENGTH || len > DataPlane.MAX_FRAME) throw new IOException("the sidecar sent a frame of length " + len);
                if (in.remaining() >= 4 + len) {
                    final byte[] f = new byte[len];
                    in.position(in.position() + 4);
                    in.get(f);
                    return ByteBuffer.wrap(f).order(ByteOrder.LITTLE_ENDIAN);
                }
            }
            if (eof) throw new EOFException("data plane closed" + (in.hasRemaining() ? " mid-frame" : ""));
            if (!fill()) {
                if (System.nanoTime() > deadline) throw new SocketTimeoutException("no frame within " + timeoutMillis + " ms");
                java.util.concurrent.locks.LockSupport.parkNanos(100_000);
            }
        }
    }

    /** Waits for the sidecar to close the connection; false if it has not within the deadline. */
    boolean awaitEof(final long timeoutMillis) throws IOException {
        final long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        while (!eof) {
            if (!fill()) {
                if (System.nanoTime() > deadline) return false;
                java.util.concurrent.locks.LockSupport.parkNanos(100_000);
            }
        }
        return true;
    }

    private boolean fill() throws IOException {
        in.compact();
        final int n;
        try {
            n = ch.read(in);
        } catch (IOException e) {
            eof = true;            // reset by the sidecar: the same as a close for these tests
            in.flip();
            return true;
        } 
        in.flip();
        if (n < 0) { eof = true; return true; }
        return n > 0;
    }

    /** A frame with its length prefix: {@code len} bytes of header and payload, the payload from {@code fill}. */
    static byte[] frame(final int len, final int type, final int handle, final int tag, final java.util.function.Consumer<ByteBuffer> fill) {
        final ByteBuffer b = ByteBuffer.allocate(4 + len).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, len);
        if (len >= 2) b.putShort(4, (short) type);
        if (len >= 4) b.putShort(6, (short) handle);
        if (len >= 8) b.putInt(8, tag);
        final ByteBuffer body = b.slice(4, len).order(ByteOrder.LITTLE_ENDIAN);
        if (fill != null) fill.accept(body);
        return b.array();
    }

    @Override
    public void close() throws IOException { ch.close(); }
}
