package dev.viommu.sidecar;

import dev.viommu.core.client.DataPlaneClient;
import dev.viommu.core.client.QmpClient;
import dev.viommu.core.dataplane.DataPlane;
import dev.viommu.core.posix.Posix;
import dev.viommu.core.translate.AccessType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The data plane over a real socket, through the client library. */
class DataPlaneTest {
    private SidecarFixture fx;
    private QmpClient qmp;
    private final List<long[]> msis = new ArrayList<>();
    private final List<long[]> invalidations = new ArrayList<>();
    private DataPlaneClient dp;

    @BeforeEach
    void start() throws Exception {
        fx = new SidecarFixture();
        qmp = QmpClient.open(fx.controlPath());
        qmp.execute("device_add", Map.of("driver", "test-iommu", "id", "t0", "offset", 0x1000, "limit", 0x10000));
        qmp.execute("viommu-attach-device", Map.of("viommu", "t0", "id", "ep0", "source-id", 0x18));
        dp = DataPlaneClient.connect(fx.dataPlane, new DataPlaneClient.Listener() {
            @Override public void msi(final int handle, final long address, final int data) { msis.add(new long[] {handle, address, data}); }

            @Override public void iotlbInvalidate(final int handle, final int s, final int p, final long iova, final long size) {
                invalidations.add(new long[] {handle, s, p, iova, size});
            }
        });
    }

    @AfterEach
    void stop() throws Exception {
        dp.close();
        qmp.close();
        fx.close();
    }

    @Test
    void shouldReadAndWriteRegistersInOrder() throws Exception {
        assertEquals(0x7E57, dp.mmioRead(1, 0, 0x00, 4));
        for (int i = 0; i < 100; i++) {
            dp.mmioWrite(1, 0, 0x08, 8, 0x1111_0000_0000L + i);
        }
        assertEquals(0x1111_0000_0000L + 99, dp.mmioRead(1, 0, 0x08, 8));   // the read sees every earlier write
        dp.mmioWrite(1, 0, 0x0C, 4, 0xCAFE);                                 // upper half alone
        assertEquals(0xCAFE_0000_0063L, dp.mmioRead(1, 0, 0x08, 8));
        assertEquals(0x63, dp.mmioRead(1, 0, 0x08, 1));
    }

    @Test
    void shouldTranslateAndReportFaults() throws Exception {
        final DataPlaneClient.TranslateReply ok = dp.translate(1, 0x18, -1, 0x2345, AccessType.READ);
        assertTrue(ok.ok());
        assertEquals(0x3345, ok.outputAddress());
        assertEquals(4096, ok.pageSize());
        final DataPlaneClient.TranslateReply fault = dp.translate(1, 0x18, -1, 0x10000, AccessType.WRITE);
        assertFalse(fault.ok());
        assertEquals(2, fault.faultCode());
        assertFalse(dp.translate(1, 0x99, -1, 0x10, AccessType.READ).ok());
    }

    @Test
    void shouldDeliverInterruptsAndInvalidationsAsynchronously() throws Exception {
        dp.mmioWrite(1, 0, 0x18, 8, 0xFEE0_0000L);
        dp.mmioWrite(1, 0, 0x20, 4, 0x41);
        dp.doorbell(1, 2);
        dp.mmioWrite(1, 0, 0x38, 4, 1);
        dp.mmioRead(1, 0, 0, 4);            // a round trip: the async frames were sent before its reply
        dp.poll(50);
        assertEquals(1, msis.size());
        assertEquals(0xFEE0_0000L, msis.get(0)[1]);
        assertEquals(0x43, msis.get(0)[2]);
        assertEquals(1, invalidations.size());
        assertEquals(-1, invalidations.get(0)[1]);
    }

    @Test
    void shouldRejectBadHandlesRegionsAndAccessesWithoutClosing() throws Exception {
        assertEquals(DataPlane.S_NO_DEVICE, assertThrows(DataPlaneClient.DataPlaneException.class, () -> dp.mmioRead(9, 0, 0, 4)).status());
        assertEquals(DataPlane.S_BAD_REGION, assertThrows(DataPlaneClient.DataPlaneException.class, () -> dp.mmioRead(1, 3, 0, 4)).status());
        assertEquals(DataPlane.S_BAD_ACCESS, assertThrows(DataPlaneClient.DataPlaneException.class, () -> dp.mmioRead(1, 0, 0xFE, 4)).status());
        assertEquals(DataPlane.S_BAD_ACCESS, assertThrows(DataPlaneClient.DataPlaneException.class, () -> dp.mmioRead(1, 0, 0, 3)).status());
        assertEquals(DataPlane.S_BAD_ACCESS, assertThrows(DataPlaneClient.DataPlaneException.class, () -> dp.mmioRead(1, 0, -8, 8)).status());
        assertEquals(0x7E57, dp.mmioRead(1, 0, 0, 4));
        assertEquals(42, dp.ping(42));
    }

    @Test
    void shouldAnswerMalformedFramesWithErrorsAndCloseOnOversizedOnes() throws Exception {
        try (SocketChannel raw = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            raw.connect(UnixDomainSocketAddress.of(fx.dataPlane));
            final ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(12).putShort((short) 0x33).putShort((short) 1).putInt(7).putInt(0).flip();   // unknown type
            raw.write(b);
            final ByteBuffer r = ByteBuffer.allocate(4 + DataPlane.ERROR_LENGTH).order(ByteOrder.LITTLE_ENDIAN);
            while (r.hasRemaining()) raw.read(r);
            assertEquals(DataPlane.ERROR, r.getShort(4) & 0xFFFF);
            assertEquals(7, r.getInt(8));
            assertEquals(DataPlane.S_UNKNOWN_TYPE, r.getInt(4 + DataPlane.ERR_STATUS));
            final ByteBuffer huge = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putInt(1 << 20).putInt(0).flip();
            raw.write(huge);
            final ByteBuffer eof = ByteBuffer.allocate(16);
            int n = 0;
            for (int i = 0; i < 100 && n >= 0; i++) n = raw.read(eof);
            assertEquals(-1, n, "an oversized frame closes the connection");
        }
        assertEquals(7, dp.ping(7));   // other connections are unaffected
    }

    @Test
    void shouldWriteGuestMemoryThroughTheDeviceAfterObjectAdd() throws Exception {
        final int memfd = Posix.memfdCreate("ram", 1 << 16);
        qmp.execute("getfd", Map.of("fdname", "ram"), memfd);
        qmp.execute("object-add", Map.of("qom-type", "memory-backend-memfd", "id", "ram0", "size", 1 << 16, "fd", "ram"));
        dp.mmioWrite(1, 0, 0x28, 8, 0x100);
        dp.mmioWrite(1, 0, 0x30, 8, 0xDEAD_BEEF_0123_4567L);
        dp.mmioRead(1, 0, 0, 4);
        final var seg = Posix.mmapShared(memfd, 1 << 16, 0, false);
        assertEquals(0xDEAD_BEEF_0123_4567L, seg.get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, 0x100));
        dp.mmioWrite(1, 0, 0x28, 8, 0x10_0000);           // outside RAM: the device's architected error, no crash
        dp.mmioWrite(1, 0, 0x30, 8, 1);
        assertEquals(1, dp.mmioRead(1, 0, 0x10, 4));
        Posix.munmap(seg);
        Posix.closeQuietly(memfd);
    }

    @Test
    void shouldRefuseAfterClose() throws Exception {
        dp.close();
        assertThrows(IOException.class, () -> dp.ping(1));
    }
    /** A meter's value in query-metrics' Prometheus text, by the start of its sample line. */
    private double sample(final String text, final String prefix) {
        for (String line : text.split("\n")) {
            if (line.startsWith(prefix)) return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        }
        throw new AssertionError("no sample " + prefix + " in\n" + text);
    }

    @Test
    void countsEachRequestOnceInTheDeviceAndOnceInTheDataPlane() throws Exception {
        for (int i = 0; i < 7; i++) dp.mmioRead(1, 0, 0x00, 4);
        for (int i = 0; i < 5; i++) dp.mmioWrite(1, 0, 0x08, 8, i);
        for (int i = 0; i < 3; i++) dp.translate(1, 0x18, -1, 0x1000L * i, AccessType.READ);
        final String text = qmp.execute("query-metrics", Map.of()).path("text").asText();
        // the device's own counts: what the device did (before: the data plane counted into these too, doubling them)
        assertEquals(7, sample(text, "viommu_mmio_accesses_total{device=\"t0\",dir=\"read\""), text);
        assertEquals(5, sample(text, "viommu_mmio_accesses_total{device=\"t0\",dir=\"write\""), text);
        assertEquals(3, sample(text, "viommu_translations_total{device=\"t0\""), text);
        // the transport's: frames it handed to the device
        assertEquals(7, sample(text, "viommu_dataplane_requests_total{device=\"t0\",driver=\"test-iommu\",type=\"mmio-read\""), text);
        assertEquals(5, sample(text, "viommu_dataplane_requests_total{device=\"t0\",driver=\"test-iommu\",type=\"mmio-write\""), text);
        assertEquals(3, sample(text, "viommu_dataplane_requests_total{device=\"t0\",driver=\"test-iommu\",type=\"translate\""), text);
    }
    @Test
    void aModelThatThrowsOnADoorbellDoesNotCostTheHypervisorItsConnection() throws Exception {
        dp.doorbell(1, TestDeviceProvider.BUGGY_QUEUE);                       // before: the exception closed the connection
        assertEquals(0x7E57, dp.mmioRead(1, 0, 0x00, 4));
        final String text = qmp.execute("query-metrics", Map.of()).path("text").asText();
        assertEquals(1, sample(text, "viommu_faults_total{device=\"t0\",driver=\"test-iommu\",type=\"internal-error\""), text);
    }
}
