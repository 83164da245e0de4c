package dev.viommu.sidecar.control;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Map;
import java.util.concurrent.CopyOnWriteArraySet;

/** Sends QMP events to every client that has completed capabilities negotiation. */
public final class EventBus {
    private static final class Json {   // not loaded until the first event: start-up is measured
        static final ObjectMapper MAPPER = new ObjectMapper();
    }
    private final CopyOnWriteArraySet<QmpConnection> clients = new CopyOnWriteArraySet<>();

    void join(final QmpConnection c) { clients.add(c); }

    void leave(final QmpConnection c) { clients.remove(c); }

    public int clients() { return clients.size(); }

    /** {@code {"event", "data", "timestamp": {"seconds", "microseconds"}}}. */
    public void emit(final String event, final Map<String, Object> data) {
        final long micros = java.time.Instant.now().toEpochMilli() * 1000 + (System.nanoTime() / 1000) % 1000;
        final ObjectNode o = Json.MAPPER.createObjectNode();
        o.put("event", event);
        o.set("data", Json.MAPPER.valueToTree(data));
        o.putObject("timestamp").put("seconds", micros / 1_000_000).put("microseconds", micros % 1_000_000);
        final String line = o.toString();
        for (QmpConnection c : clients) c.send(line);
    }
}
