package dev.viommu.smmuv3;

import dev.viommu.core.guest.GuestMachine.Translated;
import dev.viommu.core.translate.AccessType;
import dev.viommu.smmuv3.SmmuV3FuzzGuest.Kind;
import dev.viommu.smmuv3.SmmuV3FuzzGuest.Known;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;

import static dev.viommu.smmuv3.SmmuV3FuzzGuest.RAM;
import static dev.viommu.smmuv3.SmmuV3TestGuest.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Guests are hostile, and know the structures they attack. Starting from a correctly reset SMMU whose streams
 * use real tables (abort, bypass, stage 1 with substreams behind linear and two-level CD tables and every
 * S1DSS, 16 KiB and 64 KiB granules, stage 2, nested; see {@link SmmuV3FuzzGuest}), a seeded guest interleaves
 * thousands of: bit flips, pointer swaps and zeroing of the live qwords of its STEs, CDs, level-1 descriptors and
 * page tables; well-formed commands of every kind (each CFGI_*, TLBI_*, ATC_INV, PRI_RESP, RESUME, CMD_SYNC with
 * each CS) and malformed ones (unknown opcodes, reserved encodings, StreamIDs and SubstreamIDs out of range);
 * GERROR acknowledgements; random register writes (CR0/CR1/CR2, GBPA, IRQ_CTRL, the stream table and queue bases,
 * PROD and CONS with wrap bits and out-of-range indices, at 1 to 8 bytes); translations from known and unknown
 * streams; page requests; event-queue consumption; and re-programming as a driver's reset does. Nothing may escape
 * as an exception and every call must return (the timeout).
 * <p>
 * Coherence oracles compare the SMMU's answers with those it gives once every cache is dropped internally
 * ({@link Translator#invalidateAll}):
 * <ul>
 *   <li>global: after the guest rewrites live entries and issues CFGI_ALL, TLBI_NSNH_ALL, TLBI_S12_VMALL per VMID
 *       and TLBI_EL2_ALL (IHI0070 §4.3, §4.4: nothing stale may be used after them), for every known request;</li>
 *   <li>page: from clean tables, after the guest rewrites one leaf and issues the invalidation Linux would for it
 *       (TLBI_NH_VA by ASID, leaf, range form with RIL; TLBI_S2_IPA, plus TLBI_NH_ALL for a nested stream), for
 *       that request and, from their IOTLB entries, every request not going through the leaf;</li>
 *   <li>configuration: from clean tables, after one STE, CD or level-1 qword is rewritten and the CFGI covering
 *       it is issued (with TLBI_NSNH_ALL), for every request.</li>
 * </ul>
 * They assert only what the invalidations issued guarantee: an attack may have retagged entries (ASID, VMID,
 * StreamWorld), so the page and configuration oracles start from clean tables and caches that agree with them;
 * and the SMMU's own access-flag and dirty-state updates can outdate answers it gave before them with nothing
 * invalidating after, so passes in which they happen are settled or, when they reach beyond leaves, not judged.
 * Besides: a fault of a clean stream is reported by exactly one event record naming it; a command the SMMU does
 * not implement stops the queue with CERROR_ILL on that command; no stalled transaction survives SMMUEN = 0 or a
 * reset; and every stall is reported, however full or disabled the event queue was (§3.12.2, §7.2.1).
 */
class SmmuV3StructuredHostileGuestTest {
    private static final int STEPS = 6_000, EPOCH = 250;
    /** Oracle translations that succeeded, and all compared. */
    private final long[] okCompared = new long[2];

    static Stream<Arguments> variants() {
        final Map<String, Object> nested = Map.of("pri", true, "ats", true, "stall", "stall", "hyp", true);
        final Map<String, Object> s1Linear = Map.of("stage", "1", "2lvl-strtab", false, "sidsize", 9, "cd2l", false,
                "msi", false, "ril", false, "httu", "none");
        final Map<String, Object> s2Only = Map.of("stage", "2", "ssidsize", 0, "ril", true, "httu", "af", "granules", "4k");
        final Map<String, Object> nestedNoSsid = Map.of("ssidsize", 0, "msi", false, "httu", "af", "ril", false,
                "granules", "4k,64k");
        final Map<String, Object> s1Stall = Map.of("stage", "1", "stall", "stall", "ssidsize", 10, "sev", false,
                "cmdqs", 6, "eventqs", 3, "priqs", 2, "pri", true, "ats", true);
        final List<Arguments> all = new ArrayList<>();
        for (long seed = 1; seed <= 3; seed++) {
            all.add(Arguments.of("nested-2lvl-pri-stall-hyp", nested, seed));
            all.add(Arguments.of("s1-linear-nomsi-noril", s1Linear, seed));
            all.add(Arguments.of("s2-only", s2Only, seed));
            all.add(Arguments.of("nested-no-ssid", nestedNoSsid, seed));
            all.add(Arguments.of("s1-stall-small-queues", s1Stall, seed));
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} seed {2}")
    @MethodSource("variants")
    @Timeout(30)
    void structuredAttacksNeverEscapeAndCachesStayCoherent(final String name, final Map<String, Object> props,
                                                           final long seed) {
        final SmmuV3FuzzGuest f = SmmuV3FuzzGuest.boot(props);
        try (f.m) {
            final Random r = new Random(seed);
            final List<Long> hot = f.hotQwords();
            final byte[] clean = f.snapshot();
            int globalOracles = 0, pageOracles = 0, configOracles = 0, stallOracles = 0;
            for (int step = 0; step < STEPS; step++) {
                if (step % EPOCH == 0) {                    // a fresh attack on clean tables every EPOCH steps
                    f.restore(clean);
                    f.reprogram();
                }
                switch (r.nextInt(18)) {
                    case 0, 1 -> mutate(f, r, r.nextInt(4) != 0 ? hot.get(r.nextInt(hot.size())) : f.randomStructureQword(r), hot);
                    case 2 -> {
                        final List<long[]> cmds = new ArrayList<>();
                        for (int i = 1 + r.nextInt(3); i > 0; i--) cmds.add(wellFormed(f, r));
                        if (!f.submit(cmds) && r.nextBoolean()) f.g.gerrorHandler();
                    }
                    case 3 -> {
                        if (r.nextInt(3) == 0) illegalCommandStopsTheQueue(f, r);
                        else malformed(f, r);
                    }
                    case 4 -> registerWrite(f, r);
                    case 5, 6, 7 -> translate(f, r);
                    case 8 -> pageRequest(f, r);
                    case 9 -> consumeEvents(f, r);
                    case 10 -> acknowledgeErrors(f, r);
                    case 11 -> {
                        if (r.nextInt(20) == 0) {
                            f.dev.reset();
                            assertEquals(0, f.stalledTransactions(), "a reset SMMU holds no stalled transaction");
                        }
                        f.reprogram();
                    }
                    case 12 -> {
                        f.reprogram();
                        globalOracle(f, r, hot);
                        globalOracles++;
                    }
                    case 13 -> {
                        f.reprogram();
                        if (configOracle(f, r, clean)) configOracles++;
                    }
                    case 14 -> {
                        if (stallsAreNeverLost(f, r, clean)) stallOracles++;
                    }
                    default -> {
                        f.reprogram();
                        if (pageOracle(f, r, clean)) pageOracles++;
                    }
                }
            }
            assertTrue(globalOracles > 200 && pageOracles > 400 && configOracles > 200,
                    globalOracles + " global, " + pageOracles + " page and " + configOracles + " configuration oracles ran");
            assertTrue(!f.cfg.stalls() || stallOracles > 100, stallOracles + " stall oracles ran");
            assertTrue(okCompared[0] * 3 > okCompared[1], "only " + okCompared[0] + " of " + okCompared[1]
                    + " compared translations succeeded: the oracles barely saw a working table");
            assertTrue(f.m.describe().contains("registers"));
        }
    }

    // ------------------------------------------------------------------ the guest's attacks

    /** Rewrites the qword at {@code a}: a bit flip, low bits, another page in or out of RAM, a swap, zero, or noise. */
    private static void mutate(final SmmuV3FuzzGuest f, final Random r, final long a, final List<Long> hot) {
        final long v = f.r64(a);
        f.w64(a, switch (r.nextInt(7)) {
            case 0, 1 -> v ^ 1L << r.nextInt(64);
            case 2 -> v ^ r.nextInt(0x1000);
            case 3 -> (r.nextInt(4) == 0 ? r.nextLong() << 12 : r.nextLong(RAM) & ~0xFFFL) | (v & 0xFFF);
            case 4 -> f.r64(hot.get(r.nextInt(hot.size())));                   // another entry's pointer or fields
            case 5 -> 0;
            default -> r.nextLong();
        });
    }

    /** The {@link #tlbiRange} TG encoding of a granule (1: 4 KiB, 2: 16 KiB, 3: 64 KiB). */
    private static int tg(final int granule) { return (granule - 10) / 2; }

    /**
     * The TLBI by address Linux issues for [{@code addr}, {@code addr + size}) in leaves of {@code size} over a
     * {@code granule} table (arm_smmu_cmdq_batch_add_range): with RIL, NUM/SCALE/TG and the leaf's TTL; without,
     * one command per leaf. {@code d0} carries the opcode, VMID and ASID.
     */
    private static List<long[]> tlbiRange(final SmmuV3FuzzGuest f, final long d0, final long addr, final long size,
                                          final int granule, final boolean leaf) {
        final List<long[]> cmds = new ArrayList<>();
        final long lf = leaf ? 1 : 0;
        if (!f.g.ril) {
            cmds.add(new long[] {d0, addr & ~0xFFFL | lf});
            return cmds;
        }
        final int ttl = leaf ? 4 - ((63 - Long.numberOfLeadingZeros(size)) - 3) / (granule - 3) : 0;
        long pages = size >>> granule, va = addr & -(1L << granule);
        if (!leaf && (pages & 31) == 1) pages++;   // Linux: never NUM = SCALE = TTL = 0, Reserved (§4.4.1.1)
        while (pages > 0) {
            final int scale = Long.numberOfTrailingZeros(pages);
            final long num = (pages >>> scale) & 31;
            cmds.add(new long[] {d0 | (num - 1) << 12 | (long) (scale & 0x1F) << 20,
                    lf | (long) ttl << 8 | (long) tg(granule) << 10 | va});
            va += num << (scale + granule);
            pages -= num << scale;
        }
        return cmds;
    }

    /** One well-formed command of any kind, aimed at a known request's stream, substream, ASID, VMID or address. */
    private static long[] wellFormed(final SmmuV3FuzzGuest f, final Random r) {
        final Known k = f.known.get(r.nextInt(f.known.size()));
        final long sid = (long) k.sid() << 32, ssid = (long) Math.max(k.pasid(), 0) << 12;
        final long vmid = (long) k.vmid() << 32, asid = (long) Math.max(k.asid(), 0) << 48;
        final long va = k.va() & ~0xFFFL;
        final long leaf = r.nextInt(2);
        final long range = f.g.ril && r.nextBoolean() ? (long) r.nextInt(32) << 12 | (long) r.nextInt(32) << 20 : 0;
        final long rangeD1 = range != 0 ? (long) (1 + r.nextInt(3)) << 10 | (long) r.nextInt(4) << 8 : 0;
        return switch (r.nextInt(18)) {
            case 0 -> new long[] {OP_CFGI_STE | sid, leaf};
            case 1 -> new long[] {OP_CFGI_ALL | sid, r.nextInt(32)};            // CFGI_STE_RANGE; 31 is CFGI_ALL
            case 2 -> new long[] {OP_CFGI_CD | ssid | sid, leaf};
            case 3 -> new long[] {OP_CFGI_CD_ALL | sid, 0};
            case 4 -> new long[] {OP_TLBI_NH_ALL | vmid, 0};
            case 5 -> new long[] {OP_TLBI_NH_ASID | vmid | asid, 0};
            case 6 -> new long[] {OP_TLBI_NH_VA | vmid | asid | range, va | leaf | rangeD1};
            case 7 -> new long[] {0x13 | vmid | range, va | leaf | rangeD1}; // TLBI_NH_VAA
            case 8 -> f.g.hyp ? switch (r.nextInt(4)) {
                case 0 -> new long[] {OP_TLBI_EL2_ALL, 0};
                case 1 -> new long[] {0x21 | asid, 0};
                case 2 -> new long[] {0x22 | asid | range, va | leaf | rangeD1};
                default -> new long[] {0x23 | range, va | leaf | rangeD1};
            } : new long[] {OP_TLBI_NSNH_ALL, 0};
            case 9 -> new long[] {OP_TLBI_S12_VMALL | vmid, 0};
            case 10 -> new long[] {OP_TLBI_S2_IPA | vmid | range, (k.ipa() & 0xF_FFFF_FFFF_F000L) | leaf | rangeD1};
            case 11 -> new long[] {OP_TLBI_NSNH_ALL, 0};
            case 12 -> f.g.ats ? new long[] {OP_ATC_INV | sid | ssid | (k.pasid() >= 0 ? 1L << 11 : 0) | (long) r.nextInt(2) << 9,
                    va | r.nextInt(64)} : new long[] {OP_PREFETCH_CFG | sid, 0};
            case 13 -> f.g.pri ? new long[] {OP_PRI_RESP | sid | ssid | (k.pasid() >= 0 ? 1L << 11 : 0),
                    r.nextInt(512) | (long) r.nextInt(3) << 12} : new long[] {OP_CFGI_STE | sid, 1};
            case 14 -> f.cfg.stalls() ? r.nextBoolean() ? new long[] {0x44 | sid | (long) r.nextInt(3) << 12, r.nextInt(70)}
                    : new long[] {0x45 | sid, 0} : new long[] {OP_TLBI_NH_ALL | vmid, 0};
            case 15 -> new long[] {OP_PREFETCH_CFG | sid | ssid | (k.pasid() >= 0 ? 1L << 11 : 0), 0};
            case 16 -> new long[] {0x02 | sid | ssid, va | r.nextInt(32)};      // PREFETCH_ADDR
            default -> {
                final long msi = switch (r.nextInt(4)) {
                    case 0 -> f.g.cmdqBase + 16L * (f.g.cmdqProd & ((1 << f.g.cmdqShift) - 1));
                    case 1 -> r.nextLong(RAM) & ~3L;
                    case 2 -> MSI_DOORBELL;
                    default -> r.nextLong() & 0xF_FFFF_FFFF_FFFCL;
                };
                yield new long[] {OP_CMD_SYNC | (long) r.nextInt(3) << 12 | (long) r.nextInt() << 32, msi};
            }
        };
    }

    /** Commands the SMMU must refuse (CERROR_ILL) or treat as harmless, put without a sync; sometimes recovered. */
    private static void malformed(final SmmuV3FuzzGuest f, final Random r) {
        final Known k = f.known.get(r.nextInt(f.known.size()));
        final long badSid = (r.nextBoolean() ? 1L << f.g.sidBits : 0) | r.nextInt() & 0xFFFF_FFFFL;
        final long badSsid = (long) (r.nextInt(1 << 20)) << 12;
        for (int i = 1 + r.nextInt(2); i > 0; i--) {
            final long[] c = switch (r.nextInt(10)) {
                case 0 -> new long[] {r.nextInt(256), r.nextLong()};                         // any opcode, noise
                case 1 -> new long[] {0x47 + r.nextInt(0xB9), 0};                               // unknown opcodes
                case 2 -> new long[] {OP_CFGI_STE | 1L << 10 | (long) k.sid() << 32, 1};        // SSec on the NS queue
                case 3 -> new long[] {OP_CMD_SYNC | 3L << 12, 0};                               // reserved CS
                case 4 -> new long[] {0x44 | 3L << 12 | (long) k.sid() << 32, 0};               // reserved RESUME action
                case 5 -> new long[] {OP_PRI_RESP | 1L << 11 | badSsid | (long) k.sid() << 32, 3L << 12};
                case 6 -> new long[] {OP_CFGI_STE | badSid << 32, r.nextInt(2)};                // StreamID out of range
                case 7 -> new long[] {OP_CFGI_CD | badSsid | badSid << 32, 1};
                case 8 -> new long[] {OP_PREFETCH_CFG | 1L << 11 | badSsid | (long) k.sid() << 32, r.nextLong()};
                default -> new long[] {r.nextLong() & ~0x400L, r.nextLong()};                  // reserved bits set
            };
            f.g.put(c[0], c[1]);
        }
        if (r.nextBoolean()) f.g.put(OP_CMD_SYNC | (long) r.nextInt(3) << 12, 0);
        f.ring();
        if (r.nextBoolean()) f.g.gerrorHandler();
    }

    private static final int[] REGS = {CR0, CR1, CR2, GBPA, IRQ_CTRL, GERRORN, GERROR_IRQ_CFG0, GERROR_IRQ_CFG1,
            GERROR_IRQ_CFG2, STRTAB_BASE, STRTAB_BASE + 4, STRTAB_BASE_CFG, CMDQ_BASE, CMDQ_BASE + 4, CMDQ_PROD,
            CMDQ_CONS, EVTQ_BASE, EVTQ_BASE + 4, EVTQ_PROD, EVTQ_CONS, EVTQ_PROD - PAGE1, EVTQ_CONS - PAGE1,
            EVTQ_IRQ_CFG0, EVTQ_IRQ_CFG1, PRIQ_BASE, PRIQ_BASE + 4, PRIQ_PROD, PRIQ_CONS, PRIQ_IRQ_CFG0, IDR0, IDR5,
            CR0ACK, GERROR, IRQ_CTRLACK};
    private static final int[] QUEUE_INDICES = {CMDQ_PROD, CMDQ_CONS, EVTQ_PROD, EVTQ_CONS, PRIQ_PROD, PRIQ_CONS};

    private static void registerWrite(final SmmuV3FuzzGuest f, final Random r) {
        final int off = r.nextInt(10) == 0 ? r.nextInt(0x100) : REGS[r.nextInt(REGS.length)];
        final long v;
        if (r.nextBoolean() && isQueueIndex(off)) {
            final int cur = f.m.read32(off);
            v = switch (r.nextInt(5)) {
                case 0 -> cur ^ 1 << (1 + r.nextInt(19));                   // some queue size's wrap bit
                case 1 -> cur + 1 + r.nextInt(3);
                case 2 -> cur ^ 1 << 31;                                    // OVFLG / OVACKFLG
                case 3 -> r.nextInt(1 << 20);                               // index beyond the queue
                default -> r.nextInt();
            };
        } else {
            v = switch (r.nextInt(6)) {
                case 0 -> r.nextLong();
                case 1 -> r.nextLong(RAM) & ~0xFFFL | r.nextInt(32);        // a base in RAM, any LOG2SIZE
                case 2 -> 1L << r.nextInt(64);
                case 3 -> off == CR0 ? r.nextInt(32) : r.nextInt();
                case 4 -> (r.nextLong(RAM) & ~0x3FL) | 1L << 62 | r.nextInt(20);
                default -> r.nextInt(0x1_0000);
            };
        }
        if ((off & 7) == 0 && r.nextBoolean()) f.m.write64(off, v);
        else if (r.nextInt(8) == 0) f.m.mmioWrite(0, off + r.nextInt(4), 1 << r.nextInt(4), v);   // 1, 2, 4 or 8 bytes, any alignment
        else f.m.write32(off, (int) v);
        if (r.nextBoolean()) f.m.read32(REGS[r.nextInt(REGS.length)]);
    }

    private static boolean isQueueIndex(final int off) {
        for (final int q : QUEUE_INDICES) if (q == off) return true;
        return false;
    }

    private static Translated translate(final SmmuV3FuzzGuest f, final Random r) {
        final Known k = f.known.get(r.nextInt(f.known.size()));
        final int sid = r.nextInt(4) != 0 ? k.sid() : r.nextInt(8) == 0 ? r.nextInt() : r.nextInt(0x300);
        final int pasid = r.nextInt(3) != 0 ? k.pasid() : r.nextInt(8) == 0 ? r.nextInt() : r.nextInt(0x50) - 1;
        final long iova = r.nextInt(3) != 0 ? k.va() + r.nextInt(0x3000) : r.nextInt(4) == 0 ? r.nextLong() : r.nextLong(1L << 40);
        return f.m.translate(sid, pasid, iova, r.nextInt(16));
    }

    private static void pageRequest(final SmmuV3FuzzGuest f, final Random r) {
        final Known k = f.known.get(r.nextInt(f.known.size()));
        final int sid = r.nextInt(4) != 0 ? k.sid() : r.nextInt(0x300);
        final int pasid = r.nextBoolean() ? k.pasid() : r.nextInt(0x10_0000) - 1;
        final long addr = r.nextBoolean() ? k.va() : r.nextLong();
        if (r.nextBoolean()) f.m.pageRequest(sid, pasid, addr, 1 + r.nextInt(15), r.nextBoolean(), r.nextInt(512));
        else f.dev.injectPageRequest(sid, pasid, addr, 1 + r.nextInt(15), r.nextInt(), r.nextBoolean());
        if (r.nextBoolean()) f.drainPriq(r.nextInt(3));
        f.m.takePageResponses();
    }

    /** arm_smmu_evtq_thread, then RESUME (retry or abort) for each stalled transaction reported. */
    private static void consumeEvents(final SmmuV3FuzzGuest f, final Random r) {
        final List<long[]> resumes = new ArrayList<>();
        for (final long[] e : f.g.evtqThread()) {
            if ((e[1] & 1L << 31) != 0 && f.cfg.stalls()) {
                resumes.add(new long[] {0x44 | (e[0] & 0xFFFF_FFFF_0000_0000L) | (long) r.nextInt(3) << 12, e[1] & 0xFFFF});
            }
        }
        if (!resumes.isEmpty()) f.submit(resumes.subList(0, Math.min(resumes.size(), 16)));
        f.m.takeInterrupts(0);
        f.m.takeInvalidations();
        f.m.events().clear();
        f.g.log.clear();
    }

    /** GERRORN: Linux's handler (skip the bad command, acknowledge everything), all errors, or random toggles. */
    private static void acknowledgeErrors(final SmmuV3FuzzGuest f, final Random r) {
        switch (r.nextInt(3)) {
            case 0 -> f.g.gerrorHandler();
            case 1 -> f.m.write32(GERRORN, f.m.read32(GERROR));
            default -> f.m.write32(GERRORN, f.m.read32(GERRORN) ^ r.nextInt(0x200));
        }
    }

    // ------------------------------------------------------------------ oracles

    /** The SMMU's answer to each request as it is, then with every cache dropped; they must agree. */
    private void assertCoherent(final SmmuV3FuzzGuest f, final List<Known> reqs, final int[] access,
                                final List<Translated> cached, final String what) {
        f.dropAllCaches();
        for (int i = 0; i < reqs.size(); i++) {
            final Known k = reqs.get(i);
            final Translated fresh = f.m.translate(k.sid(), k.pasid(), k.va(), access[i]);
            okCompared[1]++;
            if (fresh.ok()) okCompared[0]++;
            assertEquals(fresh, cached.get(i), what + ": " + k + " access " + AccessType.toString(access[i]));
        }
    }

    private static List<Translated> translateAll(final SmmuV3FuzzGuest f, final List<Known> reqs, final int[] access) {
        final List<Translated> out = new ArrayList<>();
        for (int i = 0; i < reqs.size(); i++) out.add(f.m.translate(reqs.get(i).sid(), reqs.get(i).pasid(), reqs.get(i).va(), access[i]));
        return out;
    }

    private static int randomAccess(final Random r) {
        return AccessType.READ | (r.nextBoolean() ? AccessType.WRITE : 0) | (r.nextInt(4) == 0 ? AccessType.PRIV : 0)
                | (r.nextInt(8) == 0 ? AccessType.EXEC : 0);
    }

    /**
     * Invalidates everything, then makes the requests until a pass changes no descriptor: the SMMU's own
     * access-flag and dirty-state updates may outdate an answer it gave earlier in the same pass (a clean-writable
     * page cached read-only for one stream, then dirtied by another's write), and nothing invalidates after them.
     * Returns the answers of the last pass.
     */
    private static List<Translated> settle(final SmmuV3FuzzGuest f, final List<Known> reqs, final int[] access) {
        List<Translated> answers;
        int rounds = 0;
        long updates;
        do {
            f.globalInvalidation();
            updates = f.httuUpdates();
            answers = translateAll(f, reqs, access);
        } while (f.httuUpdates() != updates && ++rounds < 4);
        return answers;
    }

    private static int[] randomAccesses(final Random r, final int n) {
        final int[] access = new int[n];
        for (int i = 0; i < n; i++) access[i] = randomAccess(r);
        return access;
    }

    /** Warm every request, rewrite live entries, invalidate everything: the SMMU must answer from memory as it is. */
    private void globalOracle(final SmmuV3FuzzGuest f, final Random r, final List<Long> hot) {
        final List<Known> reqs = f.known;
        final int[] access = randomAccesses(r, reqs.size());
        translateAll(f, reqs, access);
        for (int i = 0; i < 3; i++) mutate(f, r, r.nextInt(4) != 0 ? hot.get(r.nextInt(hot.size())) : f.randomStructureQword(r), hot);
        assertCoherent(f, reqs, access, settle(f, reqs, access), "after global invalidation");
    }

    /**
     * From clean tables and caches that agree with them, warm every request, rewrite one request's leaf and
     * invalidate that leaf as Linux does: the SMMU must answer that request from the new leaf, and every request
     * that does not go through the leaf as before (from its IOTLB entry). Then one more fault of that request
     * must be reported by an event record that describes it.
     */
    private boolean pageOracle(final SmmuV3FuzzGuest f, final Random r, final byte[] clean) {
        final Known k = f.known.get(r.nextInt(f.known.size()));
        final boolean s2Leaf = k.kind() == Kind.S2 || k.kind() == Kind.NESTED && k.s2Leaf() >= 0 && r.nextBoolean();
        final long leafAddr = s2Leaf ? k.s2Leaf() : k.s1Leaf();
        if (leafAddr < 0) return false;
        f.restore(clean);
        final List<Known> reqs = new ArrayList<>(List.of(k));
        for (final Known o : f.known) if (o != k && o.s1Leaf() != leafAddr && o.s2Leaf() != leafAddr) reqs.add(o);
        final int[] access = randomAccesses(r, reqs.size());
        settle(f, reqs, access);
        mutate(f, r, leafAddr, List.of(leafAddr));
        final List<long[]> cmds = new ArrayList<>();
        final boolean leafOnly = r.nextBoolean();
        if (s2Leaf) {
            // arm_smmu_tlb_inv_range_domain for a stage-2 domain; a nesting parent also gets TLBI_NH_ALL.
            final long size = k.s2LeafSize();
            cmds.addAll(tlbiRange(f, OP_TLBI_S2_IPA | (long) k.vmid() << 32, r.nextBoolean() ? k.ipa() : k.ipa() & -size,
                    size, 12, leafOnly));
            if (k.kind() == Kind.NESTED) cmds.add(new long[] {OP_TLBI_NH_ALL | (long) k.vmid() << 32, 0});
        } else {
            final long size = k.s1LeafSize();
            cmds.addAll(tlbiRange(f, OP_TLBI_NH_VA | (long) k.vmid() << 32 | (long) k.asid() << 48,
                    r.nextBoolean() ? k.va() : k.va() & -size, size, k.granule(), leafOnly));
        }
        f.mustSubmit(cmds);
        final List<Long> leaves = f.leaves();
        final long[] before = f.read(leaves);
        final long updates = f.httuUpdates();
        final List<Translated> cached = translateAll(f, reqs, access);
        if (f.httuUpdates() != updates && !onlyOwnLeafUpdated(f, clean, leafAddr, leaves, before)) return false;
        assertCoherent(f, reqs, access, cached, "after " + (s2Leaf ? "TLBI_S2_IPA" : "TLBI_NH_VA"));
        faultIsReported(f, k, access[0]);
        return true;
    }

    /**
     * Whether the SMMU's own access-flag and dirty-state updates during the pass touched nothing but the rewritten
     * leaf, which only the request translated first reads. A rewritten leaf can lead the walk anywhere: an update
     * elsewhere may outdate what another request was answered, or a configuration cached before it, and nothing
     * invalidates after the SMMU's own writes, so such a pass proves nothing.
     */
    private static boolean onlyOwnLeafUpdated(final SmmuV3FuzzGuest f, final byte[] clean, final long leafAddr,
                                              final List<Long> leaves, final long[] before) {
        final long[] after = f.read(leaves);
        for (int i = 0; i < after.length; i++) if (after[i] != before[i] && leaves.get(i) != leafAddr) return false;
        return f.onlyLeavesDiffer(clean, leafAddr, new HashSet<>(leaves));
    }

    /**
     * From clean tables and caches that agree with them, warm every request, rewrite one qword of a request's
     * STE, CD or the level-1 descriptor before either, and issue the CFGI that covers it (CFGI_STE, CFGI_CD; for
     * a level-1 descriptor, shared by many entries, CFGI_STE_RANGE over its StreamIDs or CFGI_CD_ALL) and
     * TLBI_NSNH_ALL, since the rewrite may retag the stream's translations: the SMMU must answer every request
     * from memory as it now is.
     */
    private boolean configOracle(final SmmuV3FuzzGuest f, final Random r, final byte[] clean) {
        final Known k = f.known.get(r.nextInt(f.known.size()));
        f.restore(clean);
        final List<Known> reqs = f.known;
        final int[] access = randomAccesses(r, reqs.size());
        settle(f, reqs, access);
        final long sid = (long) k.sid() << 32, ssid = (long) Math.max(k.pasid(), 0) << 12;
        final List<long[]> cmds = new ArrayList<>();
        final int what = r.nextInt(k.cd() >= 0 ? 8 : 4);
        final long mutated;
        if (what == 0 && k.stL1() >= 0) {
            mutated = k.stL1();
            cmds.add(new long[] {OP_CFGI_ALL | sid, 7});                      // CFGI_STE_RANGE: the L1 entry's 256 SIDs
        } else if (what < 4) {
            mutated = k.ste() + 8L * r.nextInt(4);
            cmds.add(new long[] {OP_CFGI_STE | sid, r.nextInt(2)});
        } else if (what == 4 && k.cdL1() >= 0) {
            mutated = k.cdL1();
            // It leads to 64 CDs: CFGI_CD (Leaf = 0) would re-fetch only this SSID's, the others may stay cached.
            cmds.add(new long[] {OP_CFGI_CD_ALL | sid, 0});
        } else {
            mutated = k.cd() + 8L * r.nextInt(3);
            cmds.add(new long[] {OP_CFGI_CD | ssid | sid, r.nextInt(2)});
        }
        mutate(f, r, mutated, List.of(mutated));
        final List<long[]> tlbi = new ArrayList<>(List.of(new long[] {OP_TLBI_NSNH_ALL, 0}));
        if (f.g.hyp) tlbi.add(new long[] {OP_TLBI_EL2_ALL, 0});
        cmds.addAll(tlbi);
        f.mustSubmit(cmds);
        final Set<Long> leaves = new HashSet<>(f.leaves());
        for (int round = 0; round < 4; round++) {
            final long updates = f.httuUpdates();
            final List<Translated> cached = translateAll(f, reqs, access);
            if (f.httuUpdates() == updates) {
                assertCoherent(f, reqs, access, cached, "after CFGI 0x" + Long.toHexString(cmds.get(0)[0]) + " for " + k);
                return true;
            }
            // The SMMU updated descriptors itself during the pass (the rewrite may send a walk anywhere). Leaves
            // alone: translations may be outdated by it, configurations not; drop the translations and ask again.
            // Anything else: a configuration cached before may be outdated, and nothing invalidates after it.
            if (!f.onlyLeavesDiffer(clean, mutated, leaves)) return false;
            f.mustSubmit(tlbi);
        }
        return false;
    }

    /**
     * Stall oracle (IHI0070 §7.2.1: the record of a stalled transaction is never discarded; while the event queue
     * is full or disabled it waits, and no overflow is flagged for it): from a fresh queue, up to 40 stalling
     * faults, more than a small queue holds, with the queue sometimes disabled for a while; the guest then drains
     * the queue (acknowledging any overflow) and resumes each stall it reads, until nothing more comes. Every stall
     * must have been reported, so none is left.
     */
    private static boolean stallsAreNeverLost(final SmmuV3FuzzGuest f, final Random r, final byte[] clean) {
        if (!f.cfg.stalls()) return false;
        f.restore(clean);
        f.reprogram();
        final List<Known> stalling = new ArrayList<>();
        for (final Known k : f.known) {
            if ((k.kind() == Kind.S1 || k.kind() == Kind.NESTED) && k.asid() > 0 && k.asid() % 2 == 0
                    || k.kind() == Kind.S2 && k.sid() == 0x20) stalling.add(k);
        }
        final int n = 1 + r.nextInt(40), off = r.nextInt(n);
        for (int i = 0; i < n; i++) {
            if (i == off && r.nextBoolean()) f.m.write32(CR0, f.m.read32(CR0) & ~CR0_EVTQEN);
            final Known k = stalling.get(r.nextInt(stalling.size()));
            assertTrue(!f.m.translate(k.sid(), k.pasid(), 0x2000_0000L + 0x1000L * i, AccessType.READ).ok());
        }
        f.m.write32(CR0, f.m.read32(CR0) | CR0_EVTQEN);
        for (int round = 0; round < 100; round++) {
            final List<long[]> resumes = new ArrayList<>();
            for (final long[] e : f.g.evtqThread()) {
                if ((e[1] & 1L << 31) != 0) resumes.add(new long[] {0x44 | (e[0] & 0xFFFF_FFFF_0000_0000L) | (long) r.nextInt(3) << 12, e[1] & 0xFFFF});
            }
            if (resumes.isEmpty()) break;
            for (int i = 0; i < resumes.size(); i += 16) f.mustSubmit(resumes.subList(i, Math.min(resumes.size(), i + 16)));
        }
        assertEquals(0, f.stalledTransactions(), "stalled transactions whose record never reached the event queue");
        return true;
    }

    private static final List<Integer> RECORDED = List.of(0x02, 0x03, 0x04, 0x06, 0x08, 0x09, 0x0A, 0x0B, 0x10, 0x11, 0x12, 0x13);

    /**
     * With clean STEs and CDs (every CD has R = 1, every stage 2 S2R = 1) and RECINVSID, a healthy event queue
     * receives exactly one record for a faulting request, naming its stream, substream and input address; none
     * for a translated one or a terminate-without-event.
     */
    private static void faultIsReported(final SmmuV3FuzzGuest f, final Known k, final int access) {
        // Stall records the queue could not take yet follow as the guest consumes (at most STALL_MAX of them).
        for (int round = 0; round < 20 && !f.g.evtqThread().isEmpty(); round++) {
            assertTrue(round < 19, "the event queue never empties");
        }
        final Translated t = f.m.translate(k.sid(), k.pasid(), k.va(), access);
        final List<long[]> events = f.g.evtqThread();
        final String what = k + " " + t;
        if (t.ok() || t.faultCode() == 0) {
            assertEquals(0, events.size(), "no event for " + what);
            return;
        }
        assertEquals(1, events.size(), "one event for " + what);
        final long[] e = events.get(0);
        assertTrue(RECORDED.contains(t.faultCode()), what);
        assertEquals(t.faultCode(), (int) (e[0] & 0xFF), "EventID for " + what);
        assertEquals(k.sid(), (int) (e[0] >>> 32), "StreamID for " + what);
        assertEquals(k.pasid() >= 0, (e[0] & 1L << 11) != 0, "SSV for " + what);
        if (k.pasid() >= 0) assertEquals(k.pasid(), (int) (e[0] >>> 12 & 0xFFFFF), "SubstreamID for " + what);
        if (t.faultCode() >= 0x10) assertEquals(k.va(), e[2], "InputAddr for " + what);
    }

    /**
     * CERROR oracle: on a queue the guest just set up, a command the SMMU does not implement stops the queue on
     * that command with CMDQ_CONS.ERR = CERROR_ILL and GERROR.CMDQ_ERR; Linux's handler then skips it and the
     * queue completes.
     */
    private static void illegalCommandStopsTheQueue(final SmmuV3FuzzGuest f, final Random r) {
        f.reprogram();
        final Known k = f.known.get(r.nextInt(f.known.size()));
        final List<long[]> illegal = new ArrayList<>(List.of(
                new long[] {OP_CFGI_STE | 1L << 10 | (long) k.sid() << 32, 1},      // SSec on the Non-secure queue
                new long[] {OP_CMD_SYNC | 3L << 12, 0},                              // reserved CS
                new long[] {0x18, 0},                                                // TLBI_EL3_ALL: Secure only
                new long[] {0x47 + r.nextInt(0xB9), r.nextLong()},
                new long[] {0x07 + r.nextInt(9), 0},
                new long[] {0x14 + r.nextInt(12), 0}));
        if (f.cfg.stalls()) illegal.add(new long[] {0x44 | 1L << 10 | (long) k.sid() << 32, 0});  // RESUME, SSec
        else illegal.add(new long[] {0x45 | (long) k.sid() << 32, 0});                            // STALL_TERM, terminate-only
        if (f.cfg.pri()) illegal.add(new long[] {OP_PRI_RESP | (long) k.sid() << 32, 3L << 12});  // reserved Resp
        else illegal.add(new long[] {OP_PRI_RESP | (long) k.sid() << 32, 0});
        if (!f.cfg.hyp()) illegal.add(new long[] {OP_TLBI_EL2_ALL, 0});
        if (!f.cfg.ats()) illegal.add(new long[] {OP_ATC_INV | (long) k.sid() << 32, 0});
        final long[] bad = illegal.get(r.nextInt(illegal.size()));
        final int at = f.g.cmdqProd;
        final List<long[]> cmds = new ArrayList<>();
        if (r.nextBoolean()) cmds.add(new long[] {OP_TLBI_NSNH_ALL, 0});
        final int badAt = (at + cmds.size()) & ((2 << f.g.cmdqShift) - 1);
        cmds.add(bad);
        final String what = "0x" + Long.toHexString(bad[0]) + " 0x" + Long.toHexString(bad[1]);
        assertTrue(!f.submit(cmds) && f.g.gerrorActive(GERROR_CMDQ_ERR), "illegal command " + what + " accepted");
        final int cons = f.m.read32(CMDQ_CONS);
        assertEquals(badAt, cons & ((2 << f.g.cmdqShift) - 1), "CONS stops on " + what);
        assertEquals(1, f.g.gerrorHandler(), "CERROR_ILL for " + what);
        assertTrue(f.ring(), "the queue completes once " + what + " is skipped");
    }
}
