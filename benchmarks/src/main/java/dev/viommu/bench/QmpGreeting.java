package dev.viommu.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Start-up cost: from spawning the sidecar process to reading its QMP greeting, against the baseline of
 * spawning a bare JVM that prints "hello" (the same java binary and class path). {@link Ratios} reports
 * {@code sidecarToGreeting / jvmHelloWorld} for the sidecar as deployed (with the AOT cache that
 * {@code ./viommu build} trains) and, for information, without it.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 8)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class QmpGreeting {
    /** What the sidecar jar's manifest says (Add-Exports), for this class-path launch. */
    private static final String ADD_EXPORTS = "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED";
    private Path aotCache;
    /** The process (and socket directory) the last measured operation started, stopped by {@link #reap}. */
    private Process running;
    private Path runningDir;

    /**
     * A training run, as {@code ./viommu build} does for deployment: the sidecar starts with
     * {@code -XX:AOTCacheOutput}, serves a short QMP session and quits, leaving an AOT cache (JEP 483/514) of
     * the classes it loaded and linked.
     */
    @org.openjdk.jmh.annotations.Setup(org.openjdk.jmh.annotations.Level.Trial)
    public void train() throws Exception {
        aotCache = Files.createTempFile("viommu-sidecar", ".aot");
        Files.delete(aotCache);
        final Path dir = Files.createTempDirectory("viommu-train");
        final Path ctl = dir.resolve("q.sock");
        final Process p = new ProcessBuilder(List.of(java(), "-XX:AOTCacheOutput=" + aotCache, "-Xlog:aot=off", "-Xlog:cds=off",
                "--enable-native-access=ALL-UNNAMED", ADD_EXPORTS, "-cp", sidecarClassPath(), "dev.viommu.sidecar.Main", "--control", ctl.toString(),
                "--dataplane", dir.resolve("d.sock").toString(), "--log-level", "warn"))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        while (!Files.exists(dir.resolve("d.sock"))) {
            if (!p.isAlive()) throw new IOException("training sidecar exited " + p.exitValue());
            Thread.sleep(5);
        }
        try (dev.viommu.core.client.QmpClient q = dev.viommu.core.client.QmpClient.open(ctl.toString())) {
            q.execute("query-version", java.util.Map.of());
            q.execute("query-viommu-drivers", java.util.Map.of());
            q.execute("quit", java.util.Map.of());
        }
        p.waitFor(60, TimeUnit.SECONDS);
        try (var s = Files.list(dir)) { for (Path f : s.toList()) Files.deleteIfExists(f); }
        Files.deleteIfExists(dir);
        if (!Files.exists(aotCache)) throw new IOException("the training run wrote no AOT cache");
    }

    @org.openjdk.jmh.annotations.TearDown(org.openjdk.jmh.annotations.Level.Trial)
    public void dropCache() throws IOException { Files.deleteIfExists(aotCache); }

    private static String java() { return ProcessHandle.current().info().command().orElse("java"); }

    private static String classPath() { return System.getProperty("java.class.path"); }

    /**
     * The class path for the sidecar: this JVM's, less its directories. An AOT cache can only be made and used over
     * a class path of jars, and the sidecar needs none of those directories (they hold the benchmark classes when
     * the benchmarks run from a build tree, as the smoke test does; the shaded jar has none).
     */
    private static String sidecarClassPath() {
        final StringBuilder b = new StringBuilder();
        for (String e : classPath().split(java.io.File.pathSeparator)) {
            if (e.isEmpty() || Files.isDirectory(Path.of(e))) continue;
            if (!b.isEmpty()) b.append(java.io.File.pathSeparatorChar);
            b.append(e);
        }
        return b.toString();
    }

    @Benchmark
    public int jvmHelloWorld() throws Exception {
        final Process p = new ProcessBuilder(java(), "-cp", classPath(), Hello.class.getName()).redirectErrorStream(true).start();
        running = p;
        final InputStream in = p.getInputStream();
        int n = 0, c;
        while ((c = in.read()) != '\n') {
            if (c < 0) throw new IOException("no output");
            n++;
        }
        return n;
    }

    /**
     * Both sides are timed from spawning the process to reading its first line (the greeting, or "hello"); the
     * process is stopped and reaped afterwards, untimed. A sidecar that greets early is still starting when it is
     * told to stop, and its orderly stop is not part of the figure (nor is the hello-world JVM's exit).
     */
    @org.openjdk.jmh.annotations.TearDown(org.openjdk.jmh.annotations.Level.Iteration)
    public void reap() throws Exception {
        if (running != null) {
            running.destroy();
            if (!running.waitFor(10, TimeUnit.SECONDS)) running.destroyForcibly().waitFor();
            running = null;
        }
        if (runningDir != null) {
            try (var s = Files.list(runningDir)) { for (Path f : s.toList()) Files.deleteIfExists(f); }
            Files.deleteIfExists(runningDir);
            runningDir = null;
        }
    }

    /** The sidecar as deployed: with the AOT cache its build made. */
    @Benchmark
    public int sidecarToGreeting() throws Exception {
        return greet("-XX:AOTCache=" + aotCache);
    }

    /** The sidecar with no AOT cache (a first start, or a JVM that cannot use the cache). */
    @Benchmark
    public int sidecarToGreetingCold() throws Exception {
        return greet("-Xshare:auto");
    }

    private int greet(final String cacheOption) throws Exception {
        final Path dir = Files.createTempDirectory("viommu-greet");
        final Path ctl = dir.resolve("q.sock");
        final Process p = new ProcessBuilder(List.of(java(), cacheOption, "-Xlog:aot=off", "-Xlog:cds=off",
                "--enable-native-access=ALL-UNNAMED", ADD_EXPORTS, "-cp", sidecarClassPath(),
                "dev.viommu.sidecar.Main", "--control", ctl.toString(), "--dataplane", dir.resolve("d.sock").toString(),
                "--log-level", "warn")).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        running = p;
        runningDir = dir;
        while (!Files.exists(ctl)) {
            if (!p.isAlive()) throw new IOException("sidecar exited " + p.exitValue());
            // polled every 0.2 ms, not spun: on this 2-core machine a spinning client takes a core from the JVM it
            // is timing, which the hello-world side (a blocking pipe read) does not
            java.util.concurrent.locks.LockSupport.parkNanos(200_000);
        }
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.connect(UnixDomainSocketAddress.of(ctl));
            final ByteBuffer b = ByteBuffer.allocate(512);
            while (b.position() == 0 || b.get(b.position() - 1) != '\n') if (c.read(b) < 0) throw new IOException("closed");
            return b.position();
        }
    }

    /** The baseline program. */
    public static final class Hello {
        public static void main(final String[] args) { System.out.println("hello"); }
    }
}
