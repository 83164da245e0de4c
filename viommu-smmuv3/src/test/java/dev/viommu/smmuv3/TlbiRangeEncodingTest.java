package dev.viommu.smmuv3;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.smmuv3.spec.Cmd;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.viommu.smmuv3.StreamTableTest.config;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Reserved encodings of the range and level-hint fields of TLBIs by address (IHI0070 §4.4.1.1) and the
 * encodings Linux 7.3 builds. With TG ≠ 0, NUM = SCALE = TTL = 0 is Reserved (CERROR_ILL); with IDR5.DS = 0,
 * TG = 16K and TTL = 0b01 is Reserved and treated as TTL = 0b00, so with NUM = SCALE = 0 it is CERROR_ILL too.
 * Before, {@code Commands.range} accepted both as a one-granule invalidation.
 */
class TlbiRangeEncodingTest {
    /** The five TLBIs by address (§4.4.2, §4.4.3): NH_VA, NH_VAA, EL2_VA, EL2_VAA, S2_IPA. */
    private static final int[] BY_ADDRESS = {Cmd.TLBI_NH_VA, Cmd.TLBI_NH_VAA, Cmd.TLBI_EL2_VA, Cmd.TLBI_EL2_VAA,
            Cmd.TLBI_S2_IPA};

    private static final Commands RIL = new Commands(config(Map.of("hyp", true)));

    private static long d0(final int op, final int num, final int scale) {
        return op | (long) num << 12 | (long) scale << 20 | 5L << 32 | 7L << 48;   // VMID 5, ASID 7
    }

    private static long d1(final int tg, final int ttl, final long addr) {
        return addr | (long) tg << 10 | (long) ttl << 8 | 1;                         // Leaf
    }

    @Test
    void granuleWithoutRangeOrLevelHintIsIllegal() {
        for (final int op : BY_ADDRESS) {
            for (int tg = Cmd.TLBI_TG_4K; tg <= Cmd.TLBI_TG_64K; tg++) {
                final String what = "op 0x" + Integer.toHexString(op) + " TG " + tg;
                assertInstanceOf(Command.Illegal.class, RIL.decode(d0(op, 0, 0), d1(tg, 0, 0x40_0000)), what);
                assertFalse(RIL.decode(d0(op, 0, 0), d1(tg, 3, 0x40_0000)) instanceof Command.Illegal, what + " TTL 3");
                assertFalse(RIL.decode(d0(op, 1, 0), d1(tg, 0, 0x40_0000)) instanceof Command.Illegal, what + " NUM 1");
                assertFalse(RIL.decode(d0(op, 0, 1), d1(tg, 0, 0x40_0000)) instanceof Command.Illegal, what + " SCALE 1");
            }
            assertFalse(RIL.decode(d0(op, 0, 0), d1(0, 0, 0x40_0000)) instanceof Command.Illegal, "TG 0: no range");
        }
        // Without IDR3.RIL the fields are RES0 and ignored (§4.1.5 permits ignoring Reserved fields).
        final Commands noRil = new Commands(config(Map.of("ril", false)));
        assertFalse(noRil.decode(d0(Cmd.TLBI_NH_VA, 0, 0), d1(Cmd.TLBI_TG_4K, 0, 0x40_0000)) instanceof Command.Illegal);
    }

    @Test
    void sixteenKilobyteLevelOneHintIsIllegalOnlyWithoutARange() {
        // §4.4.1.1: with IDR5.DS = 0, TG = 0b10 and TTL = 0b01 is Reserved and treated as TTL = 0b00. Alone
        // (NUM = SCALE = 0) it is the Reserved granule-only encoding; with a range it is a range without a hint.
        for (final int op : BY_ADDRESS) {
            final String what = "op 0x" + Integer.toHexString(op);
            assertInstanceOf(Command.Illegal.class, RIL.decode(d0(op, 0, 0), d1(Cmd.TLBI_TG_16K, 1, 0x40_0000)), what);
            assertFalse(RIL.decode(d0(op, 1, 0), d1(Cmd.TLBI_TG_16K, 1, 0x40_0000)) instanceof Command.Illegal, what);
            assertFalse(RIL.decode(d0(op, 0, 0), d1(Cmd.TLBI_TG_4K, 1, 0x40_0000)) instanceof Command.Illegal, what);
            assertFalse(RIL.decode(d0(op, 0, 0), d1(Cmd.TLBI_TG_64K, 1, 0x40_0000)) instanceof Command.Illegal, what);
        }
        final Command.TlbiNhVa two = (Command.TlbiNhVa) RIL.decode(d0(Cmd.TLBI_NH_VA, 1, 0),
                d1(Cmd.TLBI_TG_16K, 1, 0x40_0000));
        assertEquals(0x40_0000, two.range().start());
        assertEquals(2L << 14, two.range().length(), "NUM = 1: two 16K granules");
    }

    @Test
    void reservedRangeEncodingStopsTheCommandQueueWithCerrorIll() {
        final DirectMachine m = new DirectMachine("arm-smmuv3", Map.of(), 16L << 20);
        try {
            final SmmuV3TestGuest d = boot(m);
            assertFalse(d.issue(List.of(new long[] {d0(Cmd.TLBI_NH_VA, 0, 0), d1(Cmd.TLBI_TG_4K, 0, 0x40_0000)})));
            assertEquals(Cmd.CERROR_ILL, d.gerrorHandler(), "CMDQ_CONS.ERR");
            assertTrue(d.issue(List.of(new long[] {d0(Cmd.TLBI_NH_VA, 0, 0), d1(Cmd.TLBI_TG_4K, 3, 0x40_0000)})),
                    "the same with TTL = 3 (a page at level 3)");
        } finally {
            m.close();
        }
    }

    // ------------------------------------------------------------------ Linux 7.3's own range TLBIs

    /**
     * arm_smmu_cmdq_batch_add_range (Linux 7.3 drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c) with
     * ARM_SMMU_FEAT_RANGE_INV, line for line: {@code tg} is log2 of the domain's smallest page size
     * ({@code inv->pgsize}), {@code granule} the leaf size (leaf) or the nominal last-level granule (non-leaf).
     * A leaf takes TTL from the granule's level; a non-leaf has TTL = 0 and one more page when the page count's
     * low five bits are 1 ("avoid the SVA corner case where both scale and num could be 0"). SCALE keeps its
     * 5-bit truncation when the lowest set bit of the page count is above 31.
     */
    static List<long[]> linuxRangeCommands(final long d0, long iova, final long size, final long granule, final int tg,
                                           final boolean leaf) {
        final List<long[]> cmds = new ArrayList<>();
        final long end = iova + size;
        long numPages = size >>> tg;
        final long tgEnc = (tg - 10) / 2;
        long ttl = 0;
        if (leaf) ttl = 4 - ((63 - Long.numberOfLeadingZeros(granule)) - 3) / (tg - 3);
        else if ((numPages & 31) == 1) numPages++;
        while (Long.compareUnsigned(iova, end) < 0) {
            final int scale = Long.numberOfTrailingZeros(numPages);            // __ffs
            final long num = (numPages >>> scale) & 31;                         // CMDQ_TLBI_RANGE_NUM_MAX
            final long c0 = d0 | (num - 1) << 12 | (long) (scale & 0x1F) << 20;
            final long invRange = num << (scale + tg);
            numPages -= num << scale;
            cmds.add(new long[] {c0, (leaf ? 1 : 0) | ttl << 8 | tgEnc << 10 | (iova & ~0xFFFL)});
            iova += invRange;
        }
        return cmds;
    }

    /** One call of {@link #linuxRangeCommands}. */
    private record LinuxCall(String what, long iova, long size, long granule, int tg, boolean leaf) {
        List<long[]> commands(final long d0) { return linuxRangeCommands(d0, iova, size, granule, tg, leaf); }

        /** Whether Linux's SCALE truncation applies (the lowest set bit of the page count above 31). */
        boolean truncated() { return Long.numberOfTrailingZeros(size >>> tg) > 31; }
    }

    /**
     * The calls Linux 7.3 makes: arm_smmu_iotlb_sync (leaf, gathered leaves of one size from the pgsize bitmap:
     * 4K/2M/1G, 16K/32M, 64K/512M/4T), arm_smmu_tlb_inv_walk (non-leaf, io-pgtable-arm's table spans with the
     * page as granule) and arm_smmu_mm_arch_invalidate_secondary_tlbs (SVA, non-leaf, PAGE_SIZE granule, at most
     * MAX_TLBI_RANGE_PAGES = 2^21 pages, beyond which arm64 flushes the whole mm).
     */
    private static List<LinuxCall> linuxCalls() {
        final List<LinuxCall> calls = new ArrayList<>();
        final long[][] leaves = {{12, 12, 21, 30}, {14, 14, 25}, {16, 16, 29, 42}};   // tg, then leaf sizes (log2)
        final long[] counts = {1, 2, 3, 31, 32, 33, 64, 513, 1000};
        for (final long[] g : leaves) {
            final int tg = (int) g[0];
            for (int i = 1; i < g.length; i++) {
                final long leaf = 1L << g[i];
                for (final long n : counts) {
                    final long iova = 3 * leaf;
                    if (Long.numberOfLeadingZeros(iova + n * leaf) < 16) continue;   // beyond a 48-bit VA
                    calls.add(new LinuxCall("iotlb_sync " + n + " x 2^" + g[i], iova, n * leaf, leaf, tg, true));
                }
            }
            // __arm_lpae_unmap clearing a table entry at level L (start level 0, or 1 with 64K, up to 2) flushes
            // the walk over that entry's span with the page as granule.
            for (int level = tg == 16 ? 1 : 0; level <= 2; level++) {
                final long span = 1L << tg + (3 - level) * (tg - 3);
                calls.add(new LinuxCall("tlb_inv_walk L" + level + " span", span, span, 1L << tg, tg, false));
            }
            for (final long pages : new long[] {1, 2, 3, 17, 31, 32, 33, 34, 63, 65, 1000, 1L << 21}) {
                calls.add(new LinuxCall("SVA " + pages + " pages", 5L << tg, pages << tg, 1L << tg, tg, false));
            }
        }
        return calls;
    }

    @Test
    void everyRangeTlbiLinuxBuildsIsAcceptedAndCoversItsRange() {
        final DirectMachine m = new DirectMachine("arm-smmuv3", Map.of("hyp", true), 16L << 20);
        try {
            final SmmuV3TestGuest d = boot(m);
            assertTrue(d.ril);
            // Linux's size_opcode per invalidation type: S1 ASID (NH_VA, or EL2_VA for an E2H domain), S2 VMID.
            final long[] d0s = {Cmd.TLBI_NH_VA | 7L << 48, Cmd.TLBI_EL2_VA | 7L << 48, Cmd.TLBI_S2_IPA | 5L << 32};
            int commands = 0;
            for (final LinuxCall call : linuxCalls()) {
                for (final long d0 : d0s) {
                    final List<long[]> cmds = call.commands(d0);
                    final String what = call + " op 0x" + Long.toHexString(d0 & 0xFF);
                    long covered = call.iova();
                    for (final long[] c : cmds) {
                        final Command decoded = RIL.decode(c[0], c[1]);
                        assertFalse(decoded instanceof Command.Illegal, what + ": " + decoded);
                        final Command.Range r = switch (decoded) {
                            case Command.TlbiNhVa v -> v.range();
                            case Command.TlbiEl2Va v -> v.range();
                            case Command.TlbiS2Ipa v -> v.range();
                            default -> throw new AssertionError(what + ": " + decoded);
                        };
                        if (r.length() == 0) covered = call.iova() + call.size();
                        else if (r.contains(covered)) covered = Math.max(covered, r.start() + r.length());
                    }
                    // With the SCALE truncation Linux itself asks for less than it means; the model decodes the
                    // command as written. Every other call is covered exactly as Linux computes inv_range.
                    if (!call.truncated()) assertTrue(covered >= call.iova() + call.size(), what + ": covered");
                    assertTrue(d.issue(cmds), what + ": the queue refused it (CERROR " + d.gerrorHandler() + ")");
                    commands += cmds.size();
                }
            }
            assertTrue(commands > 300, "commands issued: " + commands);
        } finally {
            m.close();
        }
    }

    @Test
    void linuxNeverBuildsTheReservedEncodings() {
        // The transliteration against the rule itself: no call yields NUM = SCALE = TTL = 0 with TG ≠ 0, nor a
        // 16K TTL = 0b01 (io-pgtable-arm offers no 64G blocks with 16K; Linux builds TTL 1 only for 1G and 4T).
        for (final LinuxCall call : linuxCalls()) {
            for (final long[] c : call.commands(Cmd.TLBI_NH_VA)) {
                final long num = Cmd.TLBI_NUM.get(c[0]), scale = Cmd.TLBI_SCALE.get(c[0]);
                final long ttl = Cmd.TLBI_TTL.get(c[1]), tg = Cmd.TLBI_TG.get(c[1]);
                assertTrue(tg != 0, call.toString());
                assertFalse(num == 0 && scale == 0 && ttl == 0, call + ": granule only");
                assertFalse(tg == Cmd.TLBI_TG_16K && ttl == 1, call + ": 16K level-1 hint");
            }
        }
    }

    private static SmmuV3TestGuest boot(final DirectMachine m) {
        return SmmuV3TestGuest.booted(m);
    }
}
