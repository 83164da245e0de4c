package dev.viommu.virtio.iommu;

import dev.viommu.virtio.iommu.HostileGuest.Chain;
import dev.viommu.virtio.iommu.HostileGuest.Entry;
import dev.viommu.virtio.iommu.HostileGuest.Role;

import java.util.List;
import java.util.Random;

import static dev.viommu.virtio.iommu.HostileGuest.*;
import static dev.viommu.virtio.iommu.RawVirtqueue.*;

/**
 * How a hostile guest damages a request chain it has laid out, and the available ring it publishes it in
 * (virtio 1.2 §2.7.4-§2.7.6 are what it breaks): bit flips in descriptor address, length, flags and next; loops;
 * chains longer than the queue; buffers outside RAM, straddling its end or the top of the address space, or inside
 * the rings; zero-length and wrongly directed buffers; damaged, nested, empty or unnegotiated indirect tables;
 * damaged types, fields and lengths of the request; stray, duplicated or skipped available-ring entries. Each
 * method does one damage and says what it did.
 */
final class ChainDamage {
    private final HostileGuest g;
    private final Random r;

    ChainDamage(final HostileGuest g, final Random r) {
        this.g = g;
        this.r = r;
    }

    /** One damage to the chain's descriptors or buffers before it is published. Returns what it did. */
    String chain(final Chain c, final byte[] rd) {
        final List<Entry> es = c.entries();
        final Entry e = es.get(r.nextInt(es.size()));
        final List<Entry> reads = es.stream().filter(x -> x.role() == Role.READ).toList();
        final List<Entry> writes = es.stream().filter(x -> x.role() == Role.WRITE).toList();
        switch (r.nextInt(15)) {
            case 0 -> {
                final int field = r.nextInt(4);
                final int bit = r.nextInt(new int[] {64, 32, 16, 16}[field]);
                final long at = e.at() + new int[] {DESC_ADDR, DESC_LEN, DESC_FLAGS, DESC_NEXT}[field];
                switch (field) {
                    case 0 -> g.w64(at, g.r64(at) ^ (1L << bit));
                    case 1 -> g.w32(at, g.r32(at) ^ (1 << bit));
                    default -> g.w16(at, g.r16(at) ^ (1 << bit));
                }
                return "flip bit " + bit + " of " + new String[] {"addr", "len", "flags", "next"}[field] + " @0x" + Long.toHexString(e.at());
            }
            case 1 -> {
                final int f = new int[] {F_NEXT, F_WRITE, F_INDIRECT}[r.nextInt(3)];
                g.w16(e.at() + DESC_FLAGS, g.r16(e.at() + DESC_FLAGS) ^ f);
                return "toggle flag " + f + " @0x" + Long.toHexString(e.at());
            }
            case 2 -> {
                final int next = switch (r.nextInt(5)) {
                    case 0 -> indexOf(e.at());
                    case 1 -> g.queueSize;
                    case 2 -> 0xFFFF;
                    case 3 -> r.nextInt(g.queueSize);
                    default -> r.nextInt(0x10000);
                };
                g.w16(e.at() + DESC_NEXT, next);
                g.w16(e.at() + DESC_FLAGS, g.r16(e.at() + DESC_FLAGS) | F_NEXT);
                return "next " + next + " @0x" + Long.toHexString(e.at());
            }
            case 3 -> {
                final long a = hostileAddress();
                g.w64(e.at() + DESC_ADDR, a);
                return "addr 0x" + Long.toHexString(a) + " @0x" + Long.toHexString(e.at());
            }
            case 4 -> {
                final int len = switch (r.nextInt(7)) {
                    case 0 -> 0; case 1 -> 1; case 2 -> 3; case 3 -> -1; case 4 -> 0x8000_0000; case 5 -> 0x7FFF_FFFF;
                    default -> g.r32(e.at() + DESC_LEN) + (r.nextBoolean() ? 1 : -1);
                };
                g.w32(e.at() + DESC_LEN, len);
                return "len 0x" + Integer.toHexString(len) + " @0x" + Long.toHexString(e.at());
            }
            case 5 -> {
                final Entry x = r.nextBoolean() ? reads.getFirst() : writes.getLast();
                g.w16(x.at() + DESC_FLAGS, g.r16(x.at() + DESC_FLAGS) ^ F_WRITE);
                return "wrong direction @0x" + Long.toHexString(x.at());
            }
            case 6 -> {
                final Entry last = es.getLast();
                final int to = r.nextBoolean() ? indexOf(last.at()) : indexOf(es.get(es.size() > 1 && r.nextBoolean() ? 1 : 0).at());
                g.w16(last.at() + DESC_FLAGS, g.r16(last.at() + DESC_FLAGS) | F_NEXT);
                g.w16(last.at() + DESC_NEXT, to);
                return "loop to " + to;
            }
            case 7 -> { return longIndirectChain(c, rd); }
            case 8 -> {
                final Entry ind = es.stream().filter(x -> x.role() == Role.INDIRECT).findFirst().orElse(e);
                switch (r.nextInt(4)) {
                    case 0 -> g.w32(ind.at() + DESC_LEN, r.nextBoolean() ? 0 : 8 + 16 * r.nextInt(3));
                    case 1 -> g.w16(ind.at() + DESC_FLAGS, F_INDIRECT | F_NEXT);
                    case 2 -> g.w16(writes.getLast().at() + DESC_FLAGS, F_INDIRECT);      // nested, or without the feature
                    default -> g.w32(ind.at() + DESC_LEN, 16 * (0x8000 + 1));
                }
                return "indirect table damaged @0x" + Long.toHexString(ind.at());
            }
            case 9 -> {
                // the type byte, the length of the readable part, or any bit of the request's fields
                final int k = r.nextInt(4);
                if (k == 1) {
                    g.w32(reads.getFirst().at() + DESC_LEN, r.nextInt(Math.max(1, g.r32(reads.getFirst().at() + DESC_LEN))));
                    return "readable part truncated";
                }
                final long a = readableAt(c, k == 0 ? 0 : r.nextInt(rd.length));
                if (a < SLOTS || a >= RAM) return "no readable byte in a buffer to damage";   // not the rings
                g.w8(a, k == 0 && r.nextBoolean() ? r.nextInt(256) : g.r8(a) ^ (1 << r.nextInt(8)));
                return k == 0 ? "type damaged" : "request field damaged";
            }
            case 10 -> {
                // §2.7.4: a chain may carry up to 2^32 bytes; one byte more is a device error
                long rest = 0;
                for (Entry x : es) if (x != writes.getFirst() && x.role() != Role.INDIRECT) rest += Integer.toUnsignedLong(g.r32(x.at() + DESC_LEN));
                final long extra = r.nextBoolean() ? 0 : 1;
                g.w32(writes.getFirst().at() + DESC_LEN, (int) ((1L << 32) - rest + extra));
                return "a chain of 2^32" + (extra == 0 ? "" : "+1") + " bytes";
            }
            case 11 -> {
                final Entry last = writes.getLast();
                if (r.nextInt(4) == 0) {
                    // the last writable buffer straddles 2^64: its tail would be at GPA 0 on if offsets wrapped
                    final int below = 4 * (1 + r.nextInt(8));
                    g.w64(last.at() + DESC_ADDR, -below);
                    g.w32(last.at() + DESC_LEN, g.r32(last.at() + DESC_LEN) + below);
                    return "last writable buffer at 2^64-" + below;
                }
                final long a = switch (r.nextInt(3)) { case 0 -> RAM - 2; case 1 -> RAM; default -> 1L << 40; };
                g.w64(last.at() + DESC_ADDR, a);
                return "tail outside RAM at 0x" + Long.toHexString(a);
            }
            case 12 -> {
                final long a = r.nextBoolean() ? hostileAddress() : new long[] {REQ_DESC, REQ_AVAIL, REQ_USED, EVT_DESC, EVT_USED}[r.nextInt(5)];
                g.w64(reads.getFirst().at() + DESC_ADDR, a);
                return "readable at 0x" + Long.toHexString(a);
            }
            case 13 -> {
                g.w32(e.at() + DESC_LEN, 0);
                return "zero-length @0x" + Long.toHexString(e.at());
            }
            default -> {
                // a readable descriptor that lies in the ring itself: its bytes are the descriptor table
                g.w64(reads.getFirst().at() + DESC_ADDR, c.entries().getFirst().at());
                return "readable part is its own descriptor";
            }
        }
    }

    /** The guest address of byte {@code off} of the readable part as laid out (8-byte gaps between pieces). */
    private long readableAt(final Chain c, final int off) {
        int o = off;
        for (Entry e : c.entries()) {
            if (e.role() != Role.READ) continue;
            final int len = g.r32(e.at() + DESC_LEN);
            if (o < len) return g.r64(e.at() + DESC_ADDR) + o;
            o -= len;
        }
        return c.buf();
    }

    /** The descriptor index of a descriptor entry, in the ring or in its indirect table. */
    private int indexOf(final long entry) {
        if (entry >= INDIRECT && entry < INDIRECT + (long) g.queueSize * TABLE * DESC_SIZE) {
            return (int) (((entry - INDIRECT) % ((long) TABLE * DESC_SIZE)) / DESC_SIZE);
        }
        return (int) ((entry - REQ_DESC) / DESC_SIZE);
    }

    /** An address a hostile guest likes: outside RAM, straddling its end, at the top of the space, in the rings. */
    long hostileAddress() {
        return switch (r.nextInt(10)) {
            case 0 -> RAM;
            case 1 -> RAM - 2;
            case 2 -> 1L << 40;
            case 3 -> -1L;
            case 4 -> -16L;
            case 5 -> 1L << 63;
            case 6 -> new long[] {REQ_DESC, REQ_AVAIL, REQ_USED, EVT_DESC, EVT_AVAIL, EVT_USED, INDIRECT}[r.nextInt(7)];
            default -> SCRATCH + r.nextInt(RAM - (int) SCRATCH - 64);
        };
    }

    /**
     * The head becomes one indirect table in scratch RAM: the request, then empty readable descriptors, then the
     * chain's own writable pieces; {@code Q-1}, {@code Q}, {@code Q+1} or {@code 2Q} entries with the head, where a
     * chain may have at most Q descriptors (§2.7.5.3.1: the indirect descriptor counts).
     */
    private String longIndirectChain(final Chain c, final byte[] rd) {
        final int q = g.queueSize;
        final int total = new int[] {q - 1, q, q + 1, 2 * q}[r.nextInt(4)];
        final int entries = total - 1;
        final long table = SCRATCH, data = SCRATCH + 0x1000;
        g.write(data, rd);
        final List<long[]> w = c.writable();
        final int fill = entries - 1 - w.size();
        if (fill < 0) return "no room for a long chain";
        writeDesc(g.mem, table, data, rd.length, F_NEXT, 1);
        int i;
        for (i = 1; i <= fill; i++) writeDesc(g.mem, table + 16L * i, data, 0, F_NEXT, i + 1);
        for (long[] p : w) {
            final boolean last = i == entries - 1;
            writeDesc(g.mem, table + 16L * i, p[0], (int) p[1], F_WRITE | (last ? 0 : F_NEXT), last ? 0 : i + 1);
            i++;
        }
        writeDesc(g.mem, g.req.descEntry(c.head()), table, DESC_SIZE * entries, F_INDIRECT, 0);
        return "a chain of " + total + " descriptors (queue size " + q + ")";
    }

    /** One damage to the available ring after publishing: a stray slot, a jumping or retreating index, a duplicate. */
    String ring(final Chain c) {
        final long slot = REQ_AVAIL + 4 + 2L * ((g.req.availIdx() - 1) & (g.queueSize - 1));
        switch (r.nextInt(5)) {
            case 0 -> {
                final int head = switch (r.nextInt(3)) { case 0 -> g.queueSize; case 1 -> 0xFFFF; default -> r.nextInt(g.queueSize); };
                g.w16(slot, head);
                return "avail slot → head " + head;
            }
            case 1 -> {
                final int k = new int[] {1, 2, g.queueSize / 2, g.queueSize - 1, g.queueSize, 0x8000}[r.nextInt(6)];
                g.req.setAvailIdx(g.req.availIdx() + k);
                return "avail idx +" + k;
            }
            case 2 -> {
                g.req.setAvailIdx(g.req.availIdx() - 2);
                return "avail idx -2";
            }
            case 3 -> {
                g.req.publish(c.head());
                return "published twice";
            }
            default -> {
                g.w16(REQ_AVAIL, r.nextInt(0x10000));
                g.w16(REQ_AVAIL + 4 + 2L * g.queueSize, r.nextInt(0x10000));
                return "avail flags / used_event";
            }
        }
    }
}
