package dev.viommu.core.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.viommu.core.posix.Posix;
import dev.viommu.core.posix.PosixException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;

/**
 * A blocking QMP client for the control socket, as a hypervisor or a test uses it. It can send descriptors with
 * a command the way QEMU's clients send {@code getfd}: SCM_RIGHTS on the command's own bytes.
 */
public final class QmpClient implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A QMP error reply. */
    public static final class QmpError extends IOException {
        private final String errorClass;

        public QmpError(final String errorClass, final String desc) {
            super(errorClass + ": " + desc);
            this.errorClass = errorClass;
        }

        public String errorClass() { return errorClass; }
    }

    private final int fd;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment buf = arena.allocate(64 * 1024);
    private final Posix.RecvScratch scratch = new Posix.RecvScratch(arena);
    private final StringBuilder pending = new StringBuilder();
    private final Deque<JsonNode> lines = new ArrayDeque<>();
    private final List<JsonNode> events = new ArrayList<>();
    private final JsonNode greeting;
    private int nextId = 1;

    private QmpClient(final int fd) throws IOException {
        this.fd = fd;
        this.greeting = readMessage();
        if (!greeting.has("QMP")) throw new IOException("no QMP greeting: " + greeting);
    }

    /** Connects and reads the greeting (does not negotiate). */
    public static QmpClient connect(final String socketPath) throws IOException {
        return new QmpClient(Posix.connectUnix(socketPath));
    }

    /** Connects and negotiates capabilities. */
    public static QmpClient open(final String socketPath) throws IOException {
        final QmpClient c = connect(socketPath);
        c.execute("qmp_capabilities", Map.of());
        return c;
    }

    public JsonNode greeting() { return greeting; }

    /** Executes a command; returns its {@code return} value or throws {@link QmpError}. */
    public JsonNode execute(final String command, final Map<String, ?> arguments, final int... fds) throws IOException {
        final JsonNode reply = call(command, arguments, fds);
        if (reply.has("error")) {
            throw new QmpError(reply.path("error").path("class").asText(), reply.path("error").path("desc").asText());
        }
        return reply.get("return");
    }

    /** Executes a command and returns the whole reply object (return or error). */
    public JsonNode call(final String command, final Map<String, ?> arguments, final int... fds) throws IOException {
        final ObjectNode req = JSON.createObjectNode();
        req.put("execute", command);
        if (arguments != null && !arguments.isEmpty()) req.set("arguments", JSON.valueToTree(arguments));
        final int id = nextId++;
        req.put("id", id);
        return sendRaw(JSON.writeValueAsString(req) + "\n", id, fds);
    }

    /** Sends raw bytes (possibly malformed) and returns the next non-event reply. */
    public JsonNode sendRaw(final String text, final int... fds) throws IOException {
        return sendRaw(text, Integer.MIN_VALUE, fds);
    }

    private JsonNode sendRaw(final String text, final int id, final int... fds) throws IOException {
        Posix.sendWithFds(fd, text.getBytes(StandardCharsets.UTF_8), fds);
        while (true) {
            final JsonNode m = readMessage();
            if (m.has("event")) { events.add(m); continue; }
            if (id != Integer.MIN_VALUE && m.has("id") && m.get("id").asInt() != id) continue;
            return m;
        }
    }

    /** Events received so far (and clears the list). */
    public List<JsonNode> takeEvents() {
        final List<JsonNode> l = new ArrayList<>(events);
        events.clear();
        return l;
    }

    /** Waits up to {@code timeoutMillis} for an event named {@code name}. */
    public JsonNode awaitEvent(final String name, final long timeoutMillis) throws IOException {
        final long deadline = System.currentTimeMillis() + timeoutMillis;
        while (true) {
            for (int i = 0; i < events.size(); i++) {
                if (name.equals(events.get(i).path("event").asText())) return events.remove(i);
            }
            if (System.currentTimeMillis() > deadline) throw new IOException("no event " + name + " within " + timeoutMillis + " ms");
            final JsonNode m = tryReadMessage();
            if (m == null) {
                try { Thread.sleep(2); } catch (InterruptedException e) { Thread.currentThread().interrupt(); throw new IOException(e); }
            } else if (m.has("event")) {
                events.add(m);
            }
        }
    }

    private JsonNode readMessage() throws IOException {
        while (true) {
            final JsonNode m = lines.poll();
            if (m != null) return m;
            fill(true);
        }
    }

    private JsonNode tryReadMessage() throws IOException {
        final JsonNode m = lines.poll();
        if (m != null) return m;
        fill(false);
        return lines.poll();
    }

    private void fill(final boolean blocking) throws IOException {
        final long n;
        try {
            n = Posix.recvWithFds(fd, buf, scratch, Posix::closeQuietly, blocking);
        } catch (PosixException e) {
            throw new IOException(e);
        }
        if (n == 0) throw new java.io.EOFException("control socket closed");
        if (n < 0) return;
        final byte[] b = new byte[(int) n];
        MemorySegment.copy(buf, ValueLayout.JAVA_BYTE, 0, b, 0, (int) n);
        pending.append(new String(b, StandardCharsets.UTF_8));
        int nl;
        while ((nl = pending.indexOf("\n")) >= 0) {
            final String line = pending.substring(0, nl).trim();
            pending.delete(0, nl + 1);
            if (!line.isEmpty()) lines.add(JSON.readTree(line));
        }
    }

    @Override
    public void close() {
        Posix.closeQuietly(fd);
        arena.close();
    }
}
