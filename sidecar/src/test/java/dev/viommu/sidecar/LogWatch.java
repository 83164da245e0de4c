package dev.viommu.sidecar;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Copies what the sidecar logs (slf4j-simple writes to the current System.err) so a test can assert that nothing
 * a client sent made the sidecar log an error, a crashed command, or an exception that reached the end of a Netty
 * pipeline unhandled. Output still reaches the original stream.
 */
final class LogWatch implements AutoCloseable {
    private static final String[] ALARMS = {
        "] ERROR ", "reached at the tail of the pipeline", "LEAK:", "control command crashed", "threw on a guest access",
        "Exception in thread",
    };
    private final PrintStream original = System.err;
    private final ByteArrayOutputStream copy = new ByteArrayOutputStream();

    private LogWatch() {
        System.setErr(new PrintStream(new OutputStream() {
            @Override public void write(final int b) {
                original.write(b);
                synchronized (copy) { copy.write(b); }
            }

            @Override public void write(final byte[] b, final int off, final int len) {
                original.write(b, off, len);
                synchronized (copy) { copy.write(b, off, len); }
            }
        }, true, StandardCharsets.UTF_8));
    }

    static LogWatch start() { return new LogWatch(); }

    /** Every line logged since the watch started. */
    List<String> lines() {
        final String all;
        synchronized (copy) { all = copy.toString(StandardCharsets.UTF_8); }
        return List.of(all.split("\n"));
    }

    /** Log lines that say something went wrong inside the sidecar. */
    List<String> alarms() {
        final List<String> out = new ArrayList<>();
        for (String line : lines()) {
            for (String a : ALARMS) {
                if (line.contains(a)) { out.add(line); break; }
            }
        }
        return out;
    }

    /** Fails listing the alarming lines, if any. */
    void assertQuiet() {
        final List<String> a = alarms();
        if (!a.isEmpty()) throw new AssertionError("the sidecar logged failures:\n" + String.join("\n", a));
    }

    @Override
    public void close() { System.setErr(original); }
}
