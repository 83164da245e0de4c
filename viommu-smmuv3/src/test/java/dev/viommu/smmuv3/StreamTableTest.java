package dev.viommu.smmuv3;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.core.spi.Properties;
import dev.viommu.smmuv3.spec.EventId;
import dev.viommu.smmuv3.spec.Ste;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Stream table lookup and STE decoding where IHI0070 gives reserved or out-of-range values a defined behaviour
 * (§5.1, §5.2, §5.5, §6.3.25, §7.3.3). Each case names what the model did before, where it differed.
 */
class StreamTableTest {
    private static final long BASE = 0x10_0000;
    private final GuestMemory mem = GuestMemory.anonymous(0, 4L << 20);
    private final FaultRecord f = new FaultRecord();

    static SmmuV3Config config(final Map<String, ?> raw) {
        try {
            return SmmuV3Config.from(Properties.parse("arm-smmuv3", SmmuV3Config.properties(), raw));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static long cfg(final int fmt, final int split, final int log2size) {
        return (long) fmt << 16 | (long) split << 6 | log2size;
    }

    private long locate(final SmmuV3Config c, final long strtabCfg, final int sid) {
        f.clear();
        return new StreamTable(c).locate(mem, BASE, strtabCfg, sid, f);
    }

    @Test
    void reservedFormatBehavesAsLinear() {
        // Before: every StreamID was C_BAD_STREAMID.
        assertEquals(BASE + 3 * 64, locate(config(Map.of()), cfg(2, 8, 4), 3));
        assertEquals(BASE + 5 * 64, locate(config(Map.of()), cfg(3, 8, 4), 5));
    }

    @Test
    void formatIsIgnoredWithoutTwoLevelStreamTables() {
        assertEquals(BASE + 3 * 64, locate(config(Map.of("2lvl-strtab", false)), cfg(1, 8, 4), 3));
    }

    @Test
    void reservedSplitBehavesAsSix() throws GuestMemoryException {
        // Before: the nearest legal value (7 → 8). SID 0x47 is L1 descriptor 1 with SPLIT 6, descriptor 0 with 8.
        mem.write64(BASE + 8, 0x20_0000 | 7);
        assertEquals(0x20_0000 + 7 * 64, locate(config(Map.of()), cfg(1, 7, 10), 0x47));
    }

    @Test
    void spanAboveSplitPlusOneOrReservedMakesTheStreamIdsInvalid() throws GuestMemoryException {
        // Before: Span was clamped to SPLIT + 1 and the StreamIDs resolved.
        mem.write64(BASE, 0x20_0000 | 10);
        assertEquals(-1, locate(config(Map.of()), cfg(1, 8, 16), 5));
        assertEquals(EventId.C_BAD_STREAMID, f.eventId);
        mem.write64(BASE, 0x20_0000 | 9);
        assertEquals(0x20_0000 + 5 * 64, locate(config(Map.of()), cfg(1, 8, 16), 5));
        mem.write64(BASE, 0x20_0000 | 12);   // reserved, behaves as 0 even with SPLIT 10
        assertEquals(-1, locate(config(Map.of()), cfg(1, 10, 16), 5));
        assertEquals(EventId.C_BAD_STREAMID, f.eventId);
    }

    @Test
    void levelTwoPointerIsAlignedToItsArray() throws GuestMemoryException {
        // Span 3: four STEs, 256 bytes; L2Ptr[7:0] are taken as zero. Before: the low bits were used.
        mem.write64(BASE, 0x20_0000 | 0xC0 | 3);
        assertEquals(0x20_0000 + 2 * 64, locate(config(Map.of()), cfg(1, 8, 16), 2));
    }

    @Test
    void splitAtOrAboveLog2SizeUsesOneDescriptorWithItsFullSpan() throws GuestMemoryException {
        // SPLIT 8 ≥ LOG2SIZE 4: one L1 descriptor, Span valid up to SPLIT + 1 (§6.3.25). Before: Span was
        // clamped to LOG2SIZE + 1 and a legal Span 9 still resolved; Span 10 must not.
        mem.write64(BASE, 0x20_0000 | 9);
        assertEquals(0x20_0000 + 13 * 64, locate(config(Map.of()), cfg(1, 8, 4), 13));
        mem.write64(BASE, 0x20_0000 | 10);
        assertEquals(-1, locate(config(Map.of()), cfg(1, 8, 4), 13));
    }

    // ---------------------------------------------------------------- STE decoding

    private static long[] s1Ste(final long d0Extra, final long d1) {
        return new long[] {1 | (long) Ste.CONFIG_S1 << 1 | 0x4_0000 | d0Extra, d1, 0, 0};
    }

    private static StreamConfig decode(final SmmuV3Config c, final long[] w) {
        return new StreamTable(c).decode(w[0], w[1], w[2], w[3]);
    }

    @Test
    void reservedConfigAbortsWithoutAnEvent() {
        // Config 0b0xx behaves as 0b000 (§5.2). Before: C_BAD_STE.
        for (int config = 1; config < 4; config++) {
            assertSame(StreamConfig.ABORT, decode(config(Map.of()), new long[] {1 | config << 1, 0, 0, 0}));
        }
    }

    @Test
    void reservedSubstreamFieldsBehaveAsZero() {
        // S1CDMax 4 with S1Fmt 0b11 (linear) and S1DSS 0b11 (terminate). Before: both were C_BAD_STE.
        final StreamConfig sc = decode(config(Map.of()), s1Ste(3L << 4 | 4L << 59, 3));
        final StreamConfig.S1 s1 = ((StreamConfig.Translate) sc).s1();
        assertEquals(Ste.S1FMT_LINEAR, s1.fmt());
        assertEquals(Ste.S1DSS_TERMINATE, s1.s1dss());
        assertInstanceOf(StreamConfig.Invalid.class, decode(config(Map.of("cd2l", false)), s1Ste(3L << 4 | 4L << 59, 0)),
                "two-level S1Fmt without CD2L stays ILLEGAL");
    }

    @Test
    void s1CdMaxIsIgnoredWithoutSubstreams() {
        final StreamConfig sc = decode(config(Map.of("ssidsize", 0)), s1Ste(4L << 59, 0));
        assertEquals(0, ((StreamConfig.Translate) sc).s1().cdMax());
    }

    @Test
    void eatsFollowsTheAtsConfiguration() {
        // Without IDR0.ATS, EATS is IGNORED; 0b11 (DPT) behaves as 0b00. Before: both were C_BAD_STE.
        assertEquals(0, ((StreamConfig.Translate) decode(config(Map.of()), s1Ste(0, 1L << 28))).s1().eats());
        final SmmuV3Config ats = config(Map.of("ats", true));
        assertEquals(0, ((StreamConfig.Translate) decode(ats, s1Ste(0, 3L << 28))).s1().eats());
        assertInstanceOf(StreamConfig.Invalid.class, decode(ats, s1Ste(0, 2L << 28)), "split-stage ATS needs nesting");
    }

    @Test
    void streamWorldIsIgnoredWhenStageTwoTranslates() {
        // STRW = EL2 without IDR0.HYP on a nested STE: effective NS-EL1 (§5.2 STRW). Before: C_BAD_STE.
        final long[] w = s2Words(24, 0x20_0000, 5);
        w[0] = 1 | (long) Ste.CONFIG_NESTED << 1 | 0x4_0000;
        w[1] = 2L << 30;
        final StreamConfig sc = decode(config(Map.of()), w);
        assertEquals(Ste.STRW_NSEL1, ((StreamConfig.Translate) sc).s1().strw());
        assertInstanceOf(StreamConfig.Invalid.class, decode(config(Map.of()), s1Ste(0, 2L << 30)), "stage 1 only: STRW");
    }

    @Test
    void stage1StallDisableIsIllegalUnlessTheStallModelIsConfigurable() {
        final long[] stallD = s1Ste(0, 1L << 27);
        assertInstanceOf(StreamConfig.Translate.class, decode(config(Map.of("stall", "stall")), stallD));
        assertInstanceOf(StreamConfig.Invalid.class, decode(config(Map.of("stall", "terminate")), stallD));
        assertInstanceOf(StreamConfig.Invalid.class, decode(config(Map.of("stall", "force")), stallD));
    }

    /** A 4 KiB-granule stage-2 STE's dwords: IPA 64 - t0sz bits from level 1 (SL0 = 1), S2PS {@code ps}. */
    private static long[] s2Words(final int t0sz, final long ttb, final int ps) {
        final long vtcr = t0sz | 1L << 6 | (long) ps << 16;
        return new long[] {1 | (long) Ste.CONFIG_S2 << 1, 0, vtcr << 32 | 1L << 51 | 1L << 58, ttb};
    }

    @Test
    void stageTwoHardwareUpdateFlagsBeyondTheAdvertisedHttuMakeTheSteIllegal() {
        // §5.2 S2HA: S2HA with IDR0.HTTU = 0b00, S2HD with HTTU = 0b00 or 0b01, are ILLEGAL (C_BAD_STE). Before:
        // silently ignored.
        final long[] ha = s2Words(24, 0x20_0000, 5), hd = s2Words(24, 0x20_0000, 5), both = s2Words(24, 0x20_0000, 5);
        ha[2] |= Ste.S2HA.mask();
        hd[2] |= Ste.S2HD.mask();
        both[2] |= Ste.S2HA.mask() | Ste.S2HD.mask();
        assertInstanceOf(StreamConfig.Invalid.class, decode(config(Map.of("httu", "none")), ha));
        assertInstanceOf(StreamConfig.Invalid.class, decode(config(Map.of("httu", "none")), hd));
        assertInstanceOf(StreamConfig.Invalid.class, decode(config(Map.of("httu", "af")), both));
        assertTrue(((StreamConfig.Translate) decode(config(Map.of("httu", "af")), ha)).s2().ha());
        final StreamConfig.S2 s2 = ((StreamConfig.Translate) decode(config(Map.of()), both)).s2();
        assertTrue(s2.ha() && s2.hd());
        // {S2HA, S2HD} = 0b01 where S2HD is legal is reserved and behaves as 0b00.
        final StreamConfig.S2 reserved = ((StreamConfig.Translate) decode(config(Map.of()), hd)).s2();
        assertFalse(reserved.ha() || reserved.hd());
    }

    @Test
    void stage2InputSizeIsLimitedByTheOutputSize() {
        // IAS = OAS with AArch64-only tables: S2T0SZ below 64 - OAS is ILLEGAL (§5.2 S2T0SZ). Before: any IPA
        // size up to 48 bits was accepted.
        final SmmuV3Config oas40 = config(Map.of("oas", 40));
        assertInstanceOf(StreamConfig.Invalid.class, decode(oas40, s2Words(23, 0x20_0000, 2)));
        assertEquals(40, ((StreamConfig.Translate) decode(oas40, s2Words(24, 0x20_0000, 2))).s2().inputBits());
    }

    @Test
    void stage2TableBaseIsAlignedToItsTableOnly() {
        // IPA 32 bits from level 1: a 4-entry, 32-byte table. Bits [4:0] of S2TTB are ignored, bit 5 is not;
        // with 52-bit output the minimum alignment is 64 bytes (§5.2 S2TTB). Before: always 64.
        final long ttb = 0x20_0000 | 0x20 | 0x10;
        assertEquals(0x20_0020, ((StreamConfig.Translate) decode(config(Map.of()), s2Words(32, ttb, 5))).s2().ttb());
        final SmmuV3Config oas52 = config(Map.of("oas", 52));
        assertEquals(0x20_0000, ((StreamConfig.Translate) decode(oas52, s2Words(32, ttb, 6))).s2().ttb());
    }

    @Test
    void stage2TableBaseAbove48BitsIsIllegalBelow64KiBGranules() {
        // §5.2 S2TTB. Before: accepted, and the walk read outside 48 bits.
        assertInstanceOf(StreamConfig.Invalid.class, decode(config(Map.of("oas", 52)), s2Words(24, 1L << 48, 6)));
    }
    @Test
    void theStreamTableBaseIsAlignedToTheTableSize() throws GuestMemoryException {
        // §6.3.24: the low bits of STRTAB_BASE.ADDR below the table size (at least 64 bytes) are ignored. Before:
        // ADDR was used as written. Linear, 2^4 STEs = 1 KiB: 0x10_0340 means 0x10_0000.
        final SmmuV3Config c = config(Map.of());
        f.clear();
        assertEquals(BASE + 3 * 64, new StreamTable(c).locate(mem, BASE + 0x340, cfg(0, 8, 4), 3, f));
        // two levels, SPLIT 6, 2^10 StreamIDs: 16 L1 descriptors = 128 bytes, so 0x10_0040 means 0x10_0000
        mem.write64(BASE + 8, 0x20_0000 | 7);
        f.clear();
        assertEquals(0x20_0000 + 7 * 64, new StreamTable(c).locate(mem, BASE + 0x40, cfg(1, 6, 10), 0x47, f));
        // small tables still align to 64 bytes: 2 L1 descriptors at 0x10_0030 mean 0x10_0000
        f.clear();
        assertEquals(0x20_0000 + 7 * 64, new StreamTable(c).locate(mem, BASE + 0x30, cfg(1, 6, 7), 0x47, f));
    }
}
