package dev.viommu.sidecar.control;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A command's arguments with QMP's checks and QEMU's messages: a missing member ("Parameter 'x' is missing"),
 * a wrong type ("Invalid parameter type for 'x', expected: string"), an unexpected member.
 */
public final class Args {
    private final ObjectNode node;

    public Args(final ObjectNode node) { this.node = node; }

    public ObjectNode node() { return node; }

    /** Rejects members outside {@code allowed}. */
    public Args only(final Set<String> allowed) throws QmpException {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            final String f = it.next();
            if (!allowed.contains(f)) throw QmpException.generic("Parameter '" + f + "' is unexpected");
        }
        return this;
    }

    private JsonNode required(final String name) throws QmpException {
        final JsonNode v = node.get(name);
        if (v == null || v.isNull()) throw QmpException.generic("Parameter '" + name + "' is missing");
        return v;
    }

    private static QmpException type(final String name, final String expected) {
        return QmpException.generic("Invalid parameter type for '" + name + "', expected: " + expected);
    }

    public String string(final String name) throws QmpException {
        final JsonNode v = required(name);
        if (!v.isTextual()) throw type(name, "string");
        return v.asText();
    }

    public String string(final String name, final String dflt) throws QmpException {
        return node.hasNonNull(name) ? string(name) : dflt;
    }

    public boolean has(final String name) { return node.hasNonNull(name); }

    /** An unsigned integer that fits a Java long (QMP 'size'/'uint64'); negative or non-integral is a type error. */
    public long uint(final String name) throws QmpException {
        final JsonNode v = required(name);
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < 0) throw type(name, "uint64");
        return v.asLong();
    }

    public long uint(final String name, final long dflt) throws QmpException {
        return node.hasNonNull(name) ? uint(name) : dflt;
    }

    public boolean bool(final String name, final boolean dflt) throws QmpException {
        if (!node.hasNonNull(name)) return dflt;
        final JsonNode v = node.get(name);
        if (!v.isBoolean()) throw type(name, "boolean");
        return v.asBoolean();
    }

    /** Every member except {@code exclude}, as plain Java values (for device and object properties). */
    public Map<String, Object> rest(final Set<String> exclude) throws QmpException {
        final Map<String, Object> m = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            final Map.Entry<String, JsonNode> e = it.next();
            if (exclude.contains(e.getKey())) continue;
            final JsonNode v = e.getValue();
            if (v.isBoolean()) m.put(e.getKey(), v.asBoolean());
            else if (v.isIntegralNumber() && v.canConvertToLong()) m.put(e.getKey(), v.asLong());
            else if (v.isIntegralNumber()) m.put(e.getKey(), v.bigIntegerValue());
            else if (v.isTextual()) m.put(e.getKey(), v.asText());
            else throw type(e.getKey(), "a boolean, integer or string property value");
        }
        return m;
    }
}
