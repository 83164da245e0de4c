package dev.viommu.sidecar;

import dev.viommu.core.posix.Posix;

import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * The descriptors open in this process (the fixture's sidecar runs in it), by number and what they point at, so
 * a test can show which ones leaked, or that one was closed only once.
 */
final class OpenFds {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle FCNTL = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("fcntl"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle EVENTFD = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("eventfd"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final int F_DUPFD_CLOEXEC = 1030, EFD_CLOEXEC = 0x80000;

    private OpenFds() {}

    /** What descriptor {@code fd} points at, or null when it is not open. */
    static String target(final int fd) {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/fd/" + fd)).toString();
        } catch (IOException e) {
            return null;
        }
    }

    /** The numbers of the descriptors that point at {@code target} (a file of the test's own: exactly its copies). */
    static List<Integer> numbersOn(final String target) throws IOException {
        final List<Integer> out = new ArrayList<>();
        snapshot().forEach((fd, t) -> { if (t.equals(target)) out.add(fd); });
        return out;
    }

    /**
     * Opens {@code file} on the lowest free number {@code >= min}: on {@code min} itself when it is free (open takes
     * the lowest free number, so a result above {@code min} means {@code min} is in use). A test puts such a
     * sentinel on a number the sidecar has just closed: a second close of that number would take the sentinel.
     */
    static int openAtLeast(final Path file, final int min) throws Throwable {
        final int fd = Posix.open(file.toString(), Posix.O_RDWR | Posix.O_CLOEXEC);
        if (fd >= min) return fd;
        final int moved = (int) FCNTL.invokeExact(fd, F_DUPFD_CLOEXEC, min);
        Posix.close(fd);
        if (moved < 0) throw new IllegalStateException("fcntl(F_DUPFD_CLOEXEC) failed");
        return moved;
    }

    /** A new eventfd (close-on-exec). */
    static int eventfd() throws Throwable {
        final int fd = (int) EVENTFD.invokeExact(0, EFD_CLOEXEC);
        if (fd < 0) throw new IllegalStateException("eventfd failed");
        return fd;
    }

    static Map<Integer, String> snapshot() throws IOException {
        final Map<Integer, String> m = new TreeMap<>();
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            for (Path p : s.toList()) {
                try {
                    final String target = Files.readSymbolicLink(p).toString();
                    if (target.matches("/proc/\\d+/fd")) continue;      // this listing's own descriptors
                    m.put(Integer.parseInt(p.getFileName().toString()), target);
                } catch (IOException e) {
                    // closed while listing (the directory's own descriptor, or one another thread closed)
                }
            }
        }
        return m;
    }

    /**
     * Waits up to {@code millis} for the open descriptors to match {@code baseline} (connections close and
     * commands finish asynchronously); fails naming the extra and missing ones.
     */
    static void awaitBaseline(final Map<Integer, String> baseline, final long millis) throws Exception {
        final long deadline = System.currentTimeMillis() + millis;
        Map<Integer, String> now = snapshot();
        while (!now.keySet().equals(baseline.keySet()) && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
            now = snapshot();
        }
        if (now.keySet().equals(baseline.keySet())) return;
        final Map<Integer, String> extra = new TreeMap<>(now), missing = new TreeMap<>(baseline);
        extra.keySet().removeAll(baseline.keySet());
        missing.keySet().removeAll(now.keySet());
        throw new AssertionError("descriptors leaked: " + extra + (missing.isEmpty() ? "" : "; closed: " + missing));
    }
}
