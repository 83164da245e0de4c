package dev.viommu.smmuv3;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.translate.AccessType;
import dev.viommu.smmuv3.spec.EventId;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static dev.viommu.core.guest.GuestMachine.NO_PASID;

import static dev.viommu.smmuv3.StreamTableTest.config;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Context descriptor checks that IHI0070 §5.4 and §5.5 make ILLEGAL (C_BAD_CD), and the TTB0 alignment rule. */
class CdDecoderTest {
    /** A valid CD dword 0: T0SZ {@code t0sz}, 4 KiB, EPD1, V, IPS {@code ips}, AA64, R, A, ASET, ASID 1. */
    private static long d0(final int t0sz, final int ips) {
        return t0sz | 1L << 30 | 1L << 31 | (long) ips << 32 | 1L << 41 | 1L << 45 | 1L << 46 | 1L << 47 | 1L << 48;
    }

    private static CdConfig decode(final Map<String, ?> props, final long d0, final long ttb0, final boolean s1StallD) {
        return new CdDecoder(config(props)).decode(d0, ttb0, 0, s1StallD, StreamWorld.NS_EL1);
    }

    @Test
    void abortFlagIsRequiredWithTerminateModelOne() {
        // IDR0.TERM_MODEL = 1: CD.A = 0 is ILLEGAL (§5.5; QEMU decode_cd agrees). Before: A was ignored.
        assertNotNull(decode(Map.of(), d0(16, 5), 0x1000, false));
        assertNull(decode(Map.of(), d0(16, 5) & ~(1L << 46), 0x1000, false));
    }

    @Test
    void stallBitMustMatchTheStallModel() {
        final long s = d0(16, 5) | 1L << 44;
        assertNull(decode(Map.of("stall", "terminate"), s, 0x1000, false), "terminate-only: S = 1");
        assertNull(decode(Map.of("stall", "force"), d0(16, 5), 0x1000, false), "forced: S = 0 (before: accepted)");
        assertNotNull(decode(Map.of("stall", "force"), s, 0x1000, false));
        assertNull(decode(Map.of("stall", "stall"), s, 0x1000, true), "S = 1 under S1STALLD (before: no stall)");
        assertNotNull(decode(Map.of("stall", "stall"), s, 0x1000, false));
    }

    @Test
    void tableBaseOutsideTheOutputSizeIsIllegal() {
        // §5.4 TTB0: ILLEGAL outside the effective IPS. Before: accepted, then F_ADDR_SIZE on every walk.
        assertNull(decode(Map.of(), d0(16, 0), 1L << 33, false));
        assertNotNull(decode(Map.of(), d0(16, 1), 1L << 33, false));
    }

    @Test
    void smallStartTableKeepsTheBaseBitsAboveItsSize() {
        // T0SZ 33 (31-bit VA) with 4 KiB: level 1 start with two entries, a 16-byte table. Bits [3:0] are zero,
        // bits above are used; 52-bit IPS imposes 64 bytes (§5.4 TTB0). Before: always aligned to 64 bytes.
        assertEquals(0x2030, decode(Map.of(), d0(33, 5), 0x2030, false).tt0().ttb());
        assertEquals(0x2000, decode(Map.of("oas", 52), d0(33, 6), 0x2030, false).tt0().ttb());
    }

    @Test
    void translationSizeOutsideTheArchitectedRangeIsIllegal() {
        // SMMUv3.1 and later: TxSZ outside [16, 39] (no VAX, no STT) is ILLEGAL, not clamped (§5.4 T0SZ).
        assertNull(decode(Map.of(), d0(15, 5), 0x1000, false));
        assertNull(decode(Map.of(), d0(40, 5), 0x1000, false));
        assertNotNull(decode(Map.of(), d0(39, 5), 0x1000, false));
    }

    @Test
    void reservedIpsBehavesAsTheOutputSize() {
        // IPS 0b111 behaves as 0b110 in SMMUv3.1–3.3, then the cap at OAS applies (§5.4 IPS).
        assertEquals(48, decode(Map.of(), d0(16, 7), 0x1000, false).ipsBits());
    }

    @Test
    void hardwareUpdateFlagsBeyondTheAdvertisedHttuMakeTheCdIllegal() {
        // §5.4 HA and CdIllegal (§5.4.2): HA with IDR0.HTTU = 0b00, HD with HTTU = 0b00 or 0b01, are ILLEGAL.
        // Before: both were silently ignored and the CD walked without hardware updates.
        final long ha = d0(16, 5) | 1L << 43, hd = d0(16, 5) | 1L << 42;
        assertNull(decode(Map.of("httu", "none"), ha, 0x1000, false), "HA without HTTU");
        assertNull(decode(Map.of("httu", "none"), hd, 0x1000, false), "HD without HTTU");
        assertNull(decode(Map.of("httu", "af"), ha | hd, 0x1000, false), "HD with access-flag-only HTTU");
        assertTrue(decode(Map.of("httu", "af"), ha, 0x1000, false).ha());
        final CdConfig both = decode(Map.of("httu", "af-dirty"), ha | hd, 0x1000, false);
        assertTrue(both.ha() && both.hd());
        // {HD, HA} = 0b10 where HD is legal is reserved and behaves as 0b00.
        final CdConfig reserved = decode(Map.of("httu", "af-dirty"), hd, 0x1000, false);
        assertFalse(reserved.ha() || reserved.hd());
    }

    private static CdConfig decodeIn(final int world, final long d0, final long d2) {
        return new CdDecoder(config(Map.of("hyp", true))).decode(d0, 0x1000, d2, false, world);
    }

    @Test
    void endiannessIsIgnoredWhenBothTableWalksAreDisabled() {
        // §5.4 ENDI: IGNORED when the effective EPD0 and EPD1 are both 1; otherwise ENDI = 1 is ILLEGAL with
        // IDR0.TTENDIAN = 0b10. Before: ENDI = 1 always gave C_BAD_CD, even for a CD that walks nothing (Linux's
        // "fault everything" SVA CD has EPD0 = EPD1 = 1, and ENDI on a big-endian kernel).
        final long endi = 1L << 15, epd0 = 1L << 14;
        final CdConfig noWalks = decode(Map.of(), d0(16, 5) | epd0 | endi, 0x1000, false);
        assertNotNull(noWalks, "EPD0 = EPD1 = 1: ENDI IGNORED");
        assertNull(noWalks.tt0());
        assertNull(noWalks.tt1());
        assertNull(decode(Map.of(), d0(16, 5) | endi, 0x1000, false), "EPD1 only: TTB0 is walked, ENDI checked");
        assertNull(decodeIn(StreamWorld.NS_EL2, d0(16, 5) | epd0 | endi, 0x2000),
                "StreamWorld EL2: EPDx IGNORED, effective 0, so ENDI is checked");
        assertNotNull(decodeIn(StreamWorld.NS_EL2_E2H, d0(16, 5) | epd0 | endi, 0x2000), "EL2-E2H honours EPDx");
    }

    @Test
    void transactionThroughACdWithBothWalksDisabledAndEndiSetIsATranslationFault() {
        // The guest-visible side of §5.4 ENDI: EPD0 = EPD1 = 1 makes every address a Translation fault (§5.4 EPD0).
        // Before: C_BAD_CD.
        final DirectMachine m = new DirectMachine("arm-smmuv3", Map.of(), 48L << 20);
        try {
            final SmmuV3TestGuest d = new SmmuV3TestGuest(m, 1L << 20);
            d.hwProbe();
            d.initStructures();
            d.deviceReset();
            m.attachEmulated("ep", 1);
            final long[] cd = SmmuV3TestGuest.s1Cd(1, 0, 12, 5, false, false);
            cd[0] |= 1L << 14 | 1L << 15;                                       // EPD0 (EPD1 already), ENDI
            final long cdAddr = d.alloc(64, 64);
            assertTrue(d.installCd(cdAddr, 1, 0, cd));
            assertTrue(d.installSte(1, SmmuV3TestGuest.s1Ste(cdAddr, 0, 0, 0)));
            assertEquals(EventId.F_TRANSLATION, m.translate(1, NO_PASID, 0x1000, AccessType.READ).faultCode());
            assertEquals(List.of(EventId.F_TRANSLATION), d.evtqThread().stream().map(e -> (int) (e[0] & 0xFF)).toList());
        } finally {
            m.close();
        }
    }

    @Test
    void el2StreamWorldHasOneRangeThroughTtb0() {
        // §5.4 EPD0: EPD0/EPD1 are IGNORED (effective 0) for StreamWorld EL2; §5.4.1: TTB1 is unreachable and
        // T1SZ, TG1, TTB1, TBI1, HAD1 are RES0. EPD0 = 1 still walks TTB0; an unusable TTB1 half (T1SZ = 0, TG1
        // reserved) with EPD1 = 0 is not ILLEGAL there, as it is at EL1 and EL2-E2H. Before: EL2 was EL1's CD.
        final long d0 = (d0(16, 5) | 1L << 14 | 1L << 39) & ~(1L << 30);   // EPD0, TBI1, EPD1 = 0
        final CdConfig el2 = decodeIn(StreamWorld.NS_EL2, d0, 0x2000);
        assertNotNull(el2.tt0(), "EPD0 ignored");
        assertNull(el2.tt1(), "TTB1 unreachable");
        assertFalse(el2.tbi1());
        assertNull(decodeIn(StreamWorld.NS_EL2_E2H, d0, 0x2000), "EL2-E2H checks the TTB1 half");
        assertNull(decodeIn(StreamWorld.NS_EL1, d0, 0x2000), "EL1 checks the TTB1 half");
        final long twoRanges = d0 | 16L << 16 | 2L << 22;                   // T1SZ 16, TG1 4 KiB
        final CdConfig e2h = decodeIn(StreamWorld.NS_EL2_E2H, twoRanges, 0x2000);
        assertNull(e2h.tt0(), "EPD0 honoured with E2H");
        assertEquals(0x2000, e2h.tt1().ttb());
    }
}
