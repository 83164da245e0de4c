package dev.viommu.bench;

import dev.viommu.core.client.DataPlaneClient;
import dev.viommu.core.client.QmpClient;
import dev.viommu.core.dataplane.DataPlane;
import dev.viommu.sidecar.Sidecar;
import dev.viommu.sidecar.SidecarConfig;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A data-plane MMIO read round trip (client library, Netty epoll server, device register read, reply) against
 * the baseline of a raw Unix-socket ping-pong of the same frame sizes, served by a plain blocking thread.
 * Both run in the same JVM and the same run; {@link Ratios} reports {@code mmioRead / rawPingPong}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class DataPlaneRoundTrip {
    private static final int REQUEST = 4 + DataPlane.MMIO_READ_LENGTH;
    private static final int REPLY = 4 + DataPlane.MMIO_READ_REPLY_LENGTH;

    private Path dir;
    private Sidecar sidecar;
    private DataPlaneClient client;
    private int handle;

    private ServerSocketChannel echoServer;
    private Thread echoThread;
    private SocketChannel raw;
    private final ByteBuffer out = ByteBuffer.allocateDirect(REQUEST).order(ByteOrder.LITTLE_ENDIAN);
    private final ByteBuffer in = ByteBuffer.allocateDirect(REPLY).order(ByteOrder.LITTLE_ENDIAN);

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        dir = Files.createTempDirectory("viommu-bench");
        sidecar = new Sidecar(new SidecarConfig(List.of(), Map.of("backend", "none"), List.of()),
                dir.resolve("qmp.sock"), dir.resolve("dp.sock"));
        sidecar.start();
        try (QmpClient q = QmpClient.open(dir.resolve("qmp.sock").toString())) {
            q.execute("device_add", Map.of("driver", BenchDevices.MMIO_DRIVER, "id", "bench0"));
            handle = q.execute("query-viommus", Map.of()).get(0).path("handle").asInt();
        }
        client = DataPlaneClient.connect(dir.resolve("dp.sock"), null);

        final Path echo = dir.resolve("echo.sock");
        echoServer = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        echoServer.bind(UnixDomainSocketAddress.of(echo));
        echoThread = Thread.ofPlatform().daemon().start(() -> {
            try (SocketChannel c = echoServer.accept()) {
                final ByteBuffer req = ByteBuffer.allocateDirect(REQUEST);
                final ByteBuffer rep = ByteBuffer.allocateDirect(REPLY);
                while (true) {
                    req.clear();
                    while (req.hasRemaining()) if (c.read(req) < 0) return;
                    rep.clear();
                    while (rep.hasRemaining()) c.write(rep);
                }
            } catch (IOException ignored) {
                // the benchmark ended
            }
        });
        raw = SocketChannel.open(StandardProtocolFamily.UNIX);
        raw.connect(UnixDomainSocketAddress.of(echo));
    }

    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        client.close();
        raw.close();
        echoServer.close();
        echoThread.join(1000);
        sidecar.close();
        try (var s = Files.list(dir)) { for (Path p : s.toList()) Files.deleteIfExists(p); }
        Files.deleteIfExists(dir);
    }

    /** The baseline: the same request and reply sizes over a raw socket, echoed by a blocking thread. */
    @Benchmark
    public int rawPingPong() throws IOException {
        out.clear();
        while (out.hasRemaining()) raw.write(out);
        in.clear();
        while (in.hasRemaining()) raw.read(in);
        return in.get(0);
    }

    /** A 4-byte MMIO read of a device register through the sidecar's data plane. */
    @Benchmark
    public long mmioRead() throws IOException {
        return client.mmioRead(handle, 0, BenchDevices.MMIO_OFFSET, 4);
    }
}
