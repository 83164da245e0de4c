package dev.viommu.sidecar;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.viommu.core.posix.Posix;
import dev.viommu.core.posix.PosixException;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Random;

/**
 * A control-socket client for hostile tests: it writes any bytes, with any descriptors, in one write or split
 * anywhere, and reads the sidecar's lines with a deadline (a hang is a failure, not a stuck build). Lines are
 * split on bytes and decoded whole, so a reply's UTF-8 is checked as sent; numbers are read as BigDecimal, so
 * an echoed id compares exactly.
 */
final class RawQmpClient implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS);

    private final int fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment buf = arena.allocate(64 * 1024);
    private final Posix.RecvScratch scratch = new Posix.RecvScratch(arena);
    private final ByteArrayOutputStream partial = new ByteArrayOutputStream();
    private final ArrayDeque<JsonNode> lines = new ArrayDeque<>();
    private boolean eof, closed;

    private RawQmpClient(final int fd) { this.fd = fd; }

    /** Connects; reads nothing. */
    static RawQmpClient connect(final SidecarFixture fx) throws IOException {
        return new RawQmpClient(Posix.connectUnix(fx.controlPath()));
    }

    /** Connects and checks the greeting. */
    static RawQmpClient greeted(final SidecarFixture fx) throws IOException {
        final RawQmpClient c = connect(fx);
        final JsonNode g = c.readLine(5000);
        if (!g.has("QMP")) throw new IOException("no greeting: " + g);
        return c;
    }

    /** Connects and negotiates. */
    static RawQmpClient negotiated(final SidecarFixture fx) throws IOException {
        final RawQmpClient c = greeted(fx);
        c.write("{\"execute\":\"qmp_capabilities\"}");
        final JsonNode r = c.reply(5000);
        if (!r.has("return")) throw new IOException("negotiation failed: " + r);
        return c;
    }

    void write(final String text, final int... fds) throws PosixException {
        write(text.getBytes(StandardCharsets.UTF_8), fds);
    }

    void write(final byte[] bytes, final int... fds) throws PosixException {
        Posix.sendWithFds(fd, bytes, fds);
    }

    /** Writes {@code bytes} in random pieces (byte by byte when {@code maxPiece} is 1); fds ride on the first. */
    void writeSplit(final byte[] bytes, final Random rnd, final int maxPiece, final int... fds) throws PosixException {
        int off = 0;
        boolean first = true;
        while (off < bytes.length) {
            final int n = Math.min(bytes.length - off, 1 + rnd.nextInt(maxPiece));
            Posix.sendWithFds(fd, Arrays.copyOfRange(bytes, off, off + n), first ? fds : new int[0]);
            first = false;
            off += n;
        }
    }

    /** The next line that is not an event; fails on EOF or after {@code timeoutMillis}. */
    JsonNode reply(final long timeoutMillis) throws IOException {
        final long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        while (true) {
            final JsonNode m = readLine(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
            if (m.has("event")) continue;       // DEVICE_DELETED and the like, to every negotiated client
            return m;
        }
    }

    /** The next line; EOFException at end of stream, SocketTimeoutException after the deadline. */
    JsonNode readLine(final long timeoutMillis) throws IOException {
        final long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
        while (lines.isEmpty()) {
            if (eof) throw new EOFException("control socket closed");
            if (!fill()) {
                if (System.nanoTime() > deadline) throw new SocketTimeoutException("no line within " + timeoutMillis + " ms");
                java.util.concurrent.locks.LockSupport.parkNanos(100_000);
            }
        }
        return lines.poll();
    }

    private boolean fill() throws IOException {
        final long n;
        try {
            n = Posix.recvWithFds(fd, buf, scratch, Posix::closeQuietly, false);
        } catch (PosixException e) {
            eof = true;      // ECONNRESET: the sidecar closed with our bytes unread
            return true;
        }
        if (n < 0) return false;
        if (n == 0) { eof = true; return true; }
        for (long i = 0; i < n; i++) {
            final byte b = buf.get(ValueLayout.JAVA_BYTE, i);
            if (b != '\n') { partial.write(b); continue; }
            final byte[] line = partial.toByteArray();
            partial.reset();
            final String s = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(line)).toString();
            lines.add(JSON.readTree(s));
        }
        return true;
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Posix.closeQuietly(fd);
        arena.close();
    }
}
