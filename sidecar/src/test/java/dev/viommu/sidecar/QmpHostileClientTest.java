package dev.viommu.sidecar;

import com.fasterxml.jackson.databind.JsonNode;
import dev.viommu.core.posix.Posix;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;

import static dev.viommu.sidecar.QmpFuzzer.assertError;
import static dev.viommu.sidecar.QmpFuzzer.assertErrorDesc;
import static dev.viommu.sidecar.QmpFuzzer.assertReturn;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Hostile clients on the real control socket (docs/qmp.md): seeded random sessions whose every text must get
 * exactly one well-formed reply, in order, with its id echoed, after which the sidecar still greets, answers,
 * holds exactly what the replies said it does, and has closed every descriptor it was sent and did not keep.
 */
class QmpHostileClientTest {
    private SidecarFixture fx;
    private LogWatch log;
    private Path tmp;

    @BeforeEach
    void start() throws Exception {
        log = LogWatch.start();
        fx = new SidecarFixture();
        tmp = Files.createTempDirectory("viommu-hostile");
    }

    @AfterEach
    void stop() throws Exception {
        try {
            fx.close();
        } finally {
            log.close();
            try (var s = Files.walk(tmp)) {
                for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
    }

    // ---- the random sessions ----------------------------------------------------------------------------------

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3})
    @Timeout(30)
    void randomSessionsGetOneWellFormedReplyPerTextAndLeaveTheModelsState(final long seed) throws Exception {
        final QmpFuzzer.Env env = env();
        final Map<Integer, String> baseline = warmUp(env);
        final QmpFuzzer.Model model = new QmpFuzzer.Model();
        final QmpFuzzer f = new QmpFuzzer(seed, model, env, "c", 0x1000_0000L, true);
        RawQmpClient c = RawQmpClient.greeted(fx);
        try {
            // commands before qmp_capabilities: refused until a clean one comes
            for (int i = 0; i < 40 && !f.negotiated; i++) drive(c, f, 1);
            if (!f.negotiated) {
                c.write("{\"execute\":\"qmp_capabilities\"}");
                assertReturn(c.reply(5000));
                f.negotiated = true;
            }
            for (int round = 0; round < 8; round++) {
                drive(c, f, 50);
                if (f.random().nextInt(3) == 0) {        // a new connection: negotiation starts over
                    c.close();
                    c = RawQmpClient.greeted(fx);
                    f.negotiated = false;
                    c.write("{\"execute\":\"qmp_capabilities\"}");
                    assertReturn(c.reply(5000));
                    f.negotiated = true;
                }
            }
            sentinel(c);
        } finally {
            c.close();
        }
        assertMachineMatches(model);
        cleanUp(model);
        OpenFds.awaitBaseline(baseline, 3000);
        log.assertQuiet();
    }

    @Test
    @Timeout(30)
    void severalClientsAtOnceEachGetTheirOwnRepliesAndDisconnectsMidCommandLoseNothing() throws Exception {
        final QmpFuzzer.Env env = env();
        final Map<Integer, String> baseline = warmUp(env);
        final QmpFuzzer.Model model = new QmpFuzzer.Model();
        final ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        final List<Thread> threads = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            final int n = k;
            threads.add(Thread.ofPlatform().name("fuzz-client-" + k).start(() -> {
                final QmpFuzzer f = new QmpFuzzer(100 + n, model, env, "m" + n, 0x1000_0000L * (n + 2), false);
                try (RawQmpClient c = RawQmpClient.negotiated(fx)) {
                    f.negotiated = true;
                    drive(c, f, 150);
                    sentinel(c);
                } catch (Throwable t) {
                    failures.add(t);
                }
            }));
        }
        for (int k = 0; k < 2; k++) {
            final int n = k;
            threads.add(Thread.ofPlatform().name("quitter-" + k).start(() -> {
                try {
                    disconnectMidCommand(new Random(200 + n), env, model, "q" + n, 40);
                } catch (Throwable t) {
                    failures.add(t);
                }
            }));
        }
        for (Thread t : threads) t.join(25_000);
        if (!failures.isEmpty()) {
            final AssertionError e = new AssertionError(failures.size() + " client(s) failed; first: " + failures.peek());
            failures.forEach(e::addSuppressed);
            throw e;
        }
        assertMachineMatches(model);
        cleanUp(model);
        OpenFds.awaitBaseline(baseline, 3000);
        log.assertQuiet();
    }

    /**
     * Clients that go away with a command half sent (perhaps with descriptors on it), or with replies unread: the
     * half command never runs, its descriptors are closed, and complete commands still run.
     */
    private void disconnectMidCommand(final Random rnd, final QmpFuzzer.Env env, final QmpFuzzer.Model model,
                                      final String prefix, final int rounds) throws Exception {
        final QmpFuzzer f = new QmpFuzzer(rnd.nextLong(), new QmpFuzzer.Model(), env, prefix, 0, false);
        for (int i = 0; i < rounds; i++) {
            final RawQmpClient c = rnd.nextBoolean() ? RawQmpClient.negotiated(fx) : RawQmpClient.connect(fx);
            try {
                switch (rnd.nextInt(3)) {
                    case 0 -> {
                        // a device_add cut short: whatever it would have done, it must not happen
                        final String text = "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"test-iommu\",\"id\":\"" + prefix + "-never" + i + "\"}}";
                        final byte[] b = text.getBytes(StandardCharsets.UTF_8);
                        final int cut = 1 + rnd.nextInt(b.length - 1);
                        final int[] fds = rnd.nextBoolean() ? new int[] {Posix.memfdCreate("cut", 4096), Posix.open("/dev/null", Posix.O_RDWR | Posix.O_CLOEXEC)} : new int[0];
                        try {
                            c.writeSplit(Arrays.copyOf(b, cut), rnd, 1 + rnd.nextInt(16), fds);
                        } finally {
                            for (int fd : fds) Posix.closeQuietly(fd);
                        }
                    }
                    case 1 -> {
                        // complete read-only commands, then gone without reading the replies
                        final StringBuilder sb = new StringBuilder();
                        for (int k = rnd.nextInt(20); k >= 0; k--) sb.append("{\"execute\":\"query-viommus\",\"id\":").append(k).append('}');
                        c.write(sb.toString());
                    }
                    default -> {
                        // a random case, cut anywhere before its end
                        final QmpFuzzer.Case cs = f.next();
                        final int cut = cs.bytes().length <= 1 ? 0 : rnd.nextInt(cs.bytes().length - 1);
                        try {
                            if (cut > 0) c.writeSplit(Arrays.copyOf(cs.bytes(), cut), rnd, 64, cs.fds());
                        } finally {
                            for (int fd : cs.fds()) Posix.closeQuietly(fd);
                        }
                    }
                }
            } finally {
                c.close();
            }
        }
        // nothing of theirs exists
        try (RawQmpClient c = RawQmpClient.negotiated(fx)) {
            c.write("{\"execute\":\"query-viommus\"}");
            for (JsonNode d : c.reply(5000).path("return")) assertFalse(d.path("id").asText().startsWith(prefix + "-"), d.toString());
        }
    }

    // ---- regressions: one per bug the sessions found ----------------------------------------------------------

    private JsonNode call(final RawQmpClient c, final String text, final int... fds) throws Exception {
        c.write(text, fds);
        return c.reply(5000);
    }

    @Test
    @Timeout(10)
    void refusesLoneSurrogatesAndNulInStringsInsteadOfMangling() throws Exception {
        try (RawQmpClient c = RawQmpClient.negotiated(fx)) {
            // before: accepted, and the id came back as "?A" (no UTF-8 can carry a lone surrogate back)
            for (String id : List.of("\"\\ud800\\u0041\"", "\"x\\udc00\"", "\"a\\u0000b\"")) {
                final JsonNode r = call(c, "{\"execute\":\"query-version\",\"id\":" + id + "}");
                assertErrorDesc(r, "GenericError", "JSON parse error");
                assertFalse(r.has("id"), r.toString());
            }
            // a surrogate pair is one character: fine
            assertEquals("\uD83D\uDE00", call(c, "{\"execute\":\"query-version\",\"id\":\"\\ud83d\\ude00\"}").path("id").asText());
        }
    }

    @Test
    @Timeout(10)
    void aNulInAMemPathIsRefusedRatherThanCuttingThePathShort() throws Exception {
        final Path file = tmp.resolve("ram");
        Files.write(file, new byte[4096]);
        try (RawQmpClient c = RawQmpClient.negotiated(fx)) {
            // before: open(2) saw the path up to the NUL, and mapped a file the client did not name
            final JsonNode r = call(c, "{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"memory-backend-file\",\"id\":\"r0\","
                    + "\"size\":4096,\"mem-path\":\"" + file + "\\u0000.bak\"}}");
            assertErrorDesc(r, "GenericError", "JSON parse error");
            assertEquals(0, call(c, "{\"execute\":\"query-memory\"}").path("return").size());
        }
    }

    @Test
    @Timeout(10)
    void refusesInvalidUtf8InsteadOfReplacingIt() throws Exception {
        try (RawQmpClient c = RawQmpClient.negotiated(fx)) {
            for (byte[] bad : List.of(new byte[] {(byte) 0xFF}, new byte[] {(byte) 0xC0, (byte) 0x80}, new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80})) {
                final java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
                b.writeBytes("{\"execute\":\"query-version\",\"id\":\"".getBytes(StandardCharsets.UTF_8));
                b.writeBytes(bad);
                b.writeBytes("\"}".getBytes(StandardCharsets.UTF_8));
                c.write(b.toByteArray());
                // before: {"return": ..., "id": "\uFFFD"}, an id the client never sent
                final JsonNode r = c.reply(5000);
                assertErrorDesc(r, "GenericError", "JSON parse error, invalid UTF-8");
                assertFalse(r.has("id"), r.toString());
            }
        }
    }

    @Test
    @Timeout(10)
    void refusesDuplicateKeysInsteadOfKeepingTheLast() throws Exception {
        try (RawQmpClient c = RawQmpClient.negotiated(fx)) {
            // before: the second "execute" won, and the sidecar quit
            assertErrorDesc(call(c, "{\"execute\":\"query-version\",\"execute\":\"quit\"}"), "GenericError", "JSON parse error");
            assertErrorDesc(call(c, "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"test-iommu\",\"id\":\"a\",\"id\":\"b\"}}"), "GenericError", "JSON parse error");
            assertEquals(0, call(c, "{\"execute\":\"query-viommus\"}").path("return").size());
        }
    }

    @Test
    @Timeout(10)
    void echoesNumericIdsAsTheNumbersSent() throws Exception {
        try (RawQmpClient c = RawQmpClient.negotiated(fx)) {
            for (String id : List.of("1e999", "-1e999", "18446744073709551616", "0.1000000000000000000000001", "1E-400", "-0")) {
                // before: 1e999 came back as the string "Infinity", and long decimals rounded to a double
                final JsonNode r = call(c, "{\"execute\":\"query-version\",\"id\":" + id + "}");
                assertReturn(r);
                QmpFuzzer.assertId(r, QmpFuzzer.num(id));
            }
        }
    }

    @Test
    @Timeout(10)
    void checksQmpCapabilitiesArgumentsAndStaysUnnegotiatedWhenRefused() throws Exception {
        try (RawQmpClient c = RawQmpClient.greeted(fx)) {
            // before: an object for "enable" crashed the command (a reply with no id), and other members were ignored
            assertErrorDesc(call(c, "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":{\"a\":1}},\"id\":1}"), "GenericError", "Invalid parameter type for 'enable'");
            assertErrorDesc(call(c, "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":\"oob\"},\"id\":2}"), "GenericError", "Invalid parameter type for 'enable'");
            assertErrorDesc(call(c, "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[5]},\"id\":3}"), "GenericError", "Invalid parameter type for 'enable[0]'");
            assertErrorDesc(call(c, "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[\"oob\"]},\"id\":4}"), "GenericError", "Capability 'oob' not available");
            final JsonNode extra = call(c, "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"bogus\":1},\"id\":5}");
            assertErrorDesc(extra, "GenericError", "Parameter 'bogus' is unexpected");
            assertEquals(5, extra.path("id").asInt());
            assertErrorDesc(call(c, "{\"execute\":\"query-version\"}"), "CommandNotFound", "Expecting capabilities negotiation");
            assertReturn(call(c, "{\"execute\":\"qmp_capabilities\",\"arguments\":{\"enable\":[]}}"));
        }
        log.assertQuiet();
    }

    @Test
    @Timeout(10)
    void refusesSourceIdsAnEndpointCannotHoldByNameWithTheIdEchoed() throws Exception {
        try (RawQmpClient c = RawQmpClient.negotiated(fx)) {
            assertReturn(call(c, "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"test-iommu\",\"id\":\"t0\"}}"));
            // before: Endpoint threw IllegalArgumentException: an "internal error" reply without the id
            final JsonNode r = call(c, "{\"execute\":\"viommu-attach-device\",\"arguments\":{\"viommu\":\"t0\",\"id\":\"e\",\"source-id\":2147483648},\"id\":\"x\"}");
            assertErrorDesc(r, "GenericError", "Parameter 'source-id' is out of range");
            assertEquals("x", r.path("id").asText());
            assertReturn(call(c, "{\"execute\":\"viommu-attach-device\",\"arguments\":{\"viommu\":\"t0\",\"id\":\"e\",\"source-id\":2147483647}}"));
        }
        log.assertQuiet();
    }

    @Test
    @Timeout(10)
    void givesDescriptorsToTheCommandTheyRodeOnWhenCommandsArePipelined() throws Exception {
        try (RawQmpClient c = RawQmpClient.negotiated(fx)) {
            // each getfd is its own message, right behind another command's: the kernel glues them into one read
            for (int i = 0; i < 40; i++) {
                c.write("{\"execute\":\"query-version\"}");
                final int fd = Posix.memfdCreate("p", 4096);
                try {
                    c.write("{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"p" + i + "\"},\"id\":" + i + "}", fd);
                } finally {
                    Posix.closeQuietly(fd);
                }
            }
            for (int i = 0; i < 40; i++) {
                assertReturn(c.reply(5000));
                // before: the descriptor went to the query-version ahead of it (first text in the read), and was closed
                final JsonNode r = c.reply(5000);
                assertReturn(r);
                assertEquals(i, r.path("id").asInt());
            }
        }
        assertEquals(40, fx.sidecar.machine().fds().snapshot().size());
    }

    @Test
    @Timeout(10)
    void closesDescriptorsThatRideOnNoCommand() throws Exception {
        final Map<Integer, String> before = OpenFds.snapshot();
        try (RawQmpClient c = RawQmpClient.negotiated(fx)) {
            final int fd = Posix.memfdCreate("stray", 4096);
            try {
                c.write("\n", fd);          // whitespace between commands, with a descriptor on it
            } finally {
                Posix.closeQuietly(fd);
            }
            // before: the stray descriptor was handed to the next command, which had been sent without one
            assertErrorDesc(call(c, "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"x\"}}"), "GenericError", "No file descriptor supplied");
        }
        OpenFds.awaitBaseline(before, 3000);
    }

    @Test
    @Timeout(10)
    void holdsAtMostOneMessageOfDescriptorsForATextThatNeverEnds() throws Exception {
        final Map<Integer, String> before = OpenFds.snapshot();
        try (RawQmpClient c = RawQmpClient.negotiated(fx)) {
            c.write("{\"execute\":\"query-version\",\"id\":\"");
            final Map<Integer, String> connected = OpenFds.snapshot();
            for (int i = 0; i < 20; i++) {
                final int[] fds = new int[Posix.MAX_FDS_PER_MESSAGE];
                for (int k = 0; k < fds.length; k++) fds[k] = Posix.open("/dev/null", Posix.O_RDWR | Posix.O_CLOEXEC);
                try {
                    c.write("x", fds);
                } finally {
                    for (int fd : fds) Posix.closeQuietly(fd);
                }
            }
            // before: all 320 stayed open until the text ended; now one message's worth, at most, while it lasts
            final long end = System.currentTimeMillis() + 500;
            while (System.currentTimeMillis() < end) {
                final Map<Integer, String> during = OpenFds.snapshot();
                final Map<Integer, String> extra = new TreeMap<>(during);
                extra.keySet().removeAll(connected.keySet());
                assertTrue(extra.size() <= Posix.MAX_FDS_PER_MESSAGE, "descriptors held: " + extra);
                Thread.sleep(10);
            }
            c.write("\"}");
            assertReturn(c.reply(5000));
        }
        OpenFds.awaitBaseline(before, 3000);
    }

    @Test
    @Timeout(10)
    void refusesAMemPathThatIsNotARegularFileWithoutBlocking() throws Exception {
        final Path fifo = tmp.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        try (RawQmpClient c = RawQmpClient.negotiated(fx)) {
            // before: open(O_RDONLY) of a FIFO waited for a writer, and the one control thread with it: every client hung
            final JsonNode r = call(c, "{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"memory-backend-file\",\"id\":\"r0\","
                    + "\"size\":4096,\"readonly\":true,\"mem-path\":" + QmpFuzzer.quote(fifo.toString()) + "}}");
            assertErrorDesc(r, "GenericError", "property 'mem-path'");
            assertReturn(call(c, "{\"execute\":\"query-version\"}"));
        }
    }

    @Test
    @Timeout(10)
    void refusesAnOffsetAndSizeThatWrapAround() throws Exception {
        final int memfd = Posix.memfdCreate("ram", 1 << 16);
        try (RawQmpClient c = RawQmpClient.negotiated(fx)) {
            assertReturn(call(c, "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"ram\"}}", memfd));
            // before: offset + size overflowed past the file-length check, and the mapping reached beyond the file
            final JsonNode r = call(c, "{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"memory-backend-memfd\",\"id\":\"r0\","
                    + "\"size\":8192,\"offset\":9223372036854771712,\"fd\":\"ram\"}}");
            assertErrorDesc(r, "GenericError", "properties 'offset' + 'size' are out of range");
            assertEquals(0, call(c, "{\"execute\":\"query-memory\"}").path("return").size());
        } finally {
            Posix.closeQuietly(memfd);
        }
    }

    @Test
    @Timeout(10)
    void refusesASecondIommufdObject() throws Exception {
        // the descriptors must really be /dev/iommu now (anything else is refused before the second-object check
        // could matter: see PassthroughDescriptorOwnershipTest)
        assumeTrue(Files.exists(Path.of("/dev/iommu")), "needs /dev/iommu");
        try (RawQmpClient c = RawQmpClient.negotiated(fx)) {
            for (String name : List.of("a", "b")) {
                final int fd = Posix.open("/dev/iommu", Posix.O_RDWR | Posix.O_CLOEXEC);
                try {
                    assertReturn(call(c, "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"" + name + "\"}}", fd));
                } finally {
                    Posix.closeQuietly(fd);
                }
            }
            assertReturn(call(c, "{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"iommufd\",\"id\":\"io0\",\"fd\":\"a\"}}"));
            // before: accepted; it closed io0's backend, and deleting io0 then dropped io1's
            assertErrorDesc(call(c, "{\"execute\":\"object-add\",\"arguments\":{\"qom-type\":\"iommufd\",\"id\":\"io1\",\"fd\":\"b\"}}"),
                    "GenericError", "an iommufd object exists already");
            assertEquals(java.util.Set.of("io0"), fx.sidecar.machine().hostObjects().keySet());
            assertReturn(call(c, "{\"execute\":\"object-del\",\"arguments\":{\"id\":\"io0\"}}"));
            assertReturn(call(c, "{\"execute\":\"closefd\",\"arguments\":{\"fdname\":\"b\"}}"));
        }
    }

    @Test
    @Timeout(10)
    void refusesPassthroughEndpointsWithoutAHostBackendOnEveryModelAndKeepsTheDescriptor() throws Exception {
        final Map<Integer, String> before = OpenFds.snapshot();
        try (RawQmpClient c = RawQmpClient.negotiated(fx)) {
            for (String driver : List.of("arm-smmuv3", "virtio-iommu-pci", "virtio-iommu-device", "intel-iommu")) {
                assertReturn(call(c, "{\"execute\":\"device_add\",\"arguments\":{\"driver\":\"" + driver + "\",\"id\":\"" + driver + "\"}}"));
                final int fd = Posix.open("/dev/null", Posix.O_RDWR | Posix.O_CLOEXEC);
                try {
                    assertReturn(call(c, "{\"execute\":\"getfd\",\"arguments\":{\"fdname\":\"vfio\"}}", fd));
                } finally {
                    Posix.closeQuietly(fd);
                }
                // before: SMMUv3 and virtio-iommu took the endpoint, and its descriptor, which nothing ever closed
                assertErrorDesc(call(c, "{\"execute\":\"viommu-attach-device\",\"arguments\":{\"viommu\":\"" + driver + "\",\"id\":\"p\","
                        + "\"source-id\":16,\"kind\":\"vfio\",\"host-fd\":\"vfio\"}}"), "GenericError", "passthrough endpoint p needs a host IOMMU backend");
                assertReturn(call(c, "{\"execute\":\"closefd\",\"arguments\":{\"fdname\":\"vfio\"}}"));
                assertReturn(call(c, "{\"execute\":\"device_del\",\"arguments\":{\"id\":\"" + driver + "\"}}"));
            }
        }
        OpenFds.awaitBaseline(before, 3000);
    }

    // ---- driving ----------------------------------------------------------------------------------------------

    /**
     * Sends {@code steps} cases in batches, each batch in one write, in random pieces or byte by byte (descriptors
     * on the first byte of their own case), and checks each reply as it comes.
     */
    private static void drive(final RawQmpClient c, final QmpFuzzer f, final int steps) throws Exception {
        final Random rnd = f.random();
        int done = 0;
        while (done < steps) {
            final List<QmpFuzzer.Case> batch = new ArrayList<>();
            for (int i = 1 + rnd.nextInt(6); i > 0 && done < steps; i--, done++) batch.add(f.next());
            final int mode = rnd.nextInt(10);
            // segments: a case that carries descriptors is a message of its own (they ride on its own bytes)
            final List<byte[]> segments = new ArrayList<>();
            final List<int[]> segmentFds = new ArrayList<>();
            java.io.ByteArrayOutputStream cur = new java.io.ByteArrayOutputStream();
            int[] curFds = new int[0];
            for (QmpFuzzer.Case cs : batch) {
                if (cs.fds().length > 0 && cur.size() > 0) {
                    segments.add(cur.toByteArray());
                    segmentFds.add(curFds);
                    cur = new java.io.ByteArrayOutputStream();
                }
                curFds = cs.fds();
                cur.writeBytes(cs.bytes());
                cur.writeBytes(switch (rnd.nextInt(5)) {
                    case 0 -> new byte[0];
                    case 1 -> " ".getBytes();
                    case 2 -> "\r\n".getBytes();
                    default -> "\n".getBytes();
                });
                if (cs.fds().length > 0) {
                    segments.add(cur.toByteArray());
                    segmentFds.add(curFds);
                    cur = new java.io.ByteArrayOutputStream();
                    curFds = new int[0];
                }
            }
            if (cur.size() > 0) {
                segments.add(cur.toByteArray());
                segmentFds.add(curFds);
            }
            try {
                for (int s = 0; s < segments.size(); s++) {
                    final byte[] b = segments.get(s);
                    if (mode < 5) c.write(b, segmentFds.get(s));
                    else if (mode < 9 || b.length > 4000) c.writeSplit(b, rnd, 1 + rnd.nextInt(64), segmentFds.get(s));
                    else c.writeSplit(b, rnd, 1, segmentFds.get(s));
                }
            } finally {
                for (QmpFuzzer.Case cs : batch) for (int fd : cs.fds()) Posix.closeQuietly(fd);   // the sidecar has its own copies
            }
            for (QmpFuzzer.Case cs : batch) {
                for (int r = 0; r < cs.replies(); r++) {
                    final JsonNode reply;
                    try {
                        reply = c.reply(5000);
                    } catch (IOException e) {
                        throw new AssertionError("no reply to " + cs.what(), e);
                    }
                    try {
                        cs.check().check(reply);
                    } catch (AssertionError e) {
                        throw new AssertionError(cs.what() + "\n  sent: " + preview(cs.bytes()) + "\n  got:  " + reply + "\n  " + e.getMessage(), e);
                    }
                }
            }
        }
    }

    private static String preview(final byte[] b) {
        final String s = new String(b, StandardCharsets.UTF_8);
        return s.length() > 400 ? s.substring(0, 400) + "... (" + b.length + " bytes)" : s;
    }

    /** Nothing more than one reply per text: the next reply is the sentinel's. */
    private static void sentinel(final RawQmpClient c) throws Exception {
        c.write("{\"execute\":\"query-version\",\"id\":\"sentinel\"}");
        final JsonNode r = c.reply(5000);
        assertEquals("sentinel", r.path("id").asText(), "an extra reply: " + r);
        assertReturn(r);
    }

    // ---- the environment, the end state -----------------------------------------------------------------------

    private QmpFuzzer.Env env() throws Exception {
        final Path file = tmp.resolve("ram-file");
        Files.write(file, new byte[QmpFuzzer.MEMFD_SIZE]);
        final Path fifo = tmp.resolve("ram-fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        final Path dir = Files.createDirectory(tmp.resolve("a-directory"));
        try (RawQmpClient c = RawQmpClient.negotiated(fx)) {
            c.write("{\"execute\":\"query-commands\"}{\"execute\":\"query-viommu-drivers\"}");
            final List<String> commands = new ArrayList<>();
            c.reply(5000).path("return").forEach(n -> commands.add(n.path("name").asText()));
            final Map<String, List<JsonNode>> drivers = new LinkedHashMap<>();
            for (JsonNode d : c.reply(5000).path("return")) {
                final List<JsonNode> props = new ArrayList<>();
                d.path("properties").forEach(props::add);
                drivers.put(d.path("name").asText(), props);
            }
            // the real models are on the test class path as well as the toy one: fuzz them all
            assertTrue(drivers.keySet().containsAll(List.of("test-iommu", "intel-iommu", "arm-smmuv3", "virtio-iommu-pci")), drivers.keySet().toString());
            return new QmpFuzzer.Env(commands, drivers, file, fifo, dir, fx.dataPlane);
        }
    }

    /**
     * A short session of every kind of command, cleaned up, so that what the JVM opens once (both event loops'
     * descriptors, lazily loaded plugins) is open before the baseline is taken.
     */
    private Map<Integer, String> warmUp(final QmpFuzzer.Env env) throws Exception {
        final QmpFuzzer.Model model = new QmpFuzzer.Model();
        final QmpFuzzer f = new QmpFuzzer(-1, model, env, "w", 0x7000_0000L, false);
        try (RawQmpClient a = RawQmpClient.negotiated(fx); RawQmpClient b = RawQmpClient.negotiated(fx);
             RawQmpClient c = RawQmpClient.negotiated(fx)) {
            f.negotiated = true;
            drive(a, f, 150);
            sentinel(b);
            sentinel(c);
        }
        cleanUp(model);
        Thread.sleep(100);
        return OpenFds.snapshot();
    }

    /** A fresh client is greeted and answered, and the machine holds exactly what the model says. */
    private void assertMachineMatches(final QmpFuzzer.Model model) throws Exception {
        try (RawQmpClient c = RawQmpClient.greeted(fx)) {
            c.write("{\"execute\":\"qmp_capabilities\"}{\"execute\":\"query-version\"}{\"execute\":\"query-viommus\"}{\"execute\":\"query-memory\"}");
            assertReturn(c.reply(5000));
            assertTrue(c.reply(5000).path("return").path("package").asText().startsWith("viommu "));
            final Map<String, String> devices = new TreeMap<>();
            final Map<String, java.util.Set<String>> endpoints = new TreeMap<>();
            for (JsonNode d : c.reply(5000).path("return")) {
                devices.put(d.path("id").asText(), d.path("driver").asText());
                endpoints.put(d.path("id").asText(), QmpFuzzer.endpointIds(d));
            }
            assertEquals(new TreeMap<>(model.devices), devices, "query-viommus vs the model");
            final Map<String, java.util.Set<String>> expected = new TreeMap<>();
            model.devices.keySet().forEach(d -> expected.put(d, new java.util.TreeSet<>(model.endpoints.getOrDefault(d, Map.of()).keySet())));
            assertEquals(expected, endpoints);
            final Map<String, Long> memory = new TreeMap<>();
            for (JsonNode m : c.reply(5000).path("return")) memory.put(m.path("id").asText(), m.path("gpa").asLong());
            final Map<String, Long> expectedMemory = new TreeMap<>();
            model.memory.forEach((k, v) -> expectedMemory.put(k, v[0]));
            assertEquals(expectedMemory, memory, "query-memory vs the model");
        }
        assertEquals(new java.util.TreeSet<>(model.fds.keySet()), new java.util.TreeSet<>(fx.sidecar.machine().fds().snapshot().keySet()), "getfd table vs the model");
        assertEquals(new java.util.TreeSet<>(model.hostObjects), new java.util.TreeSet<>(fx.sidecar.machine().hostObjects().keySet()));
    }

    /** Removes everything the model says exists, through the socket: each removal must succeed. */
    private void cleanUp(final QmpFuzzer.Model model) throws Exception {
        try (RawQmpClient c = RawQmpClient.negotiated(fx)) {
            for (String d : model.devices.keySet()) {
                c.write("{\"execute\":\"device_del\",\"arguments\":{\"id\":" + QmpFuzzer.quote(d) + "}}");
                assertReturn(c.reply(5000));
            }
            for (String m : model.memory.keySet()) {
                c.write("{\"execute\":\"object-del\",\"arguments\":{\"id\":" + QmpFuzzer.quote(m) + "}}");
                assertReturn(c.reply(5000));
            }
            for (String h : model.hostObjects) {
                c.write("{\"execute\":\"object-del\",\"arguments\":{\"id\":" + QmpFuzzer.quote(h) + "}}");
                assertReturn(c.reply(5000));
            }
            for (String n : model.fds.keySet()) {
                c.write("{\"execute\":\"closefd\",\"arguments\":{\"fdname\":" + QmpFuzzer.quote(n) + "}}");
                assertReturn(c.reply(5000));
            }
        }
        model.devices.clear();
        model.endpoints.clear();
        model.memory.clear();
        model.hostObjects.clear();
        model.fds.clear();
    }
}
