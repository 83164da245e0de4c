package dev.viommu.virtio.iommu;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.guest.virtio.VirtioConfigOps;
import dev.viommu.core.guest.virtio.VirtioMmioGuest;
import dev.viommu.core.guest.virtio.VirtioPciGuest;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.virtio.spec.VirtioMmioReg;
import dev.viommu.virtio.spec.VirtioPciCap;
import dev.viommu.virtio.transport.PciLayout;
import dev.viommu.virtio.transport.VirtioTransport;
import dev.viommu.virtio.transport.Virtqueue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static dev.viommu.virtio.iommu.RawVirtqueue.*;

/**
 * A guest driver for the virtio-iommu device that can be as correct or as hostile as the test wants: it boots the
 * device through vmm-core's guest-side transports ({@link VirtioMmioGuest}, {@link VirtioPciGuest}), lays request
 * chains out in its own {@link RawVirtqueue}s (direct, indirect, or direct then indirect; readable and writable
 * parts split over several buffers) and exposes every descriptor so that the test can damage it.
 * <p>
 * Guest RAM is 128 KiB at GPA 0: rings and buffers of the well-behaved driver below {@link #SCRATCH}, free RAM
 * above it for hostile pointers. Every device call that can write guest memory goes through a
 * {@link DeviceWriteOracle}.
 */
final class HostileGuest implements AutoCloseable {
    /** How the device is reached. */
    enum Transport { MMIO, PCI_INTX, PCI_MSIX }

    static final int RAM = 0x20000;
    static final long REQ_DESC = 0x1000, REQ_AVAIL = 0x1800, REQ_USED = 0x2000;
    static final long EVT_DESC = 0x3000, EVT_AVAIL = 0x3800, EVT_USED = 0x4000;
    /** One indirect table of {@link #TABLE} entries per head. */
    static final long INDIRECT = 0x5000;
    static final int TABLE = 8;
    static final long EVT_BUFS = 0x7000;
    static final int EVT_SIZE = 24;
    /** One request buffer of {@link #SLOT} bytes per head: readable part first, writable part at {@link #WRITE_OFF}. */
    static final long SLOTS = 0x8000;
    static final int SLOT = 1024, WRITE_OFF = 128;
    static final long SCRATCH = 0x18000;
    static final int MAX_QUEUE = 64;

    // feature bits (virtio 1.2 §5.13.3, §6)
    static final int F_INPUT_RANGE = 0, F_DOMAIN_RANGE = 1, F_MAP_UNMAP = 2, F_PROBE = 4, F_MMIO = 5, F_BYPASS_CONFIG = 6,
            F_INDIRECT_DESC = 28, F_EVENT_IDX = 29, F_VERSION_1 = 32;
    static final long ALL_FEATURES = 1L << F_INPUT_RANGE | 1L << F_DOMAIN_RANGE | 1L << F_MAP_UNMAP | 1L << F_PROBE
            | 1L << F_MMIO | 1L << F_BYPASS_CONFIG | 1L << F_INDIRECT_DESC | 1L << F_EVENT_IDX | 1L << F_VERSION_1;

    /** How a chain is laid out. MIXED: some direct descriptors, then one indirect descriptor for the rest (§2.7.5.3.2). */
    enum Mode { DIRECT, INDIRECT, MIXED }

    record Layout(int readPieces, int writePieces, Mode mode, boolean writeFlagOnIndirect) {}

    /** A descriptor of a chain: where it sits in guest memory and what it is. */
    record Entry(long at, Role role) {}

    enum Role { READ, WRITE, INDIRECT }

    /** A request laid out in the request queue. {@code writable} lists the {addr, len} pieces of the writable part. */
    record Chain(int head, long buf, int writeLen, List<Entry> entries, List<long[]> writable, GuestRequest request) {}

    final DirectMachine machine;
    final VirtioIommuDevice device;
    final GuestMemory mem;
    final Transport transport;
    final VirtioConfigOps ops;
    final DeviceWriteOracle oracle;
    final RawVirtqueue req, evt;
    final int queueSize;
    private final VirtioPciGuest pci;
    long features;
    long pageSizeMask, inputEnd;
    int domainFirst, domainLast, probeSize;
    private int nextDesc, freeDescs;

    HostileGuest(final Transport transport, final Map<String, ?> props) {
        this.transport = transport;
        machine = new DirectMachine(transport == Transport.MMIO ? "virtio-iommu-device" : "virtio-iommu-pci", props, RAM);
        device = (VirtioIommuDevice) machine.device();
        mem = machine.memory();
        if (transport == Transport.MMIO) {
            final VirtioMmioGuest m = new VirtioMmioGuest(machine, 0);
            m.probe();
            ops = m;
            pci = null;
        } else {
            final Map<Integer, Integer> bars = new HashMap<>();
            for (PciLayout.Bar b : device.pciLayout().bars()) bars.put(b.bar(), b.region());
            pci = new VirtioPciGuest(machine, bars, transport == Transport.PCI_MSIX);
            pci.enumerate();
            pci.probe();
            ops = pci;
        }
        oracle = new DeviceWriteOracle(mem, device.transport(), RAM);
        queueSize = ops.queueMax(0);
        if (queueSize > MAX_QUEUE) throw new IllegalArgumentException("queue-size above " + MAX_QUEUE);
        req = new RawVirtqueue(mem, 0, queueSize, REQ_DESC, REQ_AVAIL, REQ_USED);
        evt = new RawVirtqueue(mem, 1, queueSize, EVT_DESC, EVT_AVAIL, EVT_USED);
    }

    boolean has(final int feature) { return (features & (1L << feature)) != 0; }

    VirtioTransport deviceTransport() { return device.transport(); }

    VirtioPciGuest pci() { return pci; }

    /** A device call that may write guest memory (a register write, a doorbell, a translation that faults). */
    void call(final String what, final Runnable r) { oracle.run(what, r); }

    // ------------------------------------------------------------------ set-up

    /**
     * The initialisation of §3.1.1 as Linux's virtio_dev_probe does it: reset, ACKNOWLEDGE, DRIVER, the features
     * (those of {@code wanted} the device offers), FEATURES_OK read back, both queues, DRIVER_OK; then one event
     * buffer per eventq descriptor (viommu_fill_evtq).
     */
    void setup(final long wanted) {
        call("reset", ops::reset);
        call("ACKNOWLEDGE|DRIVER", () -> {
            ops.setStatus(1);
            ops.setStatus(1 | 2);
        });
        features = ops.getFeatures() & wanted;
        call("FEATURES_OK", () -> {
            ops.finalizeFeatures(features);
            ops.setStatus(1 | 2 | 8);
        });
        if ((ops.getStatus() & 8) == 0) throw new AssertionError("FEATURES_OK refused for 0x" + Long.toHexString(features));
        if (pci != null && transport == Transport.PCI_MSIX) {
            call("MSI-X", () -> {
                pci.enableMsix(3);
                if (!pci.setConfigVector(0)) throw new AssertionError("config vector refused");
            });
        }
        req.init(has(F_EVENT_IDX));
        evt.init(has(F_EVENT_IDX));
        call("queues", () -> {
            if (!ops.setupQueue(0, queueSize, req.desc, req.avail, req.used)) throw new AssertionError("requestq refused");
            if (!ops.setupQueue(1, queueSize, evt.desc, evt.avail, evt.used)) throw new AssertionError("eventq refused");
        });
        pageSizeMask = cread64(0);
        inputEnd = cread64(16);
        domainFirst = (int) ops.readConfig(24, 4);
        domainLast = (int) ops.readConfig(28, 4);
        probeSize = (int) ops.readConfig(32, 4);
        call("DRIVER_OK", () -> ops.setStatus(1 | 2 | 8 | 4));
        nextDesc = 0;
        for (int i = 0; i < queueSize; i++) postEventBuffer(i);
        kick(evt);
    }

    /** A 64-bit config field as virtio_cread_le reads it: two 32-bit reads. */
    long cread64(final int off) { return (ops.readConfig(off, 4) & 0xFFFF_FFFFL) | (ops.readConfig(off + 4, 4) << 32); }

    /** The config 'bypass' byte (§5.13.4). */
    int bypassByte() { return (int) ops.readConfig(36, 1); }

    /**
     * Whether the device is still the one {@link #setup} left: DRIVER_OK and FEATURES_OK without DEVICE_NEEDS_RESET,
     * the same features, both queues enabled on this driver's rings. Only then must it answer this driver.
     */
    boolean running() {
        final VirtioTransport t = device.transport();
        final int s = t.status();
        if ((s & 0x0F) != 0x0F || (s & 0x40) != 0 || t.negotiatedFeatures() != features) return false;
        for (RawVirtqueue r : List.of(req, evt)) {
            final Virtqueue q = t.queue(r.index);
            if (!q.ready() || q.size() != queueSize || q.descAddr() != r.desc || q.availAddr() != r.avail || q.usedAddr() != r.used) {
                return false;
            }
        }
        return true;
    }

    boolean needsReset() { return (device.transport().status() & 0x40) != 0; }

    /** Whether the device consumed everything in the request queue's available ring. */
    boolean requestsDrained() { return device.transport().queue(0).lastAvail() == r16(req.avail + 2); }

    // ------------------------------------------------------------------ notifications

    /** virtqueue_kick: notify if the device asked for it. */
    void kick(final RawVirtqueue q) {
        if (q.needsKick()) notify(q.index);
    }

    /** The transport's notification for queue {@code q}, whatever the device asked for. */
    void notify(final int q) { call("notify " + q, () -> ops.notify(q)); }

    /** A doorbell from the data plane (the hypervisor's ioeventfd path). */
    void doorbell(final int q) { call("doorbell " + q, () -> machine.doorbell(q)); }

    // ------------------------------------------------------------------ request chains

    /** A new batch: every descriptor is free again (the previous batch was consumed). */
    void beginBatch() { freeDescs = queueSize; }

    /** Descriptors {@code layout} needs. */
    static int descriptorsFor(final Layout l) {
        return switch (l.mode()) {
            case DIRECT -> l.readPieces() + l.writePieces();
            case INDIRECT -> 1;
            case MIXED -> 2;
        };
    }

    /**
     * Lays {@code readable} and a writable part of {@code writeLen} bytes (filled with 0xFF, so the device's writes
     * show) out as one chain, or returns null when the batch has no descriptors left. Pieces sit apart in the
     * head's buffer slot, 8 bytes between them.
     */
    Chain build(final GuestRequest request, final byte[] readable, final int writeLen, final Layout l, final Random r) {
        final int needed = descriptorsFor(l);
        if (needed > freeDescs) return null;
        final int[] idx = new int[needed];
        for (int j = 0; j < needed; j++) idx[j] = (nextDesc + j) % queueSize;
        nextDesc = (nextDesc + needed) % queueSize;
        freeDescs -= needed;
        final int head = idx[0];
        final long buf = SLOTS + (long) SLOT * head;
        final List<long[]> pieces = new ArrayList<>();
        final List<Role> roles = new ArrayList<>();
        long at = buf;
        for (int len : split(readable.length, l.readPieces(), r)) {
            pieces.add(new long[] {at, len});
            roles.add(Role.READ);
            at += len + 8;
        }
        final List<long[]> writable = new ArrayList<>();
        at = buf + WRITE_OFF;
        for (int len : split(writeLen, l.writePieces(), r)) {
            final long[] p = {at, len};
            pieces.add(p);
            writable.add(p);
            roles.add(Role.WRITE);
            at += len + 8;
        }
        try {
            mem.fill(buf, SLOT, (byte) 0xFF);
            int off = 0;
            for (int j = 0; j < roles.size() && roles.get(j) == Role.READ; j++) {
                mem.write(pieces.get(j)[0], readable, off, (int) pieces.get(j)[1]);
                off += (int) pieces.get(j)[1];
            }
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
        final List<Entry> entries = new ArrayList<>();
        final int n = pieces.size();
        final int direct = switch (l.mode()) {
            case DIRECT -> n;
            case INDIRECT -> 0;
            case MIXED -> 1;
        };
        for (int j = 0; j < direct; j++) {
            final boolean last = j + 1 == n && direct == n;
            final long e = req.descEntry(idx[j]);
            writeDesc(mem, e, pieces.get(j)[0], (int) pieces.get(j)[1], flags(roles.get(j)) | (last ? 0 : F_NEXT), last ? 0 : idx[j + 1]);
            entries.add(new Entry(e, roles.get(j)));
        }
        if (direct < n) {
            final long e = req.descEntry(idx[direct]);
            final long table = INDIRECT + (long) head * TABLE * DESC_SIZE;
            writeDesc(mem, e, table, DESC_SIZE * (n - direct), F_INDIRECT | (l.writeFlagOnIndirect() ? F_WRITE : 0), 0);
            entries.add(new Entry(e, Role.INDIRECT));
            for (int j = direct; j < n; j++) {
                final int k = j - direct;
                final long te = table + (long) DESC_SIZE * k;
                writeDesc(mem, te, pieces.get(j)[0], (int) pieces.get(j)[1], flags(roles.get(j)) | (j + 1 < n ? F_NEXT : 0), j + 1 < n ? k + 1 : 0);
                entries.add(new Entry(te, roles.get(j)));
            }
        }
        return new Chain(head, buf, writeLen, entries, writable, request);
    }

    private static int flags(final Role role) { return role == Role.WRITE ? F_WRITE : 0; }

    /** {@code total} bytes in {@code pieces} non-empty pieces (fewer if there are not enough bytes). */
    private static int[] split(final int total, final int pieces, final Random r) {
        final int n = Math.max(1, Math.min(pieces, total));
        final int[] out = new int[n];
        int left = total;
        for (int i = 0; i < n - 1; i++) {
            out[i] = 1 + r.nextInt(left - (n - 1 - i));
            left -= out[i];
        }
        out[n - 1] = left;
        return out;
    }

    void publish(final Chain c) { req.publish(c.head()); }

    /** The guest address of byte {@code off} of a chain's writable part. */
    static long writableAt(final Chain c, final int off) {
        int o = off;
        for (long[] p : c.writable()) {
            if (o < p[1]) return p[0] + o;
            o -= (int) p[1];
        }
        throw new IllegalArgumentException("offset " + off + " outside the writable part");
    }

    /** The tail (§5.13.6: status u8, reserved[3]) as it stands in the chain's writable part. */
    int[] tail(final Chain c) {
        final int[] t = new int[4];
        for (int i = 0; i < 4; i++) t[i] = r8(writableAt(c, c.writeLen() - 4 + i));
        return t;
    }

    /** PROBE's properties as the device left them. */
    byte[] properties(final Chain c) {
        final byte[] p = new byte[c.writeLen() - 4];
        for (int i = 0; i < p.length; i++) p[i] = (byte) r8(writableAt(c, i));
        return p;
    }

    // ------------------------------------------------------------------ event queue

    /** Posts the 24-byte event buffer of descriptor {@code i} (viommu_fill_evtq), without a kick. */
    void postEventBuffer(final int i) {
        final long b = EVT_BUFS + (long) EVT_SIZE * i;
        fill(b, EVT_SIZE, 0xEE);
        writeDesc(mem, evt.descEntry(i), b, EVT_SIZE, F_WRITE, 0);
        evt.publish(i);
    }

    /** A fault record from the eventq (§5.13.6.9), raw. */
    record Event(int id, int len, byte[] record) {}

    /**
     * viommu_event_handler: takes the used event buffers, posts each again, kicks. {@code strict}: the eventq holds
     * only this driver's buffers, so every used id must be one of them; otherwise (the guest damaged its event
     * buffers, and the device may have written a record over the ring itself) ids that are not are skipped.
     */
    List<Event> drainEvents(final boolean strict) {
        final List<Event> out = new ArrayList<>();
        for (RawVirtqueue.Used u : evt.reap()) {
            if (u.id() < 0 || u.id() >= queueSize) {
                if (strict) throw new AssertionError("eventq used id " + u.id() + " is not a descriptor");
                continue;
            }
            out.add(new Event(u.id(), u.len(), image(EVT_BUFS + (long) EVT_SIZE * u.id(), EVT_SIZE)));
            postEventBuffer(u.id());
        }
        if (!out.isEmpty()) kick(evt);
        return out;
    }

    // ------------------------------------------------------------------ the rest of the machine

    GuestMachine.Translated translate(final int sid, final int pasid, final long iova, final int access) {
        final GuestMachine.Translated[] t = new GuestMachine.Translated[1];
        call("translate", () -> t[0] = machine.translate(sid, pasid, iova, access));
        return t[0];
    }

    // ------------------------------------------------------------------ transport registers, written by hand

    /** Writes the device status register (§2.1) as is. */
    void status(final int s) {
        if (transport == Transport.MMIO) call("status", () -> machine.mmioWrite(0, VirtioMmioReg.STATUS, 4, s));
        else call("status", () -> machine.mmioWrite(0, VirtioPciCap.DEVICE_STATUS, 1, s & 0xFF));
    }

    /** Selects driver-feature word {@code sel} and writes it (§4.2.2 DriverFeaturesSel / §4.1.4.3 driver_feature_select). */
    void driverFeatures(final int sel, final int v) {
        if (transport == Transport.MMIO) {
            call("features", () -> {
                machine.mmioWrite(0, VirtioMmioReg.DRIVER_FEATURES_SEL, 4, Integer.toUnsignedLong(sel));
                machine.mmioWrite(0, VirtioMmioReg.DRIVER_FEATURES, 4, Integer.toUnsignedLong(v));
            });
        } else {
            call("features", () -> {
                machine.mmioWrite(0, VirtioPciCap.GFSELECT, 4, Integer.toUnsignedLong(sel));
                machine.mmioWrite(0, VirtioPciCap.GF, 4, Integer.toUnsignedLong(v));
            });
        }
    }

    void queueSelect(final int q) { queueRegister(VirtioMmioReg.QUEUE_SEL, VirtioPciCap.Q_SELECT, 2, q); }

    /** Writes a queue register: at {@code mmio} on virtio-mmio (32 bits), at common-config {@code pci} on virtio-pci. */
    void queueRegister(final int mmio, final int pci, final int pciSize, final int v) {
        if (transport == Transport.MMIO) call("queue register", () -> machine.mmioWrite(0, mmio, 4, Integer.toUnsignedLong(v)));
        else call("queue register", () -> machine.mmioWrite(0, pci, pciSize, Integer.toUnsignedLong(v) & (pciSize == 2 ? 0xFFFF : 0xFFFF_FFFFL)));
    }

    // ------------------------------------------------------------------ guest memory (the test's own accesses: always in RAM)

    int r8(final long a) {
        try {
            return mem.read8(a);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    byte[] image(final long a, final int n) {
        final byte[] b = new byte[n];
        try {
            mem.read(a, b, 0, n);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
        return b;
    }

    void write(final long a, final byte[] b) {
        try {
            mem.write(a, b, 0, b.length);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    void fill(final long a, final long n, final int v) {
        try {
            mem.fill(a, n, (byte) v);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    int r16(final long a) {
        try {
            return mem.read16(a);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    int r32(final long a) {
        try {
            return mem.read32(a);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    long r64(final long a) {
        try {
            return mem.read64(a);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    void w8(final long a, final int v) {
        try {
            mem.write8(a, v);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    void w16(final long a, final int v) {
        try {
            mem.write16(a, v);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    void w32(final long a, final int v) {
        try {
            mem.write32(a, v);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    void w64(final long a, final long v) {
        try {
            mem.write64(a, v);
        } catch (GuestMemoryException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() { machine.close(); }
}
