package dev.viommu.sidecar;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.viommu.core.posix.Posix;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Generates hostile control-socket input for one client, with what the sidecar must answer to each text
 * (docs/qmp.md): random but plausible commands from query-commands with arguments of wrong types, missing, extra,
 * huge, negative, unicode and NUL-bearing, deep; ids of every JSON type; malformed JSON; descriptors of the wrong
 * kind. Replies are checked against a {@link Model} of what the sidecar holds, which only changes when a reply
 * says a command succeeded; each client works in its own namespace (ids, fd names, a guest-physical window), so
 * clients can run concurrently against one model.
 */
final class QmpFuzzer {
    static final Set<String> ERROR_CLASSES = Set.of("GenericError", "CommandNotFound", "DeviceNotFound");
    static final int MEMFD_SIZE = 64 * 1024;
    /** The marker in a generated string that becomes an invalid UTF-8 sequence on the wire. */
    private static final char BAD_UTF8 = '\uE000';
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    /** Checks one reply (and updates the model if the reply says the command changed something). */
    interface Check {
        void check(JsonNode reply);
    }

    /** One text on the wire, the descriptors that ride on its first byte, and what its reply must be. */
    record Case(String what, byte[] bytes, int[] fds, Check check, int replies) {
        Case(final String what, final byte[] bytes, final int[] fds, final Check check) { this(what, bytes, fds, check, 1); }
    }

    enum FdKind { MEMFD, DEV_NULL, DIRECTORY, SOCKET, PROC_FILE }

    /** What the sidecar should hold, as far as the fuzzed clients can tell from their replies. */
    static final class Model {
        final Map<String, String> devices = new ConcurrentHashMap<>();                 // id -> driver
        final Map<String, Map<String, Long>> endpoints = new ConcurrentHashMap<>();    // device -> endpoint -> source-id
        final Map<String, long[]> memory = new ConcurrentHashMap<>();                  // id -> {gpa, size}
        final Map<String, FdKind> fds = new ConcurrentHashMap<>();                     // getfd name -> what it is
        final Set<String> hostObjects = ConcurrentHashMap.newKeySet();                 // iommufd objects
    }

    /** What the sidecar offers, learnt through the socket, and the files a client may name. */
    record Env(List<String> commands, Map<String, List<JsonNode>> driverProperties, Path regularFile, Path fifo,
               Path directory, Path dataPlane) {}

    private final Random rnd;
    private final Model m;
    private final Env env;
    private final String p;             // this client's namespace
    private final long gpaWindow;       // this client's guest-physical window
    private final boolean solo;         // the only client: may add iommufd objects (a machine-wide choice)
    boolean negotiated;
    private int serial;

    QmpFuzzer(final long seed, final Model model, final Env env, final String prefix, final long gpaWindow, final boolean solo) {
        this.rnd = new Random(seed);
        this.m = model;
        this.env = env;
        this.p = prefix;
        this.gpaWindow = gpaWindow;
        this.solo = solo;
    }

    Random random() { return rnd; }

    // ---- JSON text with the value it must parse to ------------------------------------------------------------

    /** A JSON text and its value; {@code bad}: the sidecar must refuse it as malformed (NUL, lone surrogate, ...). */
    record Raw(String text, JsonNode value, boolean bad) {
        static Raw of(final JsonNode v) { return new Raw(v.toString(), v, false); }
    }

    static Raw num(final String literal) {
        try {
            return new Raw(literal, RawQmpClient.JSON.readTree(literal), false);
        } catch (Exception e) {
            throw new IllegalArgumentException(literal, e);
        }
    }

    static Raw str(final String s) { return new Raw(quote(s), NODES.textNode(s), s.indexOf(BAD_UTF8) >= 0); }

    /** A JSON string literal: quotes, backslashes and control characters escaped, everything else as is. */
    static String quote(final String s) {
        final StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    static Raw obj(final List<Map.Entry<String, Raw>> members) {
        final StringBuilder b = new StringBuilder("{");
        final ObjectNode o = NODES.objectNode();
        boolean bad = false;
        for (Map.Entry<String, Raw> e : members) {
            if (b.length() > 1) b.append(',');
            b.append(quote(e.getKey())).append(':').append(e.getValue().text());
            bad |= e.getValue().bad() || o.has(e.getKey()) || e.getKey().indexOf(BAD_UTF8) >= 0;   // a duplicate key is refused
            o.set(e.getKey(), e.getValue().value());
        }
        return new Raw(b.append('}').toString(), o, bad);
    }

    static Raw arr(final List<Raw> items) {
        final StringBuilder b = new StringBuilder("[");
        final var a = NODES.arrayNode();
        boolean bad = false;
        for (Raw r : items) {
            if (b.length() > 1) b.append(',');
            b.append(r.text());
            a.add(r.value());
            bad |= r.bad();
        }
        return new Raw(b.append(']').toString(), a, bad);
    }

    private static Map.Entry<String, Raw> kv(final String k, final Raw v) { return Map.entry(k, v); }

    private <T> T pick(final List<T> l) { return l.get(rnd.nextInt(l.size())); }

    @SafeVarargs
    private <T> T pick(final T... l) { return l[rnd.nextInt(l.length)]; }

    private boolean chance(final int percent) { return rnd.nextInt(100) < percent; }

    /** Strings that are valid JSON and must round-trip exactly. */
    private String niceString() {
        return switch (rnd.nextInt(9)) {
            case 0 -> "";
            case 1 -> "x".repeat(1 + rnd.nextInt(3000));
            case 2 -> "é中文😀\u200F\u0301";
            case 3 -> "tab\there\nnew\"line\\";
            case 4 -> "\u0001\u001f";
            case 5 -> "\uD83D\uDE00";                 // a surrogate pair, written raw
            case 6 -> "%s %n {} ${x}";
            case 7 -> "0digit";
            default -> "s" + rnd.nextInt(1000);
        };
    }

    /** A string the sidecar must refuse as malformed JSON. */
    private Raw nastyString() {
        return switch (rnd.nextInt(5)) {
            case 0 -> new Raw("\"a\\u0000b\"", NODES.textNode("a\u0000b"), true);        // QEMU: \u0000 is not supported
            case 1 -> new Raw("\"\\ud800\"", NODES.textNode("\ud800"), true);            // lone high surrogate
            case 2 -> new Raw("\"x\\udc00y\"", NODES.textNode("x\udc00y"), true);        // lone low surrogate
            case 3 -> new Raw("\"\\ud800\\u0041\"", NODES.textNode("\ud800A"), true);    // high surrogate, no low one
            default -> str("bad" + BAD_UTF8 + "utf8");
        };
    }

    private Raw number() {
        return pick(num("0"), num("-0"), num("1"), num("-1"), num("4096"), num("18446744073709551616"),
                num("-9223372036854775809"), num("9223372036854775807"), num("1e999"), num("-1e999"), num("1.5"),
                num("-0.0"), num("1E-400"), num("123456789012345678901234567890.000000000000000000001"),
                num(Long.toString(rnd.nextLong())));
    }

    /** Any JSON value, nested up to {@code depth}. */
    Raw anyValue(final int depth) {
        final int k = rnd.nextInt(depth > 0 ? 10 : 7);
        return switch (k) {
            case 0, 1 -> number();
            case 2 -> str(niceString());
            case 3 -> Raw.of(NODES.booleanNode(rnd.nextBoolean()));
            case 4 -> Raw.of(NODES.nullNode());
            case 5 -> chance(10) ? nastyString() : str("v" + rnd.nextInt(100));
            case 6 -> Raw.of(NODES.numberNode(rnd.nextInt(1 << 16)));
            case 7 -> {
                final List<Raw> items = new ArrayList<>();
                for (int i = rnd.nextInt(4); i > 0; i--) items.add(anyValue(depth - 1));
                yield arr(items);
            }
            default -> {
                final List<Map.Entry<String, Raw>> ms = new ArrayList<>();
                for (int i = rnd.nextInt(4); i > 0; i--) ms.add(kv(chance(5) && !ms.isEmpty() ? ms.get(0).getKey() : "k" + rnd.nextInt(6), anyValue(depth - 1)));
                yield obj(ms);
            }
        };
    }

    static Raw nested(final int depth, final Raw inner) {
        Raw r = inner;
        for (int i = 0; i < depth; i++) r = arr(List.of(r));
        return r;
    }

    // ---- argument kinds, for ill-typed values -----------------------------------------------------------------

    enum Kind { STRING, UINT, BOOL }

    /** A non-null value that {@code kind} does not accept. */
    private Raw wrongFor(final Kind kind) {
        while (true) {
            final Raw v = anyValue(2);
            final JsonNode n = v.value();
            if (v.bad() || n.isNull()) continue;
            final boolean ok = switch (kind) {
                case STRING -> n.isTextual();
                case BOOL -> n.isBoolean();
                case UINT -> n.isIntegralNumber() && n.bigIntegerValue().signum() >= 0
                        && n.bigIntegerValue().bitLength() < 64;
            };
            if (!ok) return v;
        }
    }

    // ---- cases ------------------------------------------------------------------------------------------------

    /** The next random case. */
    Case next() {
        final int r = rnd.nextInt(100);
        if (r < 6) return garbage();
        if (r < 12) return malformedObject();
        if (r < 16) return envelopeError();
        if (r < 18) return chance(50) ? oversized() : deep();
        return command();
    }

    private Case make(final String what, final Raw text, final int[] fds, final Check check) {
        if (text.bad()) return new Case(what + " (malformed)", bytes(text.text()), fds, parseError(what));
        return new Case(what, bytes(text.text()), fds, check);
    }

    /** UTF-8, with each marker replaced by an invalid sequence. */
    private byte[] bytes(final String text) {
        if (text.indexOf(BAD_UTF8) < 0) return text.getBytes(StandardCharsets.UTF_8);
        final byte[][] invalid = {{(byte) 0xFF}, {(byte) 0xC0, (byte) 0x80}, {(byte) 0xED, (byte) 0xA0, (byte) 0x80},
                {(byte) 0xE2, (byte) 0x82}, {(byte) 0x80}, {(byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80}};
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final String[] parts = text.split(java.util.regex.Pattern.quote(String.valueOf(BAD_UTF8)), -1);
        for (int i = 0; i < parts.length; i++) {
            if (i > 0) out.writeBytes(pick(invalid));
            out.writeBytes(parts[i].getBytes(StandardCharsets.UTF_8));
        }
        return out.toByteArray();
    }

    /** Something other than an object or array at the top level: collected to the end of the line. */
    private Case garbage() {
        final String[] texts = {"x", "hello world", "\"just a string\"", "123", "1e999", "null", "true", "}", "]", ",",
                ":{\"execute\":\"query-version\"}", "-", "\u00ff\u00fe", "NaN", "'single'"};
        final byte[] body;
        if (chance(30)) {
            body = new byte[1 + rnd.nextInt(40)];
            for (int i = 0; i < body.length; i++) {
                byte b;
                do { b = (byte) rnd.nextInt(256); } while (b == '\n' || (i == 0 && (b == ' ' || b == '\t' || b == '\r' || b == '{' || b == '[')));
                body[i] = b;
            }
        } else {
            body = pick(texts).getBytes(StandardCharsets.UTF_8);
        }
        final byte[] line = new byte[body.length + 1];
        System.arraycopy(body, 0, line, 0, body.length);
        line[body.length] = '\n';
        return new Case("garbage line", line, new int[0], reply -> {
            assertError(reply, "GenericError");
            assertFalse(reply.has("id"), "garbage has no id to echo: " + reply);
        });
    }

    /** Balanced braces that are not valid JSON (so the splitter still finds the end). */
    private Case malformedObject() {
        final String[] texts = {
            "{\"execute\": \"query-version\",,}", "{\"execute\"}", "{\"execute\":}", "{\"execute\": query-version}",
            "{'execute': 'query-version'}", "{\"execute\": \"query-version\" \"id\": 1}", "{]", "[}", "{\"a\":[}]",
            "{\"execute\": \"query-version\", \"id\": 01}", "{\"execute\": \"query-version\", \"id\": +1}",
            "{\"execute\": \"query-version\", \"id\": .5}", "{\"execute\": \"query-version\", \"id\": NaN}",
            "{\"execute\": \"query-version\", \"id\": Infinity}", "{\"execute\": \"query-version\", \"id\": 1e}",
            "{\"execute\": \"query-version\", \"id\": \"\\x41\"}", "{\"execute\": \"query-version\", \"id\": \"\\u12\"}",
            "{\"execute\": \"query-version\", \"id\": 1,}", "{\"execute\": \"query-version\", \"id\": tru}",
            "{\"execute\": \"query-version\", \"id\": \"" + "\u0001" + "\"}",   // a raw control character
            "{\"execute\": \"query-version\", \"id\": 1, \"id\": 2}", "{\"execute\": \"query-version\", \"execute\": \"quit\"}",
            "{\"execute\": \"query-ver" + BAD_UTF8 + "sion\"}", "{\"execute\": \"query-version\"} trailing?",
        };
        final String t = pick(texts);
        if (t.endsWith("trailing?")) {
            // the object is a text of its own; what follows is garbage up to the newline
            final byte[] b = (t + "\n").getBytes(StandardCharsets.UTF_8);
            return new Case("object then garbage", b, new int[0], twoReplies(), 2);
        }
        return new Case("malformed object " + t, bytes(t), new int[0], parseError(t));
    }

    private Check twoReplies() {
        // the first reply is checked here; the garbage's reply is read and checked by the caller's sentinel logic
        return new Check() {
            int n;

            @Override public void check(final JsonNode reply) {
                if (n++ == 0) {
                    assertTrue(reply.has("error") || reply.has("return"), reply.toString());
                    return;
                }
                assertError(reply, "GenericError");
            }
        };
    }

    /** Well-formed JSON with a wrong QMP envelope. */
    private Case envelopeError() {
        final Raw id = randomId();
        final List<Map.Entry<String, Raw>> ms = new ArrayList<>();
        final String expectDesc;
        switch (rnd.nextInt(6)) {
            case 0 -> {
                ms.add(kv("execute", str("query-version")));
                final String extra = pick("foo", "Execute", "exec-oob", "arguments ", "");
                ms.add(kv(extra, anyValue(1)));
                expectDesc = extra.equals("exec-oob") ? "QMP input member 'exec-oob' is unexpected" : "QMP input member '" + extra + "' is unexpected";
            }
            case 1 -> {
                ms.add(kv("arguments", Raw.of(NODES.objectNode())));
                expectDesc = "QMP input lacks member 'execute'";
            }
            case 2 -> {
                ms.add(kv("execute", wrongFor(Kind.STRING)));
                expectDesc = "QMP input member 'execute' must be a string";
            }
            case 3 -> {
                ms.add(kv("execute", Raw.of(NODES.nullNode())));
                expectDesc = "QMP input member 'execute' must be a string";
            }
            case 4 -> {
                ms.add(kv("execute", str("query-version")));
                ms.add(kv("arguments", pick(Raw.of(NODES.nullNode()), Raw.of(NODES.arrayNode()), str("{}"), num("0"))));
                expectDesc = "QMP input member 'arguments' must be an object";
            }
            default -> {
                final Raw v = anyValue(2);
                final boolean isObj = v.value().isObject();
                return make("non-object text", isObj ? arr(List.of(v)) : (v.value().isArray() ? v : arr(List.of(v))), new int[0], reply -> {
                    assertErrorDesc(reply, "GenericError", "QMP input must be a JSON object");
                    assertFalse(reply.has("id"), reply.toString());
                });
            }
        }
        if (id != null) ms.add(rnd.nextInt(ms.size() + 1), kv("id", id));
        final Raw text = obj(ms);
        return make("envelope: " + expectDesc, text, new int[0], reply -> {
            assertError(reply, "GenericError");
            assertTrue(reply.path("error").path("desc").asText().startsWith(expectDesc), expectDesc + " vs " + reply);
            assertId(reply, id);
        });
    }

    /** A text over the 64 KiB limit, ended by a newline: refused, and the stream goes on after it. */
    private Case oversized() {
        final String t = "{\"execute\":\"query-version\",\"id\":\"" + "y".repeat(66 * 1024 + rnd.nextInt(8192)) + "\"}\n";
        return new Case("oversized text", t.getBytes(StandardCharsets.UTF_8), new int[0], reply -> {
            assertError(reply, "GenericError");
            assertTrue(reply.path("error").path("desc").asText().contains("too large"), reply.toString());
            assertFalse(reply.has("id"), reply.toString());
        });
    }

    /** An id nested deeper than any real client would: echoed while within the parser's limit, refused past it. */
    private Case deep() {
        final int depth = pick(10, 200, 500, 997, 998, 999, 1000, 1020, 1030, 3000);
        final Raw id = nested(depth, num("7"));
        final String t = "{\"execute\":\"query-version\",\"id\":" + id.text() + "}\n";
        return new Case("id nested " + depth + " deep", t.getBytes(StandardCharsets.UTF_8), new int[0], reply -> {
            assertWellFormed(reply);
            if (reply.has("id")) {
                assertId(reply, id);
                if (negotiated) assertReturn(reply);
                else assertErrorDesc(reply, "CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'");
            } else {
                assertError(reply, "GenericError");
                assertFalse(reply.has("id"), "a refused text has no id");
                assertTrue(depth >= 990, "refused an id only " + depth + " deep: " + reply);
            }
        });
    }

    private Raw randomId() {
        if (chance(20)) return null;
        return switch (rnd.nextInt(8)) {
            case 0 -> Raw.of(NODES.numberNode(serial++));
            case 1 -> number();
            case 2 -> str(niceString());
            case 3 -> Raw.of(NODES.booleanNode(rnd.nextBoolean()));
            case 4 -> Raw.of(NODES.nullNode());
            case 5 -> anyValue(4);
            case 6 -> nested(1 + rnd.nextInt(40), str("deep"));
            default -> chance(30) ? nastyString() : str(p + "-id-" + serial++);
        };
    }

    // ---- commands ---------------------------------------------------------------------------------------------

    /** A command, as a client would build it, perhaps spoilt; checked against the model when its reply comes. */
    private Case command() {
        // every command, the ones that build state more often, so that later commands meet devices, RAM and endpoints
        String name = switch (rnd.nextInt(4)) {
            case 0 -> pick(env.commands());
            case 1 -> pick("device_add", "device_add", "device-add", "object-add", "object-add", "getfd");
            case 2 -> pick("viommu-attach-device", "viommu-attach-device", "viommu-attach-device", "viommu-detach-device");
            default -> pick("query-viommu", "object-del", "device_del", "closefd", "query-viommus", "query-memory");
        };
        if (!env.commands().contains(name)) name = pick(env.commands());
        if (chance(3)) name = pick("no-such-command", "QUERY-VERSION", "query_version", "", "device_add ", "x".repeat(300), "qmp-capabilities");
        final Raw id = randomId();
        final Args a = arguments(name);
        final List<Map.Entry<String, Raw>> ms = new ArrayList<>();
        ms.add(kv("execute", str(name)));
        if (a.members != null) ms.add(rnd.nextInt(2), kv("arguments", obj(a.members)));
        if (id != null) ms.add(rnd.nextInt(ms.size() + 1), kv("id", id));
        final String cmd = name;
        return make(name + (a.spoilt ? " (spoilt)" : "") + " " + a.members, obj(ms), a.fds, reply -> {
            assertWellFormed(reply);
            assertId(reply, id);
            if (cmd.equals("qmp_capabilities")) {
                if (negotiated) {
                    assertErrorDesc(reply, "CommandNotFound", "Capabilities negotiation is already complete, command ignored");
                } else if (a.spoilt) {
                    assertError(reply, "GenericError");
                } else {
                    assertReturn(reply);
                    negotiated = true;
                }
                return;
            }
            if (!negotiated) {
                assertErrorDesc(reply, "CommandNotFound", "Expecting capabilities negotiation with 'qmp_capabilities'");
                return;
            }
            if (!env.commands().contains(cmd)) {
                assertErrorDesc(reply, "CommandNotFound", "The command " + cmd + " has not been found");
                return;
            }
            a.outcome.check(reply);
        });
    }

    /** A command's arguments (null members: none sent), its fds, and how to judge the reply. */
    private static final class Args {
        List<Map.Entry<String, Raw>> members = new ArrayList<>();
        int[] fds = new int[0];
        boolean spoilt;
        Check outcome = reply -> { };
    }

    /** A spec of one argument: its name, kind, whether required, and a good value. */
    private record Arg(String name, Kind kind, boolean required, Raw good) {}

    /**
     * Fills {@code a} from {@code spec}, spoiling it now and then: a required member dropped, a member of the
     * wrong type, an unexpected member. A spoilt command must fail (with GenericError, or DeviceNotFound when a
     * device lookup comes first) and change nothing.
     */
    private void fill(final Args a, final List<Arg> spec, final boolean extrasAreProperties) {
        final int spoil = chance(30) ? rnd.nextInt(3) : -1;
        final List<Arg> required = spec.stream().filter(Arg::required).toList();
        final Arg dropped = spoil == 0 && !required.isEmpty() ? pick(required) : null;
        final Arg retyped = spoil == 1 && !spec.isEmpty() ? pick(spec) : null;
        for (Arg s : spec) {
            if (s == dropped) continue;
            if (s == retyped) a.members.add(kv(s.name(), wrongFor(s.kind())));
            else if (s.good() != null) a.members.add(kv(s.name(), s.good()));
        }
        if (spoil == 2 && !extrasAreProperties) a.members.add(rnd.nextInt(a.members.size() + 1), kv(pick("bogus", "ID", "fd-name", ""), anyValue(1)));
        if (dropped != null && dropped.good() == null) return;   // it was not going to be sent anyway
        a.spoilt = dropped != null || retyped != null || (spoil == 2 && !extrasAreProperties);
        if (a.members.isEmpty() && chance(30)) a.members = null;   // no "arguments" member at all
    }

    private Args arguments(final String name) {
        final Args a = new Args();
        switch (name) {
            case "qmp_capabilities" -> {
                if (chance(70)) {
                    if (chance(50)) a.members.add(kv("enable", Raw.of(NODES.arrayNode())));
                } else {
                    a.spoilt = true;
                    switch (rnd.nextInt(4)) {
                        case 0 -> a.members.add(kv("enable", arr(List.of(str("oob")))));
                        case 1 -> a.members.add(kv("enable", pick(Raw.of(NODES.objectNode().put("a", 1)), str("oob"), num("3"), Raw.of(NODES.booleanNode(true)))));
                        case 2 -> a.members.add(kv("enable", arr(List.of(num("5")))));
                        default -> a.members.add(kv("bogus", anyValue(1)));
                    }
                }
                if (a.members.isEmpty() && chance(50)) a.members = null;
            }
            case "query-version", "query-commands", "query-viommus", "query-viommu-drivers", "query-metrics", "query-memory" -> {
                fill(a, List.of(), false);
                final boolean spoilt = a.spoilt;
                a.outcome = reply -> {
                    if (spoilt) { assertError(reply, "GenericError"); return; }
                    assertReturn(reply);
                    checkQuery(name, reply.get("return"));
                };
            }
            case "quit" -> {
                // never a clean quit: the sidecar must stay up
                a.members.add(kv(pick("bogus", "force", "now"), anyValue(1)));
                a.outcome = reply -> assertErrorDesc(reply, "GenericError", "Parameter '");
            }
            case "getfd" -> getfd(a);
            case "closefd" -> {
                final String fdname = chance(70) && !own(m.fds.keySet()).isEmpty() ? pick(own(m.fds.keySet())) : p + "-nofd" + rnd.nextInt(5);
                fill(a, List.of(new Arg("fdname", Kind.STRING, true, str(fdname))), false);
                final boolean spoilt = a.spoilt;
                a.outcome = reply -> {
                    if (spoilt || !m.fds.containsKey(fdname)) {
                        assertError(reply, "GenericError");
                        return;
                    }
                    assertReturn(reply);
                    m.fds.remove(fdname);
                };
            }
            case "object-add" -> objectAdd(a);
            case "object-del" -> {
                final List<String> ids = new ArrayList<>(own(m.memory.keySet()));
                ids.addAll(own(m.hostObjects));
                final String id = chance(70) && !ids.isEmpty() ? pick(ids) : p + "-noobj" + rnd.nextInt(5);
                fill(a, List.of(new Arg("id", Kind.STRING, true, str(id))), false);
                final boolean spoilt = a.spoilt;
                a.outcome = reply -> {
                    if (spoilt || (!m.memory.containsKey(id) && !m.hostObjects.contains(id))) {
                        assertError(reply, "GenericError");
                        return;
                    }
                    if (m.hostObjects.contains(id) && !m.devices.isEmpty()) {
                        assertError(reply, "GenericError");        // in use by a vIOMMU
                        return;
                    }
                    assertReturn(reply);
                    m.memory.remove(id);
                    m.hostObjects.remove(id);
                };
            }
            case "device_add", "device-add" -> deviceAdd(a);
            case "device_del", "device-del" -> {
                final String id = chance(75) && !own(m.devices.keySet()).isEmpty() ? pick(own(m.devices.keySet())) : p + "-nodev" + rnd.nextInt(5);
                fill(a, List.of(new Arg("id", Kind.STRING, true, str(id))), false);
                final boolean spoilt = a.spoilt;
                a.outcome = reply -> {
                    if (spoilt) { assertError(reply, "GenericError"); return; }
                    if (!m.devices.containsKey(id)) { assertError(reply, "DeviceNotFound"); return; }
                    assertReturn(reply);
                    m.devices.remove(id);
                    m.endpoints.remove(id);
                };
            }
            case "viommu-attach-device" -> attach(a);
            case "viommu-detach-device" -> {
                final String dev = someDevice();
                final Map<String, Long> eps = m.endpoints.getOrDefault(dev, Map.of());
                final String ep = chance(70) && !eps.isEmpty() ? pick(new ArrayList<>(eps.keySet())) : "ep-none" + rnd.nextInt(3);
                fill(a, List.of(new Arg("viommu", Kind.STRING, true, str(dev)), new Arg("id", Kind.STRING, true, str(ep))), false);
                final boolean spoilt = a.spoilt;
                a.outcome = reply -> {
                    if (spoilt) { assertErrorIn(reply, "GenericError", "DeviceNotFound"); return; }
                    if (!m.devices.containsKey(dev)) { assertError(reply, "DeviceNotFound"); return; }
                    final Map<String, Long> now = m.endpoints.getOrDefault(dev, Map.of());
                    if (!now.containsKey(ep)) { assertError(reply, "GenericError"); return; }
                    assertReturn(reply);
                    m.endpoints.get(dev).remove(ep);
                };
            }
            case "query-viommu" -> {
                final String dev = someDevice();
                fill(a, List.of(new Arg("id", Kind.STRING, true, str(dev))), false);
                final boolean spoilt = a.spoilt;
                a.outcome = reply -> {
                    if (spoilt) { assertError(reply, "GenericError"); return; }
                    if (!m.devices.containsKey(dev)) { assertError(reply, "DeviceNotFound"); return; }
                    assertReturn(reply);
                    final JsonNode r = reply.get("return");
                    assertEquals(dev, r.path("id").asText());
                    assertEquals(m.devices.get(dev), r.path("driver").asText());
                    assertTrue(r.has("state"), reply.toString());
                    assertEquals(m.endpoints.getOrDefault(dev, Map.of()).keySet(), endpointIds(r));
                };
            }
            default -> {
                // a command this generator does not know: any arguments, any well-formed answer
                if (chance(50)) a.members.add(kv("x", anyValue(2)));
                a.outcome = reply -> { };
            }
        }
        return a;
    }

    private List<String> own(final java.util.Collection<String> names) {
        return names.stream().filter(n -> n.startsWith(p + "-")).sorted().toList();
    }

    private String someDevice() {
        final List<String> mine = own(m.devices.keySet());
        return chance(80) && !mine.isEmpty() ? pick(mine) : p + "-nodev" + rnd.nextInt(3);
    }

    private int[] newFds(final FdKind kind, final int count) {
        final int[] fds = new int[count];
        try {
            for (int i = 0; i < count; i++) {
                fds[i] = switch (i == 0 ? kind : pick(FdKind.values())) {
                    case MEMFD -> Posix.memfdCreate("fuzz", MEMFD_SIZE);
                    case DEV_NULL -> Posix.open("/dev/null", Posix.O_RDWR | Posix.O_CLOEXEC);
                    case DIRECTORY -> Posix.open(env.directory().toString(), Posix.O_CLOEXEC);
                    case SOCKET -> Posix.connectUnix(env.dataPlane().toString());
                    case PROC_FILE -> Posix.open("/proc/self/status", Posix.O_CLOEXEC);
                };
            }
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return fds;
    }

    private void getfd(final Args a) {
        final String fdname = switch (rnd.nextInt(10)) {
            case 0 -> "9starts-with-digit";
            case 1 -> own(m.fds.keySet()).isEmpty() ? p + "-fd" : pick(own(m.fds.keySet()));   // replaces (closes) the old one
            default -> p + "-fd" + rnd.nextInt(6);
        };
        fill(a, List.of(new Arg("fdname", Kind.STRING, true, str(fdname))), false);
        final boolean withFd = chance(85);
        final FdKind kind = chance(60) ? FdKind.MEMFD : pick(FdKind.values());
        if (withFd) a.fds = newFds(kind, chance(15) ? 2 + rnd.nextInt(Posix.MAX_FDS_PER_MESSAGE - 1) : 1);
        final boolean spoilt = a.spoilt;
        a.outcome = reply -> {
            if (spoilt || !withFd || Character.isDigit(fdname.charAt(0))) {
                assertError(reply, "GenericError");
                return;
            }
            assertReturn(reply);
            m.fds.put(fdname, kind);
        };
    }

    private void objectAdd(final Args a) {
        final int which = rnd.nextInt(solo ? 10 : 9);
        if (which == 9) { iommufd(a); return; }
        final String type = which < 5 ? "memory-backend-memfd" : which < 8 ? "memory-backend-file" : pick("memory-backend-shm", "memory-backend-shm", "memory-backend-ram", "secret");
        final List<String> ownMem = own(m.memory.keySet());
        final String id = chance(10) && !ownMem.isEmpty() ? pick(ownMem) : p + "-ram" + serial++;
        final long size = chance(85) ? pick(4096L, 8192L, 16384L, (long) MEMFD_SIZE) : pick(2L * MEMFD_SIZE, 4095L, 0L, Long.MAX_VALUE & ~4095L);
        final long gpa = gpaWindow + pick(0L, 0x10000L, 0x20000L, 0x30000L, 0x40000L, 0x8000L, 0x11000L);
        final long offset = chance(80) ? pick(0L, 0L, 4096L) : pick(100L, 0x7FFF_FFFF_FFFF_F000L, (long) MEMFD_SIZE);
        final boolean readonly = chance(20);
        final List<Arg> spec = new ArrayList<>();
        spec.add(new Arg("qom-type", Kind.STRING, true, str(type)));
        spec.add(new Arg("id", Kind.STRING, true, str(id)));
        spec.add(new Arg("size", Kind.UINT, true, Raw.of(NODES.numberNode(size))));
        spec.add(new Arg("gpa", Kind.UINT, false, Raw.of(NODES.numberNode(gpa))));
        if (offset != 0 || chance(20)) spec.add(new Arg("offset", Kind.UINT, false, Raw.of(NODES.numberNode(offset))));
        if (readonly || chance(20)) spec.add(new Arg("readonly", Kind.BOOL, false, Raw.of(NODES.booleanNode(readonly))));
        if (chance(20)) spec.add(new Arg("share", Kind.BOOL, false, Raw.of(NODES.booleanNode(chance(80)))));
        final String fdname;
        final Path path;
        if (type.equals("memory-backend-file") && chance(70)) {
            fdname = null;
            path = chance(60) ? env.regularFile() : pick(env.fifo(), env.directory(), Path.of("/dev/null"), Path.of("/nonexistent/ram"), Path.of("rel/ative"));
            spec.add(new Arg("mem-path", Kind.STRING, true, str(path.toString())));
        } else {
            path = null;
            final List<String> names = own(m.fds.keySet());
            final List<String> memfds = names.stream().filter(n -> m.fds.get(n) == FdKind.MEMFD).toList();
            fdname = chance(75) && !memfds.isEmpty() ? pick(memfds) : chance(70) && !names.isEmpty() ? pick(names) : p + "-nofd";
            spec.add(new Arg("fd", Kind.STRING, true, str(fdname)));
        }
        fill(a, spec, false);
        final boolean spoilt = a.spoilt;
        final boolean share = a.members == null || a.members.stream().noneMatch(e -> e.getKey().equals("share") && e.getValue().value().isBoolean() && !e.getValue().value().asBoolean());
        a.outcome = reply -> {
            if (spoilt) {
                assertError(reply, "GenericError");
                // a spoilt argument is refused before the descriptor is taken, except one the checks only meet later
                return;
            }
            final boolean known = type.startsWith("memory-backend-");
            final boolean dup = m.memory.containsKey(id) || m.hostObjects.contains(id);
            final boolean shapeOk = known && !dup && size != 0 && size % 4096 == 0 && share && !type.equals("memory-backend-ram")
                    && offset <= Long.MAX_VALUE - size;
            final boolean taken = shapeOk && fdname != null && m.fds.containsKey(fdname) && !(type.equals("memory-backend-memfd") && fdname == null);
            final FdKind fdKind = fdname == null ? null : m.fds.get(fdname);
            if (taken) m.fds.remove(fdname);                  // object-add owns the descriptor from here, success or not
            final boolean fits = offset % 4096 == 0 && offset >= 0 && offset <= MEMFD_SIZE && offset + size <= MEMFD_SIZE;
            final boolean mapOk = fdname != null ? taken && fdKind == FdKind.MEMFD && fits
                    : path.equals(env.regularFile()) && fits && !type.equals("memory-backend-memfd");
            final boolean free = m.memory.values().stream().noneMatch(r -> gpa < r[0] + r[1] && r[0] < gpa + size);
            if (shapeOk && mapOk && free) {
                assertReturn(reply);
                m.memory.put(id, new long[] {gpa, size});
            } else {
                assertError(reply, "GenericError");
            }
        };
    }

    private void iommufd(final Args a) {
        final String id = p + "-iommufd" + serial++;
        final List<Arg> spec = new ArrayList<>();
        spec.add(new Arg("qom-type", Kind.STRING, true, str("iommufd")));
        spec.add(new Arg("id", Kind.STRING, true, str(id)));
        final List<String> names = own(m.fds.keySet());
        final String fdname = chance(70) && !names.isEmpty() ? pick(names) : null;
        if (fdname != null) spec.add(new Arg("fd", Kind.STRING, false, str(fdname)));
        fill(a, spec, false);
        final boolean spoilt = a.spoilt;
        a.outcome = reply -> {
            if (spoilt) { assertError(reply, "GenericError"); return; }
            final boolean allowed = m.devices.isEmpty() && m.hostObjects.isEmpty();
            if (allowed && fdname != null && m.fds.containsKey(fdname)) {
                // the backend checks that the descriptor is /dev/iommu before it is taken: a refused one stays
                if (reply.has("return")) {
                    m.fds.remove(fdname);
                    m.hostObjects.add(id);
                } else {
                    assertError(reply, "GenericError");
                }
                return;
            }
            assertError(reply, "GenericError");   // no /dev/iommu here, a missing fd name, or too late
        };
    }

    private void deviceAdd(final Args a) {
        final List<String> drivers = new ArrayList<>(env.driverProperties().keySet());
        final String driver = chance(5) ? pick("no-such-driver", "", "INTEL-IOMMU") : pick(drivers);
        final List<String> mine = own(m.devices.keySet());
        final String id = chance(8) && !mine.isEmpty() ? pick(mine) : p + "-" + pick("d", "dev.", "é", "d_") + serial++;
        final List<Arg> spec = new ArrayList<>();
        spec.add(new Arg("driver", Kind.STRING, true, str(driver)));
        spec.add(new Arg("id", Kind.STRING, true, str(id)));
        boolean oddProperty = false;
        for (JsonNode prop : env.driverProperties().getOrDefault(driver, List.of())) {
            if (!chance(30)) continue;
            final JsonNode dflt = prop.path("default");
            final Raw v;
            if (driver.equals("test-iommu")) {
                v = switch (prop.path("name").asText()) {
                    case "offset" -> Raw.of(NODES.numberNode(rnd.nextInt(1 << 20)));
                    case "limit" -> chance(50) ? Raw.of(NODES.numberNode(1 + rnd.nextInt(1 << 20))) : str("0x2000");
                    default -> pick(Raw.of(NODES.booleanNode(rnd.nextBoolean())), str("on"), str("off"));
                };
            } else if (chance(70) || dflt.isNull()) {
                v = dflt.isNull() ? str("") : Raw.of(dflt);
                oddProperty |= dflt.isNull();
            } else {
                oddProperty = true;
                v = switch (prop.path("type").asText()) {
                    case "bool" -> pick(Raw.of(NODES.booleanNode(!dflt.asBoolean())), str("on"), str("off"), str("maybe"));
                    case "uint" -> pick(num("0"), num("1"), num("18446744073709551615"), num("99999999999999999999999"), str("0x10"), str("-1"), num("48"), num("39"));
                    default -> pick(str(""), str("x".repeat(1000)), str("é"), str(dflt.asText().toUpperCase()));
                };
            }
            spec.add(new Arg(prop.path("name").asText(), Kind.STRING, false, v));
        }
        fill(a, spec.subList(0, 2), false);
        final boolean spoiltCore = a.spoilt;
        if (a.members == null) a.members = new ArrayList<>();
        for (Arg s : spec.subList(2, spec.size())) a.members.add(kv(s.name(), s.good()));
        final boolean unknownProperty = chance(8);
        if (unknownProperty) a.members.add(kv(pick("bogus", "aw-bitz", "x-unknown"), anyValue(1)));
        final boolean wrongProperty = chance(6);
        if (wrongProperty) a.members.add(kv(pick("aw-bits", "caching-mode", "offset", "limit", "verbose"), pick(Raw.of(NODES.arrayNode()), Raw.of(NODES.objectNode()), num("1.5"), num("1e999"))));
        final boolean clean = !spoiltCore && !unknownProperty && !wrongProperty && !oddProperty;
        a.outcome = reply -> {
            if (spoiltCore || unknownProperty || wrongProperty || !drivers.contains(driver) || m.devices.containsKey(id)) {
                assertError(reply, "GenericError");
                return;
            }
            if (driver.equals("test-iommu") && clean) assertReturn(reply);
            if (reply.has("error")) { assertError(reply, "GenericError"); return; }
            m.devices.put(id, driver);
            m.endpoints.put(id, new ConcurrentHashMap<>());
        };
    }

    private void attach(final Args a) {
        final String dev = someDevice();
        final Map<String, Long> eps = m.endpoints.getOrDefault(dev, Map.of());
        final String ep = chance(10) && !eps.isEmpty() ? pick(new ArrayList<>(eps.keySet())) : "ep" + serial++;
        final long src = chance(10) && !eps.isEmpty() ? pick(new ArrayList<>(eps.values()))
                : pick(0x10L, 0x18L, 0x100L, 0x0L, 0xFFFFL, 0x10000L, 0xFFFF_FFFFL, 0x1_0000_0000L, (long) rnd.nextInt(1 << 16));
        final String kind = pick("emulated", "emulated", "emulated", "vfio", "bogus", null);
        final List<Arg> spec = new ArrayList<>();
        spec.add(new Arg("viommu", Kind.STRING, true, str(dev)));
        spec.add(new Arg("id", Kind.STRING, true, str(ep)));
        spec.add(new Arg("source-id", Kind.UINT, true, Raw.of(NODES.numberNode(src))));
        if (kind != null) spec.add(new Arg("kind", Kind.STRING, false, str(kind)));
        String hostFd = null;
        if ("vfio".equals(kind) || chance(5)) {
            final List<String> names = own(m.fds.keySet());
            if (chance(60) && !names.isEmpty()) {
                hostFd = pick(names);
                spec.add(new Arg("host-fd", Kind.STRING, false, str(hostFd)));
                if (chance(30)) spec.add(new Arg("host", Kind.STRING, false, str("/dev/vfio/devices/vfio" + rnd.nextInt(3))));
            } else {
                spec.add(new Arg("host", Kind.STRING, false, str(pick("/dev/vfio/devices/vfio0", "", "/dev/null", "relative"))));
            }
        }
        fill(a, spec, false);
        final boolean spoilt = a.spoilt;
        final boolean hasHost = spec.stream().anyMatch(s -> s.name().startsWith("host"));
        a.outcome = reply -> {
            if (spoilt) {
                // refused before any descriptor is taken from the table
                assertErrorIn(reply, "GenericError", "DeviceNotFound");
                return;
            }
            if (!m.devices.containsKey(dev)) { assertError(reply, "DeviceNotFound"); return; }
            if (src > Integer.MAX_VALUE || "bogus".equals(kind)) { assertError(reply, "GenericError"); return; }
            final boolean emulated = kind == null || kind.equals("emulated");
            if (emulated && hasHost) { assertError(reply, "GenericError"); return; }
            final Map<String, Long> now = m.endpoints.get(dev);
            if (now.containsKey(ep) || now.containsValue(src)) { assertError(reply, "GenericError"); return; }
            if (!emulated) {
                // no host backend here: a passthrough endpoint is refused before its descriptor is taken
                assertError(reply, "GenericError");
                return;
            }
            if (m.devices.get(dev).equals("test-iommu")) assertReturn(reply);
            if (reply.has("error")) { assertError(reply, "GenericError"); return; }
            now.put(ep, src);
        };
    }

    // ---- what query replies must say ---------------------------------------------------------------------------

    private void checkQuery(final String name, final JsonNode r) {
        switch (name) {
            case "query-version" -> {
                assertTrue(r.path("qemu").path("major").isIntegralNumber(), r.toString());
                assertTrue(r.path("package").asText().startsWith("viommu "), r.toString());
            }
            case "query-commands" -> {
                final List<String> names = new ArrayList<>();
                r.forEach(c -> names.add(c.path("name").asText()));
                assertEquals(env.commands(), names);
            }
            case "query-viommus" -> {
                final Map<String, String> seen = new LinkedHashMap<>();
                final Set<Integer> handles = new java.util.HashSet<>();
                for (JsonNode d : r) {
                    assertTrue(handles.add(d.path("handle").asInt()), "handles are unique: " + r);
                    if (d.path("id").asText().startsWith(p + "-")) {
                        seen.put(d.path("id").asText(), d.path("driver").asText());
                        assertEquals(m.endpoints.getOrDefault(d.path("id").asText(), Map.of()).keySet(), endpointIds(d), d.toString());
                    }
                }
                final Map<String, String> mine = new LinkedHashMap<>();
                m.devices.forEach((k, v) -> { if (k.startsWith(p + "-")) mine.put(k, v); });
                assertEquals(new java.util.TreeMap<>(mine), new java.util.TreeMap<>(seen), "query-viommus vs the model");
            }
            case "query-memory" -> {
                final Set<String> seen = new java.util.TreeSet<>();
                for (JsonNode b : r) {
                    final String id = b.path("id").asText();
                    if (!id.startsWith(p + "-")) continue;
                    seen.add(id);
                    final long[] gs = m.memory.get(id);
                    assertTrue(gs != null, "query-memory lists " + id + " the model does not have");
                    assertEquals(gs[0], b.path("gpa").asLong());
                    assertEquals(gs[1], b.path("size").asLong());
                }
                assertEquals(new java.util.TreeSet<>(own(m.memory.keySet())), seen, "query-memory vs the model");
            }
            case "query-metrics" -> assertEquals("prometheus-text-0.0.4", r.path("format").asText());
            default -> { }
        }
    }

    static Set<String> endpointIds(final JsonNode device) {
        final Set<String> s = new java.util.TreeSet<>();
        device.path("endpoints").forEach(e -> s.add(e.path("id").asText()));
        return s;
    }

    // ---- reply shape --------------------------------------------------------------------------------------------

    /** Every reply: an object with {@code return} or {@code error {class, desc}}, and nothing but an id besides. */
    static void assertWellFormed(final JsonNode reply) {
        assertTrue(reply.isObject(), "reply is an object: " + reply);
        final boolean ret = reply.has("return"), err = reply.has("error");
        assertTrue(ret ^ err, "a reply has return or error: " + reply);
        reply.fieldNames().forEachRemaining(f -> assertTrue(f.equals("return") || f.equals("error") || f.equals("id"), "unexpected member " + f + " in " + reply));
        if (err) {
            assertTrue(ERROR_CLASSES.contains(reply.path("error").path("class").asText()), "a QMP error class: " + reply);
            assertTrue(reply.path("error").path("desc").isTextual() && !reply.path("error").path("desc").asText().isEmpty(), "an error says why: " + reply);
            assertEquals(2, reply.path("error").size(), "error has class and desc only: " + reply);
        }
    }

    static void assertReturn(final JsonNode reply) {
        assertWellFormed(reply);
        if (!reply.has("return")) fail("expected success, got " + reply);
    }

    static void assertError(final JsonNode reply, final String cls) {
        assertWellFormed(reply);
        if (!reply.has("error")) fail("expected " + cls + ", got success " + reply);
        assertEquals(cls, reply.path("error").path("class").asText(), reply.toString());
    }

    static void assertErrorIn(final JsonNode reply, final String... classes) {
        assertWellFormed(reply);
        if (!reply.has("error")) fail("expected an error, got success " + reply);
        assertTrue(List.of(classes).contains(reply.path("error").path("class").asText()), reply.toString());
    }

    static void assertErrorDesc(final JsonNode reply, final String cls, final String descPrefix) {
        assertError(reply, cls);
        assertTrue(reply.path("error").path("desc").asText().startsWith(descPrefix), "'" + descPrefix + "' vs " + reply);
    }

    static Check parseError(final String what) {
        return reply -> {
            assertError(reply, "GenericError");
            assertTrue(reply.path("error").path("desc").asText().startsWith("JSON parse error"), what + " -> " + reply);
            assertFalse(reply.has("id"), "a text that does not parse has no id: " + reply);
        };
    }

    /** The id, echoed exactly: the same JSON value (numbers compared by value, 1e999 and 1E+999 alike). */
    static void assertId(final JsonNode reply, final Raw id) {
        if (id == null) {
            assertFalse(reply.has("id"), "no id was sent: " + reply);
            return;
        }
        assertTrue(reply.has("id"), "the id " + id.text() + " was not echoed: " + reply);
        final Comparator<JsonNode> byValue = (x, y) -> x.isNumber() && y.isNumber()
                ? x.decimalValue().compareTo(y.decimalValue()) : (x.equals(y) ? 0 : 1);
        assertTrue(id.value().equals(byValue, reply.get("id")), "id " + id.text() + " echoed as " + reply.get("id"));
    }
}
