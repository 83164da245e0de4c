package dev.viommu.sidecar.control;

import java.io.ByteArrayOutputStream;
import java.util.function.BiConsumer;

/**
 * Splits a byte stream into JSON texts the way QEMU's QMP parser does: by balanced braces and brackets (aware
 * of strings and escapes), so clients need not end a command with a newline. Anything else at the top level
 * is collected up to the next newline and handed over as a malformed text. A text longer than {@code maxLength}
 * is dropped up to the next newline and reported as too large. Stream offsets are tracked so that descriptors
 * can be matched to the command they arrived with.
 */
public final class JsonSplitter {
    /** Receives each complete text (or null with a reason) and the stream offset just past it. */
    public interface Sink {
        void text(String text, String error, long endOffset);
    }

    private final int maxLength;
    private final ByteArrayOutputStream cur = new ByteArrayOutputStream();
    private long offset;          // stream offset of the next byte
    private int depth;
    private boolean inString, escape, garbage, overflow;

    public JsonSplitter(final int maxLength) { this.maxLength = maxLength; }

    public long offset() { return offset; }

    public void feed(final byte[] b, final int len, final Sink sink) {
        for (int i = 0; i < len; i++) {
            final byte c = b[i];
            offset++;
            if (overflow) {
                if (c == '\n') { overflow = false; reset(); sink.text(null, "JSON text too large (over " + maxLength + " bytes)", offset); }
                continue;
            }
            if (garbage) {
                if (c == '\n') {
                    final String t = cur.toString(java.nio.charset.StandardCharsets.UTF_8).trim();
                    reset();
                    sink.text(t, null, offset);
                } else {
                    append(c);
                }
                continue;
            }
            if (depth == 0) {
                if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
                if (c == '{' || c == '[') {
                    depth = 1;
                    append(c);
                } else {
                    garbage = true;
                    append(c);
                }
                continue;
            }
            append(c);
            if (inString) {
                if (escape) escape = false;
                else if (c == '\\') escape = true;
                else if (c == '"') inString = false;
                continue;
            }
            switch (c) {
                case '"' -> inString = true;
                case '{', '[' -> depth++;
                case '}', ']' -> {
                    if (--depth == 0) {
                        final String t = cur.toString(java.nio.charset.StandardCharsets.UTF_8);
                        reset();
                        sink.text(t, null, offset);
                    }
                }
                default -> { }
            }
            if (depth > 1024) { overflow = true; }
        }
    }

    private void append(final byte c) {
        if (cur.size() >= maxLength) { overflow = true; cur.reset(); return; }
        cur.write(c);
    }

    private void reset() {
        cur.reset();
        depth = 0;
        inString = escape = garbage = false;
    }
}
