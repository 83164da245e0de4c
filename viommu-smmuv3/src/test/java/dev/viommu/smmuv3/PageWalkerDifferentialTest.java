package dev.viommu.smmuv3;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.smmuv3.spec.EventId;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The optimised {@link PageWalker} against the walker it replaced ({@link ReferencePageWalker}, verbatim): random
 * configurations (granule, input size, OAS/IPS, HA/HD/AFFD, HAD, WXN, EL2, nesting) and random descriptors on the
 * walk's path (tables with random APTable/PXNTable/UXNTable and addresses in RAM, outside RAM or above the output
 * size; pages, blocks and invalid entries with random AP, AF, DBM, PXN, UXN, nG and output addresses), for every
 * access kind. Both must return the same output, the same fault record, the same leaf results and leave the same
 * descriptors in guest memory (hardware AF/dirty updates).
 */
class PageWalkerDifferentialTest {
    private static final long RAM = 4L << 20;
    private static final long[] OAS = {32, 36, 40, 42, 44, 48, 52};
    private static final int[] GRANULES = {12, 14, 16};

    private final GuestMemory memA = GuestMemory.anonymous(0, RAM), memB = GuestMemory.anonymous(0, RAM);
    private SplittableRandom rnd;
    private long brk;

    @Test
    void shouldMatchTheReferenceWalkerOnRandomTables() throws GuestMemoryException {
        rnd = new SplittableRandom(0x5EED_0005L);
        for (int trial = 0; trial < 30_000; trial++) trial(trial);
        // The random tables reach every outcome often enough to mean something.
        for (int id : new int[]{EventId.F_TRANSLATION, EventId.F_ADDR_SIZE, EventId.F_ACCESS, EventId.F_PERMISSION,
                EventId.F_WALK_EABT}) {
            assertTrue(outcomes[id] >= 200, EventId.name(id) + ": " + outcomes[id]);
        }
        assertTrue(outcomes[0] >= 3000, "successful walks: " + outcomes[0]);
        assertTrue(updates >= 300, "hardware AF/dirty updates: " + updates);
        assertTrue(nestedOk >= 500, "successful nested walks: " + nestedOk);
        assertTrue(stage2Ok >= 500, "successful stage-2 walks: " + stage2Ok);
        assertTrue(atomicReadDenied >= 20, "atomics refused for reading only (RnW = 1): " + atomicReadDenied);
    }

    private final int[] outcomes = new int[256];
    private long updates;
    private int nestedOk, stage2Ok, atomicReadDenied;

    private void trial(final int trial) throws GuestMemoryException {
        final long oas = OAS[rnd.nextInt(OAS.length)];
        final String httu = new String[]{"none", "af", "af-dirty"}[rnd.nextInt(3)];
        final SmmuV3Config cfg = config(Map.of("oas", oas, "httu", httu));
        zero();
        brk = 0x1_0000;
        final int g = GRANULES[rnd.nextInt(GRANULES.length)];
        final int access = rnd.nextInt(16);   // R/W/X/PRIV in any combination
        final boolean ha = !httu.equals("none") && rnd.nextBoolean(), hd = ha && httu.equals("af-dirty") && rnd.nextBoolean();
        final boolean affd = rnd.nextInt(4) == 0;
        final int kind = rnd.nextInt(4);   // 0, 1: stage 1; 2: stage 2; 3: nested stage 1
        final String what = "trial " + trial + " kind " + kind + " g " + g + " oas " + oas + " access " + access;
        final FaultRecord fa = new FaultRecord(), fb = new FaultRecord();
        final ReferencePageWalker ref = new ReferencePageWalker(cfg).memory(memA);
        final PageWalker opt = new PageWalker(cfg).memory(memB);
        final long a, b;
        if (kind == 2) {
            final int ia = 25 + rnd.nextInt(24);
            final StreamConfig.S2 s2 = s2Config(g, ia, (int) oas, affd, ha, hd);
            final long ipa = rnd.nextInt(8) == 0 ? rnd.nextLong() : rnd.nextLong() & ((1L << ia) - 1) & ~7L;
            tables(s2.ttb(), ipa, g, s2.startLevel(), ia, (int) oas, true);
            a = ref.stage2(s2, ipa, access, 0, fa);
            b = opt.stage2(s2, ipa, access, 0, fb);
        } else {
            final int ia = 25 + rnd.nextInt(24);
            final int ips = (int) Math.min(oas, new int[]{32, 36, 40, 42, 44, 48, 52}[rnd.nextInt(7)]);
            final int stride = g - 3;
            final int start = 4 - (ia - g + stride - 1) / stride;
            final int bits = ia - (g + (3 - start) * stride);
            final long ttb = alloc(Math.max(64L, 8L << bits));
            final CdConfig.Tt tt = new CdConfig.Tt(ia, g, start, ttb, rnd.nextBoolean());
            final CdConfig cd = new CdConfig(1, tt, tt, ips, affd, ha, hd, rnd.nextBoolean(), rnd.nextBoolean(),
                    rnd.nextBoolean(), false, true, false);
            final boolean el2 = rnd.nextInt(3) == 0;
            final long va = rnd.nextInt(8) == 0 ? rnd.nextLong() : rnd.nextLong() & ((1L << ia) - 1);
            StreamConfig.S2 nest = null;
            if (kind == 3) {
                // An identity stage 2 of 1 GiB blocks (4K granule, 39-bit IPA, start level 1), sometimes faulting:
                // without AF, read (S2AP[0]) or write (S2AP[1], which stage-1 AF/dirty updates need), or
                // writable-clean (DBM, dirtied by a stage-1 update with S2HD).
                nest = new StreamConfig.S2(1, 39, 12, 1, (int) oas, alloc(4096), rnd.nextInt(8) == 0, ha, hd, false, true);
                long block = 1 | 1L << 10 | 3L << 6;
                if (rnd.nextInt(10) == 0) block &= ~(1L << 10);
                if (rnd.nextInt(10) == 0) block &= ~(1L << 6);
                if (rnd.nextInt(4) == 0) block &= ~(1L << 7);
                if (rnd.nextInt(4) == 0) block |= 1L << 51;
                write(nest.ttb(), block);
            }
            tables(ttb, va & ((1L << ia) - 1), g, start, ia, ips, false);
            a = ref.stage1(cd, el2, nest, va, access, fa);
            b = opt.stage1(cd, el2, nest, va, access, fb);
        }
        assertEquals(a, b, what + ": output");
        assertEquals(fa.eventId, fb.eventId, what + ": event");
        assertEquals(fa.s2, fb.s2, what + ": S2");
        assertEquals(fa.clazz, fb.clazz, what + ": CLASS");
        assertEquals(fa.ipa, fb.ipa, what + ": IPA");
        assertEquals(fa.fetchAddr, fb.fetchAddr, what + ": fetch address");
        assertEquals(fa.ttrnw, fb.ttrnw, what + ": TTRnW");
        assertEquals(fa.atomicReadDenied, fb.atomicReadDenied, what + ": atomic refused for reading (RnW)");
        if (a >= 0) {
            assertEquals(ref.leafSize, opt.leafSize, what + ": leaf size");
            assertEquals(ref.leafBase, opt.leafBase, what + ": leaf base");
            assertEquals(ref.permsPriv, opt.permsPriv, what + ": privileged permissions");
            assertEquals(ref.permsUnpriv, opt.permsUnpriv, what + ": unprivileged permissions");
            assertEquals(ref.global, opt.global, what + ": global");
        }
        assertEquals(ref.httuUpdates, opt.httuUpdates, what + ": HTTU updates");
        outcomes[a >= 0 ? 0 : fa.eventId]++;
        updates += opt.httuUpdates;
        if (a >= 0 && kind == 3) nestedOk++;
        if (a >= 0 && kind == 2) stage2Ok++;
        if (fb.atomicReadDenied) atomicReadDenied++;
        for (long p = 0; p < brk; p += 8) {
            if (memA.read64(p) != memB.read64(p)) assertEquals(memA.read64(p), memB.read64(p), what + ": memory at " + p);
        }
    }

    private StreamConfig.S2 s2Config(final int g, final int ia, final int oas, final boolean affd, final boolean ha,
                                     final boolean hd) {
        final int stride = g - 3;
        int start = 4 - (ia - g + stride - 1) / stride;
        if (start < 0) start = 0;
        final int bits = ia - (g + (3 - start) * stride);
        final long ttb = alloc(Math.max(64L, 8L << bits));
        return new StreamConfig.S2(1, ia, g, start, oas, ttb, affd, ha, hd, false, true);
    }

    /** Random descriptors on the path of {@code ia} from {@code ttb}. */
    private void tables(final long ttb, final long ia, final int g, final int start, final int inputBits,
                        final int oaBits, final boolean s2) throws GuestMemoryException {
        final int stride = g - 3;
        long table = ttb;
        int lsb = g + (3 - start) * stride, bits = inputBits - lsb;
        for (int level = start; level <= 3; level++) {
            final long slot = table + ((ia >>> lsb) & ((1L << bits) - 1)) * 8;
            final int r = rnd.nextInt(100);
            long d;
            if (level < 3 && r < 70) {
                long next = alloc(1L << g);
                if (rnd.nextInt(25) == 0) next |= 1L << (32 + rnd.nextInt(16));    // above OAS or outside RAM
                d = next | 3 | attrs(0xF800_0000_0000_0000L | 0x07F0_0000_0000_0000L | 0xFFCL);
                if (g == 16 && rnd.nextInt(10) == 0) d |= (long) rnd.nextInt(16) << 12;   // OA[51:48]
                write(slot, d);
                if (next >= RAM) return;   // the walk stops there (address size or external abort)
                table = next;
                lsb -= stride;
                bits = stride;
                continue;
            }
            long oa = rnd.nextInt(4) == 0 ? rnd.nextLong() & 0x0000_FFFF_FFFF_F000L : rnd.nextLong(RAM) & ~0xFFFL;
            if (rnd.nextInt(20) == 0) oa = (1L << Math.min(47, oaBits)) | (oa & 0xFFFF_F000L);
            final long type = r < 85 ? (level == 3 ? 3 : 1) : r < 93 ? (level == 3 ? 1 : 3) : rnd.nextInt(4) & 2;
            d = oa | type | attrs(0xFFF8_0000_0000_0FFCL | (g == 16 ? 0xF000L : 0));
            write(slot, d);
            return;
        }
    }

    /** Random bits of {@code mask}, each set with probability 1/2, with AF set more often than not. */
    private long attrs(final long mask) {
        long v = rnd.nextLong() & mask;
        if ((mask & (1L << 10)) != 0 && rnd.nextInt(4) != 0) v |= 1L << 10;
        return v;
    }

    private long alloc(final long size) {
        final long p = (brk + size - 1) & -size;
        brk = p + size;
        if (brk > RAM) throw new IllegalStateException("test tables out of RAM");
        return p;
    }

    private void write(final long pa, final long v) throws GuestMemoryException {
        memA.write64(pa, v);
        memB.write64(pa, v);
    }

    private void zero() throws GuestMemoryException {
        final byte[] z = new byte[(int) Math.max(brk, 0)];
        if (z.length == 0) return;
        memA.write(0, z, 0, z.length);
        memB.write(0, z, 0, z.length);
    }

    private static SmmuV3Config config(final Map<String, ?> raw) {
        try {
            return SmmuV3Config.from(dev.viommu.core.spi.Properties.parse("arm-smmuv3", SmmuV3Config.properties(), raw));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
