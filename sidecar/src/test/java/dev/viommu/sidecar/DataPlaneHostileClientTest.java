package dev.viommu.sidecar;

import com.fasterxml.jackson.databind.JsonNode;
import dev.viommu.core.client.QmpClient;
import dev.viommu.core.dataplane.DataPlane;
import dev.viommu.core.posix.Posix;
import dev.viommu.core.spi.DeviceModel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile hypervisors on the real data-plane socket (docs/dataplane.md): random frames, valid and not, whole,
 * split or byte by byte, interleaved with MMIO and translations whose answers are known. Each well-formed request
 * must get its documented reply, in order; a frame of the wrong length an ERROR with MALFORMED; an unknown type
 * UNKNOWN_TYPE; a length prefix over 64 bytes a close (after the replies already owed); and a new connection
 * must always work, with the registers holding what valid frames wrote.
 */
class DataPlaneHostileClientTest {
    private static final int T0_SOURCE = 0x18, T0_OFFSET = 0x1000, T0_LIMIT = 0x10000, SCRATCH = 0x08;

    private SidecarFixture fx;
    private LogWatch log;
    private QmpClient qmp;
    private int memfd = -1;
    private final List<Dev> devices = new ArrayList<>();

    /** A device as the data plane sees it. */
    private record Dev(String id, int handle, long[] regions, boolean pci, boolean pageRequests, boolean remapper) {
        boolean isT0() { return id.equals("t0"); }
    }

    /** What must come back for one frame: a reply type with its checks, an ERROR with a status, or nothing. */
    private record Expect(int type, int tag, int handle, int status, int requestType, Consumer<ByteBuffer> check) {}

    /** One frame (or a broken piece of one) on the wire and what it must be answered with (null: nothing). */
    private record Frame(String what, byte[] bytes, Expect expect) {}

    @BeforeEach
    void start() throws Exception {
        log = LogWatch.start();
        fx = new SidecarFixture();
        qmp = QmpClient.open(fx.controlPath());
        memfd = Posix.memfdCreate("ram", 1 << 20);
        qmp.execute("getfd", Map.of("fdname", "ram"), memfd);
        qmp.execute("object-add", Map.of("qom-type", "memory-backend-memfd", "id", "ram0", "size", 1 << 20, "fd", "ram"));
        qmp.execute("device_add", Map.of("driver", "test-iommu", "id", "t0", "offset", T0_OFFSET, "limit", T0_LIMIT));
        qmp.execute("viommu-attach-device", Map.of("viommu", "t0", "id", "ep0", "source-id", T0_SOURCE));
        qmp.execute("device_add", Map.of("driver", "intel-iommu", "id", "vtd0"));
        qmp.execute("device_add", Map.of("driver", "arm-smmuv3", "id", "smmu0"));
        qmp.execute("device_add", Map.of("driver", "virtio-iommu-pci", "id", "vpci0"));
        qmp.execute("device_add", Map.of("driver", "virtio-iommu-device", "id", "vmmio0"));
        for (String id : List.of("vtd0", "smmu0", "vpci0", "vmmio0")) {
            qmp.execute("viommu-attach-device", Map.of("viommu", id, "id", "ep0", "source-id", 0x10));
        }
        for (JsonNode d : qmp.execute("query-viommus", Map.of())) {
            final long[] sizes = new long[d.path("regions").size()];
            for (int i = 0; i < sizes.length; i++) sizes[i] = d.path("regions").get(i).path("size").asLong();
            final DeviceModel m = fx.sidecar.machine().device(d.path("id").asText()).model();
            devices.add(new Dev(d.path("id").asText(), d.path("handle").asInt(), sizes, m.pci().isPresent(),
                    m.pageRequests().isPresent(), m.interruptRemapper().isPresent()));
        }
    }

    @AfterEach
    void stop() throws Exception {
        try {
            qmp.close();
            fx.close();
        } finally {
            Posix.closeQuietly(memfd);
            log.close();
        }
    }

    // ---- the random hypervisor ---------------------------------------------------------------------------------

    /** Generates frames and what each must get; tracks SCRATCH of t0 as written by valid frames (null: unknown). */
    private final class Gen {
        final Random rnd;
        Long scratch = 0L;
        int tag = 1;

        Gen(final long seed) { rnd = new Random(seed); }

        boolean chance(final int percent) { return rnd.nextInt(100) < percent; }

        @SafeVarargs
        final <T> T pick(final T... l) { return l[rnd.nextInt(l.length)]; }

        Frame next() {
            final int r = rnd.nextInt(100);
            if (r < 6) return tooShort();
            if (r < 13) return unknownType();
            if (r < 20) return wrongLength();
            return request();
        }

        private Frame tooShort() {
            final int len = rnd.nextInt(DataPlane.HEADER_LENGTH);
            final byte[] b = RawDataPlane.frame(len, 0, 0, 0, body -> { while (body.hasRemaining()) body.put((byte) rnd.nextInt(256)); });
            return new Frame("frame of " + len + " bytes", b, new Expect(DataPlane.ERROR, 0, 0, DataPlane.S_MALFORMED, 0, null));
        }

        private Frame unknownType() {
            int type;
            do {
                type = pick(0, 8, 0x3F, DataPlane.IRQ_MSI, DataPlane.IRQ_LINE, DataPlane.IOTLB_INVALIDATE, DataPlane.PAGE_RESPONSE,
                        0x44, 0x7F, DataPlane.MMIO_READ_REPLY, DataPlane.PONG, DataPlane.ERROR, 0x101, 0xFFFF, rnd.nextInt(1 << 16));
            } while (type >= DataPlane.MMIO_READ && type <= DataPlane.REMAP_MSI);
            final int len = DataPlane.HEADER_LENGTH + rnd.nextInt(DataPlane.MAX_FRAME - DataPlane.HEADER_LENGTH + 1);
            final int t = tag++;
            final byte[] b = RawDataPlane.frame(len, type, someHandle(), t, this::noise);
            return new Frame("unknown type " + type, b, new Expect(DataPlane.ERROR, t, 0, DataPlane.S_UNKNOWN_TYPE, type, null));
        }

        private Frame wrongLength() {
            final int type = DataPlane.MMIO_READ + rnd.nextInt(DataPlane.REMAP_MSI);
            int len;
            do { len = DataPlane.HEADER_LENGTH + rnd.nextInt(DataPlane.MAX_FRAME - DataPlane.HEADER_LENGTH + 1); } while (len == DataPlane.lengthOf(type));
            final int t = tag++;
            final byte[] b = RawDataPlane.frame(len, type, someHandle(), t, this::noise);
            return new Frame("type " + type + " with length " + len, b, new Expect(DataPlane.ERROR, t, 0, DataPlane.S_MALFORMED, type, null));
        }

        private void noise(final ByteBuffer body) {
            body.position(Math.min(body.limit(), DataPlane.HEADER_LENGTH));     // keep the header as set
            while (body.hasRemaining()) body.put((byte) rnd.nextInt(256));
        }

        private int someHandle() {
            return chance(85) ? devices.get(rnd.nextInt(devices.size())).handle() : pick(0, 0xFFFF, 999, devices.size() + 1);
        }

        private Dev dev(final int handle) {
            for (Dev d : devices) if (d.handle() == handle) return d;
            return null;
        }

        private Frame request() {
            final int handle = someHandle();
            final Dev d = dev(handle);
            final int t = tag++;
            final int type = pick(DataPlane.MMIO_READ, DataPlane.MMIO_READ, DataPlane.MMIO_READ, DataPlane.MMIO_WRITE, DataPlane.MMIO_WRITE,
                    DataPlane.MMIO_WRITE, DataPlane.TRANSLATE, DataPlane.TRANSLATE, DataPlane.PING, DataPlane.DOORBELL, DataPlane.PAGE_REQUEST,
                    DataPlane.REMAP_MSI);
            final int len = DataPlane.lengthOf(type);
            if (type == DataPlane.PING) {
                final long payload = rnd.nextLong();
                return new Frame("ping", RawDataPlane.frame(len, type, handle, t, b -> b.putLong(DataPlane.PING_PAYLOAD, payload)),
                        new Expect(DataPlane.PONG, t, 0, -1, 0, r -> assertEquals(payload, r.getLong(DataPlane.PING_PAYLOAD))));
            }
            if (d == null) {
                final byte[] b = RawDataPlane.frame(len, type, handle, t, this::noise);
                return new Frame("type " + type + " for no device " + handle, b, new Expect(DataPlane.ERROR, t, 0, DataPlane.S_NO_DEVICE, type, null));
            }
            return switch (type) {
                case DataPlane.MMIO_READ, DataPlane.MMIO_WRITE -> mmio(d, type, t);
                case DataPlane.TRANSLATE -> translate(d, t);
                case DataPlane.DOORBELL -> new Frame("doorbell", RawDataPlane.frame(len, type, handle, t,
                        b -> b.putInt(DataPlane.DB_QUEUE, pick(0, 1, 2, -1, rnd.nextInt()))), null);
                case DataPlane.PAGE_REQUEST -> pageRequest(d, t);
                default -> remapMsi(d, t);
            };
        }

        private Frame mmio(final Dev d, final int type, final int t) {
            final int region = chance(85) ? rnd.nextInt(d.regions().length)
                    : pick(d.regions().length, 0xFF, 0xFE, rnd.nextInt(256));
            final long rsize = region == 0xFF && d.pci() ? 4096 : region < d.regions().length ? d.regions()[region] : -1;
            final int size = chance(90) ? pick(1, 2, 4, 8, 4, 8) : pick(0, 3, 5, 16, 255);
            long offset;
            if (d.isT0() && region == 0 && chance(50)) {
                offset = pick(SCRATCH, SCRATCH, SCRATCH + 4, 0x00, 0x10, 0x18, 0x20, 0x28, 0x38);
            } else if (rsize > 0 && chance(85)) {
                offset = (rnd.nextLong() & Long.MAX_VALUE) % Math.max(1, rsize - Math.min(size, 8) + 1);
                if (chance(80)) offset &= ~(long) (Math.max(1, Math.min(size, 8)) - 1);
            } else {
                offset = pick(-8L, Long.MAX_VALUE, Long.MIN_VALUE, rsize, rsize - size + 1, rnd.nextLong());
            }
            final long value = chance(50) ? rnd.nextLong() : rnd.nextInt(256);
            final long off = offset;
            final byte[] b = RawDataPlane.frame(DataPlane.lengthOf(type), type, d.handle(), t, f -> {
                f.put(DataPlane.MMIO_REGION, (byte) region);
                f.put(DataPlane.MMIO_SIZE, (byte) size);
                f.putLong(DataPlane.MMIO_OFFSET, off);
                if (type == DataPlane.MMIO_WRITE) f.putLong(DataPlane.MMIO_VALUE, value);
            });
            final String what = (type == DataPlane.MMIO_READ ? "read " : "write ") + d.id() + " region " + region + " +" + Long.toHexString(off) + "/" + size;
            if (rsize < 0) return new Frame(what, b, new Expect(DataPlane.ERROR, t, 0, DataPlane.S_BAD_REGION, type, null));
            if ((size != 1 && size != 2 && size != 4 && size != 8) || off < 0 || off > rsize - size) {
                return new Frame(what, b, new Expect(DataPlane.ERROR, t, 0, DataPlane.S_BAD_ACCESS, type, null));
            }
            final boolean scratchBytes = d.isT0() && region == 0 && off < SCRATCH + 8 && off + size > SCRATCH;
            if (type == DataPlane.MMIO_WRITE) {
                if (scratchBytes) {
                    if (off == SCRATCH && size == 8) scratch = value;
                    else if (scratch != null && off == SCRATCH && size == 4) scratch = (scratch & 0xFFFF_FFFF_0000_0000L) | (value & 0xFFFF_FFFFL);
                    else if (scratch != null && off == SCRATCH + 4 && size == 4) scratch = (scratch & 0xFFFF_FFFFL) | (value << 32);
                    else scratch = null;        // a narrower write: not modelled
                }
                return new Frame(what, b, null);
            }
            final Long known = scratch;
            final Consumer<ByteBuffer> check;
            if (scratchBytes && known != null && off == SCRATCH && size == 8) check = r -> assertEquals(known.longValue(), r.getLong(DataPlane.RR_VALUE), "SCRATCH");
            else if (scratchBytes && known != null && off == SCRATCH && size == 4) check = r -> assertEquals(known & 0xFFFF_FFFFL, r.getLong(DataPlane.RR_VALUE), "SCRATCH low");
            else if (scratchBytes && known != null && off == SCRATCH + 4 && size == 4) check = r -> assertEquals(known >>> 32, r.getLong(DataPlane.RR_VALUE), "SCRATCH high");
            else if (d.isT0() && region == 0 && off == 0 && size == 4) check = r -> assertEquals(0x7E57, r.getLong(DataPlane.RR_VALUE), "ID");
            else check = r -> { };
            return new Frame(what, b, new Expect(DataPlane.MMIO_READ_REPLY, t, d.handle(), DataPlane.S_OK, 0,
                    r -> { assertEquals(DataPlane.S_OK, r.getInt(DataPlane.RR_STATUS)); check.accept(r); }));
        }

        private Frame translate(final Dev d, final int t) {
            final int source = chance(70) ? (d.isT0() ? T0_SOURCE : 0x10) : pick(0, -1, 0xFFFF, rnd.nextInt());
            final int pasid = pick(-1, -1, 0, 1, -2, Integer.MAX_VALUE, rnd.nextInt());
            final long iova = chance(60) ? rnd.nextInt(2 * T0_LIMIT) : pick(-1L, Long.MIN_VALUE, rnd.nextLong(), 0xFFFF_FFFF_FFFF_F000L);
            final int access = pick(1, 2, 3, 4, 8, 0, -1, rnd.nextInt());
            final byte[] b = RawDataPlane.frame(DataPlane.TRANSLATE_LENGTH, DataPlane.TRANSLATE, d.handle(), t, f -> {
                f.putInt(DataPlane.TR_SOURCE, source);
                f.putInt(DataPlane.TR_PASID, pasid);
                f.putLong(DataPlane.TR_IOVA, iova);
                f.putInt(DataPlane.TR_ACCESS, access);
            });
            final Consumer<ByteBuffer> check;
            if (d.isT0()) {
                check = r -> {
                    if (source != T0_SOURCE) {
                        assertEquals(DataPlane.S_FAULT, r.getInt(DataPlane.TRR_STATUS));
                        assertEquals(1, r.getInt(DataPlane.TRR_FAULT));
                    } else if (Long.compareUnsigned(iova, T0_LIMIT) >= 0) {
                        assertEquals(DataPlane.S_FAULT, r.getInt(DataPlane.TRR_STATUS));
                        assertEquals(2, r.getInt(DataPlane.TRR_FAULT));
                    } else {
                        assertEquals(DataPlane.S_OK, r.getInt(DataPlane.TRR_STATUS));
                        assertEquals(iova + T0_OFFSET, r.getLong(DataPlane.TRR_OUT));
                        assertEquals(4096, r.getLong(DataPlane.TRR_PAGE_SIZE));
                    }
                };
            } else {
                check = r -> {
                    final int st = r.getInt(DataPlane.TRR_STATUS);
                    assertTrue(st == DataPlane.S_OK || st == DataPlane.S_FAULT, "translate status " + st);
                    if (st == DataPlane.S_OK) assertEquals(1, Long.bitCount(r.getLong(DataPlane.TRR_PAGE_SIZE)), "a page size");
                };
            }
            return new Frame("translate " + d.id() + " src " + source + " iova " + Long.toHexString(iova), b,
                    new Expect(DataPlane.TRANSLATE_REPLY, t, d.handle(), -1, 0, check));
        }

        private Frame pageRequest(final Dev d, final int t) {
            final byte[] b = RawDataPlane.frame(DataPlane.PAGE_REQUEST_LENGTH, DataPlane.PAGE_REQUEST, d.handle(), t, f -> {
                f.putInt(DataPlane.PR_SOURCE, chance(50) ? 0x10 : rnd.nextInt());
                f.putInt(DataPlane.PR_PASID, pick(-1, 0, 1, rnd.nextInt()));
                f.putLong(DataPlane.PR_ADDRESS, rnd.nextLong());
                f.putInt(DataPlane.PR_ACCESS, pick(1, 2, 3, rnd.nextInt()));
                f.putShort(DataPlane.PR_GROUP, (short) rnd.nextInt(1 << 16));
                f.putShort(DataPlane.PR_FLAGS, (short) rnd.nextInt(1 << 16));
            });
            if (!d.pageRequests()) {
                return new Frame("page request to " + d.id(), b, new Expect(DataPlane.ERROR, t, 0, DataPlane.S_NOT_SUPPORTED, DataPlane.PAGE_REQUEST, null));
            }
            return new Frame("page request to " + d.id(), b, new Expect(DataPlane.PAGE_REQUEST_REPLY, t, d.handle(), -1, 0, r -> {
                final int st = r.getInt(DataPlane.PRR_STATUS);
                assertTrue(st == 0 || st == 1, "page request status " + st);
            }));
        }

        private Frame remapMsi(final Dev d, final int t) {
            final int source = chance(50) ? 0x10 : rnd.nextInt();
            final int data = rnd.nextInt();
            final long address = chance(50) ? 0xFEE0_0000L | rnd.nextInt(1 << 20) : rnd.nextLong();
            final byte[] b = RawDataPlane.frame(DataPlane.REMAP_MSI_LENGTH, DataPlane.REMAP_MSI, d.handle(), t, f -> {
                f.putInt(DataPlane.RM_SOURCE, source);
                f.putInt(DataPlane.RM_DATA, data);
                f.putLong(DataPlane.RM_ADDRESS, address);
            });
            return new Frame("remap msi on " + d.id(), b, new Expect(DataPlane.REMAP_MSI_REPLY, t, d.handle(), -1, 0, r -> {
                final int st = r.getInt(DataPlane.RMR_STATUS);
                if (!d.remapper()) {
                    // no remapping hardware: passed through as written
                    assertEquals(DataPlane.S_OK, st);
                    assertEquals(data, r.getInt(DataPlane.RMR_DATA));
                    assertEquals(address, r.getLong(DataPlane.RMR_ADDRESS));
                } else {
                    assertTrue(st == 0 || st == 1, "remap status " + st);
                }
            }));
        }
    }

    // ---- driving ----------------------------------------------------------------------------------------------

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3})
    @Timeout(30)
    void randomFramesGetTheirDocumentedRepliesInOrderAndTheSidecarStaysUp(final long seed) throws Exception {
        final Gen g = new Gen(seed);
        RawDataPlane dp = new RawDataPlane(fx.dataPlane);
        try {
            for (int batchNo = 0; batchNo < 150; batchNo++) {
                final List<Frame> batch = new ArrayList<>();
                for (int i = 1 + g.rnd.nextInt(12); i > 0; i--) batch.add(g.next());
                final ByteArrayOutputStream out = new ByteArrayOutputStream();
                for (Frame f : batch) out.writeBytes(f.bytes());
                final int ending = g.rnd.nextInt(100);
                if (ending < 4) {
                    // a length prefix over the limit: the replies owed come first, then the sidecar closes
                    out.writeBytes(RawDataPlane.frame(0, 0, 0, 0, null));
                    final byte[] all = out.toByteArray();
                    final int huge = g.pick(DataPlane.MAX_FRAME + 1, 1000, 1 << 20, -1);
                    java.nio.ByteBuffer.wrap(all, all.length - 4, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(huge);
                    send(dp, all, g.rnd);
                    expectReplies(dp, batch);
                    assertTrue(dp.awaitEof(5000), "a length of " + Integer.toUnsignedString(huge) + " closes the connection");
                    dp.close();
                    dp = new RawDataPlane(fx.dataPlane);
                    continue;
                }
                if (ending < 8) {
                    // gone mid-frame, replies unread: nothing may break, and the next connection works
                    final Frame cut = g.next();
                    out.write(cut.bytes(), 0, 1 + g.rnd.nextInt(cut.bytes().length - 1));
                    send(dp, out.toByteArray(), g.rnd);
                    dp.close();
                    g.scratch = null;      // its writes may land after the next connection's reads
                    dp = new RawDataPlane(fx.dataPlane);
                    continue;
                }
                send(dp, out.toByteArray(), g.rnd);
                try {
                    expectReplies(dp, batch);
                } catch (AssertionError e) {
                    throw new AssertionError(e.getMessage() + "\n  in batch " + batch.stream().map(f -> f.what() + " " + java.util.HexFormat.of().formatHex(f.bytes())).toList(), e);
                }
            }
            // a register written through valid frames reads back, on a new connection too
            dp.close();
            dp = new RawDataPlane(fx.dataPlane);
            assertScratchRoundTrips(dp, g, 0x5EED_0000_0000_0000L | seed);
        } finally {
            dp.close();
        }
        // the sidecar is up on both sockets, and the devices are all there
        try (RawDataPlane fresh = new RawDataPlane(fx.dataPlane)) {
            assertScratchRoundTrips(fresh, g, 0xFEED_FACE_0000_0000L | seed);
        }
        assertEquals(devices.size(), qmp.execute("query-viommus", Map.of()).size());
        log.assertQuiet();
    }

    private static void send(final RawDataPlane dp, final byte[] b, final Random rnd) throws IOException {
        switch (rnd.nextInt(6)) {
            case 0, 1, 2 -> dp.write(b);
            case 3, 4 -> dp.writeSplit(b, rnd, 1 + rnd.nextInt(40));
            default -> dp.writeSplit(b, rnd, 1);
        }
    }

    /** Reads the replies {@code batch} is owed, in order, skipping asynchronous frames (checked for shape). */
    private static void expectReplies(final RawDataPlane dp, final List<Frame> batch) throws IOException {
        for (Frame f : batch) {
            if (f.expect() == null) continue;
            final Expect e = f.expect();
            ByteBuffer r;
            while (true) {
                try {
                    r = dp.frame(5000);
                } catch (IOException ex) {
                    throw new AssertionError("no reply to " + f.what(), ex);
                }
                final int type = r.getShort(0) & 0xFFFF;
                if (type < DataPlane.IRQ_MSI || type > DataPlane.PAGE_RESPONSE) break;
                assertEquals(DataPlane.lengthOf(type), r.limit(), "async frame " + type + " has its length");
                assertEquals(0, r.getInt(DataPlane.TAG_OFFSET), "async frames have tag 0");
            }
            try {
                assertEquals(e.type(), r.getShort(DataPlane.TYPE_OFFSET) & 0xFFFF, "reply type");
                assertEquals(DataPlane.lengthOf(e.type()), r.limit(), "reply length");
                assertEquals(e.tag(), r.getInt(DataPlane.TAG_OFFSET), "tag echoed");
                assertEquals(e.handle(), r.getShort(DataPlane.HANDLE_OFFSET) & 0xFFFF, "handle");
                if (e.type() == DataPlane.ERROR) {
                    assertEquals(DataPlane.statusName(e.status()), DataPlane.statusName(r.getInt(DataPlane.ERR_STATUS)), "status");
                    assertEquals(e.requestType(), r.getShort(DataPlane.ERR_REQUEST_TYPE) & 0xFFFF, "request type");
                }
                if (e.check() != null) e.check().accept(r);
            } catch (AssertionError ex) {
                throw new AssertionError(f.what() + ": " + ex.getMessage() + "; got type " + (r.getShort(0) & 0xFFFF)
                        + " tag " + r.getInt(4) + " status " + (r.limit() > 12 ? r.getInt(8) : -1), ex);
            }
        }
    }

    private void assertScratchRoundTrips(final RawDataPlane dp, final Gen g, final long value) throws IOException {
        final int t0 = fx.sidecar.machine().device("t0").handle();
        final List<Frame> frames = new ArrayList<>();
        g.scratch = value;
        frames.add(new Frame("write SCRATCH", RawDataPlane.frame(DataPlane.MMIO_WRITE_LENGTH, DataPlane.MMIO_WRITE, t0, g.tag++, f -> {
            f.put(DataPlane.MMIO_SIZE, (byte) 8).putLong(DataPlane.MMIO_OFFSET, SCRATCH).putLong(DataPlane.MMIO_VALUE, value);
        }), null));
        final int rt = g.tag++;
        frames.add(new Frame("read SCRATCH", RawDataPlane.frame(DataPlane.MMIO_READ_LENGTH, DataPlane.MMIO_READ, t0, rt, f -> {
            f.put(DataPlane.MMIO_SIZE, (byte) 8).putLong(DataPlane.MMIO_OFFSET, SCRATCH);
        }), new Expect(DataPlane.MMIO_READ_REPLY, rt, t0, 0, 0, r -> assertEquals(value, r.getLong(DataPlane.RR_VALUE)))));
        final int pt = g.tag++;
        frames.add(new Frame("ping", RawDataPlane.frame(DataPlane.PING_LENGTH, DataPlane.PING, 0, pt, f -> f.putLong(DataPlane.PING_PAYLOAD, 42)),
                new Expect(DataPlane.PONG, pt, 0, 0, 0, r -> assertEquals(42, r.getLong(DataPlane.PING_PAYLOAD)))));
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Frame f : frames) out.writeBytes(f.bytes());
        dp.write(out.toByteArray());
        expectReplies(dp, frames);
    }

    /**
     * Devices deleted and re-added, and guest RAM deleted and re-added, while a hypervisor keeps a device doing DMA
     * and translating: every frame gets its reply (NO_DEVICE once the device is gone), nothing faults the JVM, and
     * the sidecar logs no error.
     */
    @Test
    @Timeout(30)
    void deletingDevicesAndRamInUseLeavesEveryFrameAnsweredAndTheJvmStanding() throws Exception {
        final AtomicInteger handle = new AtomicInteger(devices.stream().filter(Dev::isT0).findFirst().orElseThrow().handle());
        final AtomicBoolean stop = new AtomicBoolean();
        final ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        final AtomicInteger answered = new AtomicInteger(), gone = new AtomicInteger();
        final Thread hv = Thread.ofPlatform().name("hypervisor").start(() -> {
            try (RawDataPlane dp = new RawDataPlane(fx.dataPlane)) {
                int tag = 1;
                while (!stop.get()) {
                    final int h = handle.get();
                    final ByteArrayOutputStream out = new ByteArrayOutputStream();
                    // DMA: the device writes guest RAM at DMA_GPA, then a read (which waits for both) and a translation
                    out.writeBytes(RawDataPlane.frame(DataPlane.MMIO_WRITE_LENGTH, DataPlane.MMIO_WRITE, h, tag++, f ->
                            f.put(DataPlane.MMIO_SIZE, (byte) 8).putLong(DataPlane.MMIO_OFFSET, 0x28).putLong(DataPlane.MMIO_VALUE, 0x100)));
                    out.writeBytes(RawDataPlane.frame(DataPlane.MMIO_WRITE_LENGTH, DataPlane.MMIO_WRITE, h, tag++, f ->
                            f.put(DataPlane.MMIO_SIZE, (byte) 8).putLong(DataPlane.MMIO_OFFSET, 0x30).putLong(DataPlane.MMIO_VALUE, 0xD1A)));
                    final int rt = tag++, tt = tag++;
                    out.writeBytes(RawDataPlane.frame(DataPlane.MMIO_READ_LENGTH, DataPlane.MMIO_READ, h, rt, f ->
                            f.put(DataPlane.MMIO_SIZE, (byte) 4).putLong(DataPlane.MMIO_OFFSET, 0x10)));
                    out.writeBytes(RawDataPlane.frame(DataPlane.TRANSLATE_LENGTH, DataPlane.TRANSLATE, h, tt, f ->
                            f.putInt(DataPlane.TR_SOURCE, T0_SOURCE).putLong(DataPlane.TR_IOVA, 0x2000).putInt(DataPlane.TR_ACCESS, 1)));
                    dp.write(out.toByteArray());
                    // the writes are answered only if they failed (NO_DEVICE); then come the read's and the translation's
                    final List<Integer> tags = new ArrayList<>();
                    while (!tags.contains(tt)) {
                        final ByteBuffer r = dp.frame(5000);
                        final int type = r.getShort(0) & 0xFFFF;
                        if (type >= DataPlane.IRQ_MSI && type <= DataPlane.PAGE_RESPONSE) continue;
                        tags.add(r.getInt(DataPlane.TAG_OFFSET));
                        if (type == DataPlane.ERROR) {
                            assertEquals(DataPlane.S_NO_DEVICE, r.getInt(DataPlane.ERR_STATUS), "only NO_DEVICE");
                            gone.incrementAndGet();
                        } else {
                            answered.incrementAndGet();
                        }
                    }
                    assertTrue(tags.contains(rt), "the read was answered: " + tags);
                    assertEquals(tt, tags.getLast(), "in order: " + tags);
                }
            } catch (Throwable t) {
                failures.add(t);
            }
        });
        try {
            final long end = System.currentTimeMillis() + 2000;
            int round = 0;
            while (System.currentTimeMillis() < end && failures.isEmpty()) {
                round++;
                if (round % 2 == 0) {
                    qmp.execute("object-del", Map.of("id", "ram0"));
                    final int fd = Posix.memfdCreate("ram", 1 << 20);
                    try {
                        qmp.execute("getfd", Map.of("fdname", "ram"), fd);
                    } finally {
                        Posix.closeQuietly(fd);
                    }
                    qmp.execute("object-add", Map.of("qom-type", "memory-backend-memfd", "id", "ram0", "size", 1 << 20, "fd", "ram"));
                } else {
                    qmp.execute("device_del", Map.of("id", "t0"));
                    qmp.execute("device_add", Map.of("driver", "test-iommu", "id", "t0", "offset", T0_OFFSET, "limit", T0_LIMIT));
                    qmp.execute("viommu-attach-device", Map.of("viommu", "t0", "id", "ep0", "source-id", T0_SOURCE));
                    for (JsonNode d : qmp.execute("query-viommus", Map.of())) {
                        if (d.path("id").asText().equals("t0")) handle.set(d.path("handle").asInt());
                    }
                }
            }
        } finally {
            stop.set(true);
            hv.join(10_000);
        }
        if (!failures.isEmpty()) {
            final AssertionError e = new AssertionError("the hypervisor failed: " + failures.peek(), failures.peek());
            failures.forEach(e::addSuppressed);
            throw e;
        }
        assertFalse(hv.isAlive());
        assertTrue(answered.get() > 100, "frames were answered: " + answered + " (NO_DEVICE: " + gone + ")");
        try (RawDataPlane dp = new RawDataPlane(fx.dataPlane)) {
            assertScratchRoundTrips(dp, new Gen(0), 0x1234_5678_9ABC_DEF0L);
        }
        log.assertQuiet();
    }

    // ---- regressions ------------------------------------------------------------------------------------------

    private static byte[] read(final int handle, final int tag, final long offset) {
        return RawDataPlane.frame(DataPlane.MMIO_READ_LENGTH, DataPlane.MMIO_READ, handle, tag, f ->
                f.put(DataPlane.MMIO_SIZE, (byte) 8).putLong(DataPlane.MMIO_OFFSET, offset));
    }

    @Test
    @Timeout(10)
    void deliversTheRepliesOwedBeforeAnOversizedLengthThenCloses() throws Exception {
        final int t0 = fx.sidecar.machine().device("t0").handle();
        try (RawDataPlane dp = new RawDataPlane(fx.dataPlane)) {
            final ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (int i = 1; i <= 20; i++) out.writeBytes(read(t0, i, 0));
            out.writeBytes(new byte[] {(byte) (DataPlane.MAX_FRAME + 1), 0, 0, 0});
            dp.write(out.toByteArray());      // one write: one read, the bad length in the same batch as the reads
            // before: the connection was closed with the replies written but not flushed, and they were lost
            for (int i = 1; i <= 20; i++) {
                final ByteBuffer r = dp.frame(5000);
                assertEquals(DataPlane.MMIO_READ_REPLY, r.getShort(0) & 0xFFFF);
                assertEquals(i, r.getInt(DataPlane.TAG_OFFSET));
                assertEquals(0x7E57, r.getLong(DataPlane.RR_VALUE));
            }
            assertTrue(dp.awaitEof(5000), "a length over 64 closes the connection");
        }
        log.assertQuiet();
    }

    @Test
    @Timeout(10)
    void aFrameForADeviceDeletedWhileItWaitedIsRefusedWithNoDevice() throws Exception {
        final var slot = fx.sidecar.machine().device("t0");
        try (RawDataPlane dp = new RawDataPlane(fx.dataPlane)) {
            slot.lock().lock();             // a device call in progress: the frame below finds the device, then waits
            try {
                dp.write(read(slot.handle(), 1, SCRATCH));
                final long deadline = System.currentTimeMillis() + 5000;
                while (!slot.lock().hasQueuedThreads()) {
                    assertTrue(System.currentTimeMillis() < deadline, "the frame reached the device");
                    Thread.sleep(1);
                }
                // device_del meanwhile (the lock is reentrant: it runs here, as it would once the call ended)
                assertTrue(fx.sidecar.machine().removeDevice("t0"));
            } finally {
                slot.lock().unlock();
            }
            // before: the frame then ran on the closed model and was answered as if the device were there
            final ByteBuffer r = dp.frame(5000);
            assertEquals(DataPlane.ERROR, r.getShort(0) & 0xFFFF);
            assertEquals(DataPlane.S_NO_DEVICE, r.getInt(DataPlane.ERR_STATUS));
            assertEquals(1, r.getInt(DataPlane.TAG_OFFSET));
        }
    }

    @Test
    @Timeout(10)
    void objectDelWaitsForDeviceCallsInFlightBeforeUnmappingRam() throws Exception {
        final var slot = fx.sidecar.machine().device("t0");
        final java.util.concurrent.CompletableFuture<JsonNode> reply = new java.util.concurrent.CompletableFuture<>();
        slot.lock().lock();                 // a device call in progress, perhaps in the middle of a page walk
        Thread del = null;
        try {
            del = Thread.ofPlatform().start(() -> {
                try {
                    reply.complete(qmp.execute("object-del", Map.of("id", "ram0")));
                } catch (Throwable t) {
                    reply.completeExceptionally(t);
                }
            });
            // before: the RAM was unmapped at once, under the running call (a SIGSEGV, not an exception, if it read)
            Thread.sleep(300);
            assertFalse(reply.isDone(), "object-del unmapped RAM a device call may still be reading");
        } finally {
            slot.lock().unlock();
        }
        reply.get(5, java.util.concurrent.TimeUnit.SECONDS);
        del.join();
        assertEquals(0, fx.sidecar.machine().memory().size());
    }

    @Test
    @Timeout(10)
    void logsOnceWhenAHypervisorLeavesWithRepliesUnread() throws Exception {
        final int t0 = fx.sidecar.machine().device("t0").handle();
        for (int k = 0; k < 3; k++) {
            try (RawDataPlane dp = new RawDataPlane(fx.dataPlane)) {
                final ByteArrayOutputStream out = new ByteArrayOutputStream();
                for (int i = 0; i < 3000; i++) out.writeBytes(read(t0, i, 0));
                dp.write(out.toByteArray());
            }   // gone, with thousands of replies coming
        }
        try (RawDataPlane dp = new RawDataPlane(fx.dataPlane)) {
            assertScratchRoundTrips(dp, new Gen(1), 77);
        }
        Thread.sleep(200);
        // before: one WARN per reply that could not be written (each write failure reached exceptionCaught)
        final long lines = log.lines().stream().filter(l -> l.contains("data-plane connection closed")).count();
        assertTrue(lines <= 3, lines + " log lines for 3 departed hypervisors");
    }

    @Test
    @Timeout(10)
    void disconnectingMidFrameLeavesOtherConnectionsWorking() throws Exception {
        final Random rnd = new Random(7);
        try (RawDataPlane steady = new RawDataPlane(fx.dataPlane)) {
            final Gen g = new Gen(8);
            for (int i = 0; i < 200; i++) {
                try (RawDataPlane dp = new RawDataPlane(fx.dataPlane)) {
                    final byte[] b = g.next().bytes();
                    dp.write(Arrays.copyOf(b, 1 + rnd.nextInt(b.length - 1)));
                }
                if (i % 20 == 0) assertScratchRoundTrips(steady, g, i);
            }
            assertScratchRoundTrips(steady, g, -1);
        }
        log.assertQuiet();
    }
}
