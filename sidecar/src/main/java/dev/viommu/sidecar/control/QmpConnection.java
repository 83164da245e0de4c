package dev.viommu.sidecar.control;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.viommu.core.posix.Posix;
import dev.viommu.sidecar.Version;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.epoll.ScmDomainSocketChannel.ScmRead;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;

/**
 * One QMP client. Bytes are split into JSON texts on the event loop; each text, with the descriptors that
 * arrived with it, is executed on the single control thread, in order. Descriptors a command does not take are
 * closed after it runs, and any still pending when the client goes away are closed then.
 */
public final class QmpConnection extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(QmpConnection.class);
    private static final class Json {   // loaded with the first command, not with the greeting
        // Duplicate keys are refused, as QEMU's parser does (which member would count is anyone's guess), and
        // non-integral numbers are kept as BigDecimal so that an id such as 1e999 is echoed as the number it is.
        static final ObjectMapper MAPPER = new ObjectMapper()
                .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                .enable(com.fasterxml.jackson.databind.DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
    }
    public static final int MAX_TEXT = 64 * 1024;

    /** A complete text (or the reason it is not one) and the descriptors it owns. */
    private record Text(String text, String error, List<Integer> fds) {}

    private final java.util.function.Supplier<QmpCommands> commands;
    private final EventBus events;
    private final ExecutorService control;
    private final Runnable quit;
    private final JsonSplitter splitter = new JsonSplitter(MAX_TEXT);
    /** Descriptors owned by the text still being received (event loop only). */
    private List<Integer> carried = new ArrayList<>();
    /** Commands queued or running for this client: past {@link #HIGH_WATER} we stop reading from it. */
    private final java.util.concurrent.atomic.AtomicInteger inFlight = new java.util.concurrent.atomic.AtomicInteger();
    static final int HIGH_WATER = 64, LOW_WATER = 16;
    private final boolean greeted;
    private volatile Channel channel;
    private volatile boolean negotiated;
    private volatile boolean closed;

    /** @param greeted the client has had its greeting already (from the {@link EarlyGreeter}) */
    public QmpConnection(final java.util.function.Supplier<QmpCommands> commands, final EventBus events, final ExecutorService control,
                         final Runnable quit, final boolean greeted) {
        this.greeted = greeted;
        this.commands = commands;
        this.events = events;
        this.control = control;
        this.quit = quit;
    }

    @Override
    public void handlerAdded(final ChannelHandlerContext ctx) {
        channel = ctx.channel();       // known from here on: a reply never depends on channelActive having run first
    }

    @Override
    public void channelActive(final ChannelHandlerContext ctx) {
        if (!greeted) send(Version.greeting());     // written by hand: the greeting must not wait for JSON machinery to load
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(final ChannelHandlerContext ctx, final Object msg) {
        if (!(msg instanceof ScmRead read)) {
            ctx.fireChannelRead(msg);
            return;
        }
        final ByteBuf buf = read.bytes();
        try {
            if (read.controlTruncated()) LOG.warn("control client sent more than {} fds in one message; the kernel dropped the rest", Posix.MAX_FDS_PER_MESSAGE);
            final byte[] b = new byte[buf.readableBytes()];
            buf.readBytes(b);
            final List<Text> done = new ArrayList<>();
            splitter.feed(b, b.length, (text, error) -> {
                done.add(new Text(text, error, carried));
                carried = new ArrayList<>();
            });
            // Which text the descriptors came with: the kernel ends a read with the message that carried them (it may
            // have glued earlier messages in front, but never a later one behind), so they rode on the text still in
            // progress at the end of the read or else the last one it completed. Bytes that hold no text own none.
            final List<Integer> owner = splitter.inText() ? carried : done.isEmpty() ? null : done.getLast().fds();
            for (int fd : read.fds()) {
                // a text owns at most one message's worth: a client cannot pile up descriptors on a text it never ends
                if (owner != null && owner.size() < Posix.MAX_FDS_PER_MESSAGE) owner.add(fd);
                else Posix.closeQuietly(fd);
            }
            for (Text t : done) submit(t);
        } finally {
            buf.release();
        }
    }

    /** Queues a complete text for the control thread; the descriptors it owns are closed once it has run. */
    private void submit(final Text t) {
        if (inFlight.incrementAndGet() >= HIGH_WATER) channel.config().setAutoRead(false);
        control.execute(() -> {
            final ArrayDeque<Integer> mine = new ArrayDeque<>(t.fds());
            try {
                final String reply = execute(t.text(), t.error(), mine);
                if (reply != null) send(reply);
            } catch (RuntimeException e) {
                LOG.error("control command crashed", e);
                send(errorReply(null, QmpException.GENERIC, "internal error: " + e));
            } finally {
                for (int fd : mine) Posix.closeQuietly(fd);
                if (inFlight.decrementAndGet() <= LOW_WATER) resumeReading();
            }
        });
    }

    /** Reads again once the client's commands have drained and its replies are being consumed. */
    private void resumeReading() {
        final Channel ch = channel;
        if (ch != null && ch.isActive() && !ch.config().isAutoRead() && ch.isWritable() && inFlight.get() <= LOW_WATER) {
            ch.config().setAutoRead(true);
        }
    }

    @Override
    public void channelWritabilityChanged(final ChannelHandlerContext ctx) {
        // A client that does not read its replies is not read from either: its output buffer stays bounded.
        if (!ctx.channel().isWritable()) ctx.channel().config().setAutoRead(false);
        else resumeReading();
        ctx.fireChannelWritabilityChanged();
    }

    private String execute(final String text, final String splitError, final ArrayDeque<Integer> fds) {
        if (splitError != null) return errorReply(null, QmpException.GENERIC, splitError);
        final JsonNode req;
        try {
            req = Json.MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            return errorReply(null, QmpException.GENERIC, "JSON parse error, " + e.getOriginalMessage());
        }
        if (req == null || req.isMissingNode()) return errorReply(null, QmpException.GENERIC, "QMP input must be a JSON object");
        final String bad = badString(req);
        if (bad != null) return errorReply(null, QmpException.GENERIC, "JSON parse error, " + bad);
        if (!req.isObject()) return errorReply(null, QmpException.GENERIC, "QMP input must be a JSON object");
        final JsonNode id = req.get("id");
        for (var it = req.fieldNames(); it.hasNext(); ) {
            final String f = it.next();
            if (!f.equals("execute") && !f.equals("arguments") && !f.equals("id") && !f.equals("exec-oob")) {
                return errorReply(id, QmpException.GENERIC, "QMP input member '" + f + "' is unexpected");
            }
        }
        if (req.has("exec-oob")) return errorReply(id, QmpException.GENERIC, "QMP input member 'exec-oob' is unexpected: out-of-band execution is not supported");
        final JsonNode exec = req.get("execute");
        if (exec == null) return errorReply(id, QmpException.GENERIC, "QMP input lacks member 'execute'");
        if (!exec.isTextual()) return errorReply(id, QmpException.GENERIC, "QMP input member 'execute' must be a string");
        final JsonNode args = req.get("arguments");
        if (args != null && !args.isObject()) return errorReply(id, QmpException.GENERIC, "QMP input member 'arguments' must be an object");
        final String name = exec.asText();
        if (name.equals("qmp_capabilities")) {
            if (negotiated) return errorReply(id, QmpException.COMMAND_NOT_FOUND, "Capabilities negotiation is already complete, command ignored");
            final String refused = capabilitiesError(args);
            if (refused != null) return errorReply(id, QmpException.GENERIC, refused);
            negotiated = true;
            if (!closed) events.join(this);
            return okReply(id, Json.MAPPER.createObjectNode());
        }
        if (!negotiated) return errorReply(id, QmpException.COMMAND_NOT_FOUND, "Expecting capabilities negotiation with 'qmp_capabilities'");
        final QmpCommands.Handler h = commands.get().get(name);
        if (h == null) return errorReply(id, QmpException.COMMAND_NOT_FOUND, "The command " + name + " has not been found");
        final boolean[] quitAfter = {false};
        final QmpCommands.Session session = new QmpCommands.Session() {
            @Override public int takeFd() { final Integer fd = fds.poll(); return fd == null ? -1 : fd; }

            @Override public void requestQuit() { quitAfter[0] = true; }
        };
        try {
            final JsonNode ret = h.run(new Args(args == null ? Json.MAPPER.createObjectNode() : (ObjectNode) args), session);
            final String reply = okReply(id, ret);
            if (quitAfter[0]) {
                send(reply);
                events.emit("SHUTDOWN", java.util.Map.of("guest", false, "reason", "host-qmp-quit"));
                channel.eventLoop().execute(quit);   // after the reply is queued
                return null;
            }
            return reply;
        } catch (QmpException e) {
            return errorReply(id, e.errorClass(), e.getMessage());
        } catch (RuntimeException e) {
            // a bug in a command, not the client's doing; the client still gets its answer, with its id
            LOG.error("control command {} crashed", name, e);
            return errorReply(id, QmpException.GENERIC, "internal error: " + e);
        }
    }

    /**
     * qmp_capabilities' only argument, {@code enable}, is an array of capability names; none is offered, so any
     * name is refused by name (QEMU's words), and anything else is refused as QEMU's argument checks would.
     */
    private static String capabilitiesError(final JsonNode args) {
        if (args == null) return null;
        for (var it = args.fieldNames(); it.hasNext(); ) {
            final String f = it.next();
            if (!f.equals("enable")) return "Parameter '" + f + "' is unexpected";
        }
        final JsonNode enable = args.get("enable");
        if (enable == null || enable.isNull()) return null;
        if (!enable.isArray()) return "Invalid parameter type for 'enable', expected: array";
        for (int i = 0; i < enable.size(); i++) {
            if (!enable.get(i).isTextual()) return "Invalid parameter type for 'enable[" + i + "]', expected: string";
        }
        return enable.isEmpty() ? null : "Capability '" + enable.get(0).asText() + "' not available";
    }

    /**
     * What QEMU's parser refuses in strings and Jackson lets through: {@code \u0000} (a NUL would cut a path or
     * name short where it reaches C) and an escaped lone surrogate (no UTF-8 can carry it back, so an echoed id
     * would come back changed). Null if every key and string is fine.
     */
    private static String badString(final JsonNode n) {
        if (n.isTextual()) return badString(n.textValue());
        for (var it = n.properties().iterator(); it.hasNext(); ) {
            final var e = it.next();
            String b = badString(e.getKey());
            if (b == null) b = badString(e.getValue());
            if (b != null) return b;
        }
        if (n.isArray()) {
            for (JsonNode c : n) {
                final String b = badString(c);
                if (b != null) return b;
            }
        }
        return null;
    }

    private static String badString(final String s) {
        for (int i = 0; i < s.length(); i++) {
            final char c = s.charAt(i);
            if (c == 0) return "\\u0000 is not supported";
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) { i++; continue; }
            if (Character.isSurrogate(c)) return "invalid \\u escape: a lone surrogate";
        }
        return null;
    }

    private static String okReply(final JsonNode id, final JsonNode ret) {
        final ObjectNode o = Json.MAPPER.createObjectNode();
        o.set("return", ret);
        if (id != null) o.set("id", id);
        return o.toString();
    }

    private static String errorReply(final JsonNode id, final String cls, final String desc) {
        final ObjectNode o = Json.MAPPER.createObjectNode();
        o.putObject("error").put("class", cls).put("desc", desc);
        if (id != null) o.set("id", id);
        return o.toString();
    }

    /** Queues one line to the client (thread-safe). */
    void send(final String line) {
        final Channel ch = channel;
        if (ch == null || !ch.isActive()) return;
        ch.writeAndFlush(Unpooled.wrappedBuffer((line + "\n").getBytes(StandardCharsets.UTF_8)));
    }

    @Override
    public void channelInactive(final ChannelHandlerContext ctx) {
        closed = true;
        events.leave(this);
        for (int fd : carried) Posix.closeQuietly(fd);     // a text the client never finished
        carried = new ArrayList<>();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(final ChannelHandlerContext ctx, final Throwable cause) {
        LOG.warn("control connection error: {}", cause.toString());
        ctx.close();
    }
}
