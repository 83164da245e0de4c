package dev.viommu.guests;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/** Records what a guest script did, step by step, and fails the script at the first failed check. */
public final class Narrator {
    /** A check that did not hold. */
    public static final class ScriptFailure extends AssertionError {
        public ScriptFailure(final String message) { super(message); }
    }

    private final List<String> lines = new ArrayList<>();
    private final PrintStream echo;
    private int checks;

    public Narrator(final PrintStream echo) { this.echo = echo; }

    public Narrator() { this(null); }

    /** A driver step; name the Linux function it mirrors where there is one. */
    public void step(final String what) { add("  - " + what); }

    /** Checks a condition, recording it; throws {@link ScriptFailure} if false. */
    public void check(final boolean ok, final String what) {
        checks++;
        add((ok ? "    ok: " : "    FAILED: ") + what);
        if (!ok) throw new ScriptFailure(what);
    }

    public <T> void checkEquals(final T expected, final T actual, final String what) {
        check(java.util.Objects.equals(expected, actual), what + " (expected " + expected + ", got " + actual + ")");
    }

    public void note(final String what) { add("    " + what); }

    private void add(final String line) {
        lines.add(line);
        if (echo != null) echo.println(line);
    }

    public List<String> lines() { return lines; }

    public int checks() { return checks; }
}
