package dev.viommu.smmuv3;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.guest.GuestMachine;
import dev.viommu.core.translate.AccessType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SmmuV3RegistersTest {
    private DirectMachine m;

    private DirectMachine machine(final Map<String, ?> props) {
        m = new DirectMachine("arm-smmuv3", props, 1L << 20);
        return m;
    }

    @AfterEach
    void close() {
        if (m != null) m.close();
    }

    @Test
    void shouldAdvertiseWhatThePropertiesAsk() {
        machine(Map.ofEntries(Map.entry("stage", "1"), Map.entry("ssidsize", 10), Map.entry("sidsize", 12),
                Map.entry("2lvl-strtab", false), Map.entry("msi", false), Map.entry("ril", false), Map.entry("httu", "af"),
                Map.entry("oas", 44), Map.entry("granules", "4k,64k"), Map.entry("pri", true), Map.entry("ats", true)));
        final long idr0 = Integer.toUnsignedLong(m.read32(0x0));
        assertEquals(2, idr0 & 3, "S1P only");
        assertEquals(2, (idr0 >>> 2) & 3, "TTF AArch64");
        assertEquals(1, (idr0 >>> 6) & 3, "HTTU AF");
        assertEquals(0, idr0 & (1 << 13), "no MSI");
        assertTrue((idr0 & (1 << 16)) != 0 && (idr0 & (1 << 10)) != 0, "PRI and ATS");
        assertEquals(0, (idr0 >>> 27) & 3, "linear stream table only");
        assertEquals(2, (idr0 >>> 21) & 3, "little-endian tables");
        final long idr1 = Integer.toUnsignedLong(m.read32(0x4));
        assertEquals(12, idr1 & 0x3F);
        assertEquals(10, (idr1 >>> 6) & 0x1F);
        assertEquals(0, idr1 >>> 28, "no PRESET/REL: Linux refuses embedded implementations");
        final int idr3 = m.read32(0xC);
        assertEquals(0, idr3 & (1 << 10), "no RIL");
        assertEquals(1 << 2, idr3 & (1 << 2), "HAD with stage 1 (mandatory from SMMUv3.1)");
        assertEquals(0, idr3 & (1 << 4), "no XNX without stage 2");
        assertEquals(1 << 5, idr3 & (1 << 5), "PPS: overflow auto-responses keep the PASID");
        final long idr5 = Integer.toUnsignedLong(m.read32(0x14));
        assertEquals(4, idr5 & 7, "OAS 44");
        assertEquals(0b101, (idr5 >>> 4) & 7, "4K and 64K granules");
    }

    @Test
    void shouldAdvertiseStageTwoExecuteNeverControlWithStageTwo() {
        machine(Map.of("stage", "2", "ssidsize", 0));
        final int idr3 = m.read32(0xC);
        assertEquals(1 << 4, idr3 & (1 << 4), "XNX: mandatory with S2P from SMMUv3.1 (IHI0070 §6.3.4)");
        assertEquals(0, idr3 & (1 << 2), "HAD is 0 without S1P");
    }

    @Test
    void architectureRevisionIsThreePointOneBecauseFwbAndBbmlAreNotOffered() {
        // IHI0070 §6.3.4: a v3.2 SMMU has IDR3.RIL = 1, FWB = 1 and BBML = 0b01/0b10. The model offers neither FWB
        // nor a BBM level, so AIDR (§6.3.8) says v3.1, with or without RIL (optional before v3.2, §4.4.1.1).
        // Before: AIDR read 0x02 (v3.2) in every configuration.
        for (final boolean ril : new boolean[] {true, false}) {
            machine(Map.of("ril", ril));
            final int idr3 = m.read32(0xC);
            assertEquals(ril ? 1 << 10 : 0, idr3 & (1 << 10), "RIL as configured");
            assertEquals(0, idr3 & (1 << 8), "no FWB");
            assertEquals(0, idr3 & (3 << 11), "no BBML");
            assertEquals(0x01, m.read32(0x1C), "AIDR: SMMUv3.1 (ArchMajorRev 0, ArchMinorRev 1), ril=" + ril);
            m.close();
            m = null;
        }
    }

    @Test
    void cr2IsReadOnlyWhileEnabledAndItsOptionalBitsAreRes0() {
        // §6.3.12: CR2 is RO once SMMUEN is set (v3.2 on: the write is ignored); E2H is RES0 without IDR0.HYP and
        // PTM without IDR0.BTM. Before: every bit was writable at any time.
        machine(Map.of());
        m.write32(0x2C, 0x7);
        assertEquals(0x2, m.read32(0x2C), "no HYP, no BTM: only RECINVSID");
        m.close();
        machine(Map.of("hyp", true, "btm", true));
        m.write32(0x2C, 0x7);
        assertEquals(0x7, m.read32(0x2C));
        m.write32(0x20, 0x1);                                  // SMMUEN
        m.write32(0x2C, 0x0);
        assertEquals(0x7, m.read32(0x2C), "ignored while SMMUEN = 1");
        m.write32(0x20, 0x0);
        m.write32(0x2C, 0x1);
        assertEquals(0x1, m.read32(0x2C), "writable again once SMMUEN = 0");
    }

    @Test
    void shouldRejectInconsistentProperties() {
        assertThrows(IllegalArgumentException.class, () -> machine(Map.of("pri", true)));
        assertThrows(IllegalArgumentException.class, () -> machine(Map.of("granules", "8k")));
        assertThrows(IllegalArgumentException.class, () -> machine(Map.of("oas", 50)));
    }

    @Test
    void shouldAcknowledgeCr0AndIrqCtrl() {
        machine(Map.of());
        m.write32(0x20, 0x8 | 0x4 | 0x1 | 0x2);   // PRIQEN without PRI is dropped
        assertEquals(0xD, m.read32(0x24));
        m.write32(0x50, 0x7);
        assertEquals(0x7, m.read32(0x54));
    }

    @Test
    void shouldApplyGbpaOnlyWithUpdateAndClearUpdate() {
        machine(Map.of());
        assertEquals(0x1000, m.read32(0x44));
        m.write32(0x44, 1 << 20);                  // no UPDATE: ignored
        assertEquals(0x1000, m.read32(0x44));
        assertTrue(m.translate(1, GuestMachine.NO_PASID, 0x1234, AccessType.READ).ok(), "SMMUEN=0, GBPA bypass");
        m.write32(0x44, (1 << 31) | (1 << 20) | 0x1000);
        assertEquals((1 << 20) | 0x1000, m.read32(0x44), "UPDATE reads back 0 once applied");
        assertFalse(m.translate(1, GuestMachine.NO_PASID, 0x1234, AccessType.READ).ok(), "SMMUEN=0, GBPA abort");
        assertFalse(m.takeInvalidations().isEmpty(), "bypass to abort is an invalidation for consumers");
    }

    @Test
    void shouldDecodePageOneAndItsPageZeroAlias() {
        machine(Map.of());
        m.write64(0xA0, 0x8000 | 4);
        m.write32(0x100A8, 3);
        assertEquals(3, m.read32(0x100A8));
        assertEquals(3, m.read32(0xA8), "page-0 alias (Cavium quirk, as QEMU)");
        m.write32(0xAC, 2);
        assertEquals(2, m.read32(0x100AC));
        assertEquals(0, m.read32(0x10020), "page 1 has no CR0");
        m.write32(0x10020, 0xF);
        assertEquals(0, m.read32(0x20));
    }

    @Test
    void shouldIgnoreStreamTableBaseWritesWhileEnabled() {
        machine(Map.of());
        m.write64(0x80, 0x4000);
        m.write32(0x20, 1);
        m.write64(0x80, 0x8000);
        assertEquals(0x4000, m.read64(0x80));
        m.write32(0x20, 0);
        m.write64(0x80, 0x8000);
        assertEquals(0x8000, m.read64(0x80));
    }

    @Test
    void shouldKeepCmdqConsErrWhenSoftwareWritesCons() {
        machine(Map.of());
        m.write64(0x90, 0xF_FFF0_0000L | 5);       // queue outside RAM
        m.write32(0x20, 0x8);
        m.write32(0x98, 1);                       // fetch aborts: CERROR_ABT
        assertEquals(2, (m.read32(0x9C) >>> 24) & 0x7F);
        assertEquals(1, m.read32(0x60) & 1, "GERROR.CMDQ_ERR toggled");
        m.write32(0x20, 0);
        m.write32(0x9C, 0);
        assertEquals(2 << 24, m.read32(0x9C), "ERR is read-only; RD written while CMDQEN=0");
    }

    @Test
    void shouldToggleGerrorAndResumeWhenGerrornMatches() {
        machine(Map.of());
        m.write64(0x90, 0x1000 | 4);
        m.write32(0x20, 0x8);
        try {
            m.memory().write64(0x1000, 0x99);     // illegal opcode
            m.memory().write64(0x1010, 0x46);     // CMD_SYNC, CS none
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        m.write32(0x98, 2);
        assertEquals(1 << 24, m.read32(0x9C), "stopped on entry 0 with CERROR_ILL");
        assertEquals(1, m.read32(0x60) ^ m.read32(0x64));
        try {
            m.memory().write64(0x1000, 0x46);     // software repairs the entry
        } catch (Exception e) {
            throw new AssertionError(e);
        }
        m.write32(0x64, m.read32(0x60));           // acknowledge: processing resumes
        assertEquals(2, m.read32(0x9C) & 0xFF);
        assertEquals(0, m.read32(0x60) ^ m.read32(0x64));
    }

    @Test
    void shouldDescribeRegistersStreamsCachesAndQueues() {
        machine(Map.of());
        m.attachEmulated("ep", 3);
        final String d = m.describe();
        for (String k : new String[] {"registers", "IDR0", "streamTable", "caches", "iotlb", "queues", "cmdq", "eventq", "priq"}) {
            assertTrue(d.contains(k), k + " in " + d);
        }
    }
}
