package dev.viommu.sidecar.control;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Splits a byte stream into JSON texts the way QEMU's QMP parser does: by balanced braces and brackets (aware
 * of strings and escapes), so clients need not end a command with a newline. Anything else at the top level
 * is collected up to the next newline and handed over as a malformed text. A text longer than {@code maxLength}
 * is dropped up to the next newline and reported as too large. A text that is not valid UTF-8 is reported as
 * such, as QEMU's parser does, rather than decoded with replacement characters (which would change the strings
 * a client sent, its id among them). Which descriptors belong to which text is the caller's business
 * ({@link #inText} says whether a text is still open).
 */
public final class JsonSplitter {
    /** Receives each complete text, or null with the reason it is not one. */
    public interface Sink {
        void text(String text, String error);
    }

    private final int maxLength;
    private final ByteArrayOutputStream cur = new ByteArrayOutputStream();
    private int depth;
    private boolean inString, escape, garbage, overflow;

    public JsonSplitter(final int maxLength) { this.maxLength = maxLength; }

    public void feed(final byte[] b, final int len, final Sink sink) {
        for (int i = 0; i < len; i++) {
            final byte c = b[i];
            if (overflow) {
                if (c == '\n') { overflow = false; reset(); sink.text(null, "JSON text too large (over " + maxLength + " bytes)"); }
                continue;
            }
            if (garbage) {
                if (c == '\n') {
                    final byte[] t = cur.toByteArray();
                    reset();
                    emit(t, true, sink);
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
                        final byte[] t = cur.toByteArray();
                        reset();
                        emit(t, false, sink);
                    }
                }
                default -> { }
            }
            if (depth > 1024) { overflow = true; }
        }
    }

    /** True while a text has begun and not ended (descriptors that arrive now belong to it). */
    public boolean inText() { return depth > 0 || garbage || overflow; }

    private void emit(final byte[] t, final boolean trim, final Sink sink) {
        final String s;
        try {
            s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(t)).toString();
        } catch (CharacterCodingException e) {
            sink.text(null, "JSON parse error, invalid UTF-8 sequence");
            return;
        }
        sink.text(trim ? s.trim() : s, null);
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
