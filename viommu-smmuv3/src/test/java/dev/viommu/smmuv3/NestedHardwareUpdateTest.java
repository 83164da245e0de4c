package dev.viommu.smmuv3;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.core.translate.AccessType;
import dev.viommu.core.translate.TranslationService;
import dev.viommu.smmuv3.spec.EventId;
import dev.viommu.smmuv3.spec.Evt;
import dev.viommu.smmuv3.spec.Pte;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.viommu.smmuv3.StreamTableTest.config;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A hardware Access-flag or dirty-state update of a stage-1 descriptor in a nested walk is a write, made through
 * stage 2 (IHI0070 §3.13.5: "the stage 2 mapping for its IPA must allow writes for the update to succeed"; Arm
 * ARM AArch64.S1Translate translates the update with CreateAccDescTTEUpdate). Without stage-2 write permission
 * it is a stage-2 Permission fault with CLASS = TT, TTRnW = 0 and IPA = the stage-1 descriptor's address, even
 * for an input read (§7.3.16). Before, the update was written through a read-only stage-2 mapping.
 */
class NestedHardwareUpdateTest {
    private static final long S2_ROOT = 0x10_0000, S1_L2 = 0x20_0000, S1_L3 = 0x20_1000, PAGE = 0x30_0000;
    private static final long VA = 0x1000, LEAF = S1_L3 + 8;   // the L3 entry of VA
    /** 4 KiB granule, 30-bit VA from level 2, 48-bit IPS, HA (and HD when asked). */
    private static CdConfig cd(final boolean hd) {
        return new CdConfig(1, new CdConfig.Tt(30, 12, 2, S1_L2, false), null, 48, false, true, hd, false, false,
                false, false, true, false);
    }

    /** Stage 2: 4 KiB granule, 39-bit IPA from level 1; IPA [0, 1 GiB) is one identity block. */
    private static StreamConfig.S2 s2(final boolean hd) {
        return new StreamConfig.S2(1, 39, 12, 1, 48, S2_ROOT, false, true, hd, false, true);
    }

    private final GuestMemory mem = GuestMemory.anonymous(0, 4L << 20);

    /** The identity block with {@code s2ap} (bit 0 read, bit 1 write), and a stage-1 page whose AF is clear. */
    private void tables(final int s2ap, final boolean dbm, final long s1LeafExtra) throws GuestMemoryException {
        mem.write64(S2_ROOT, 1 | Pte.AF.mask() | (long) s2ap << 6 | (dbm ? Pte.DBM.mask() : 0));
        mem.write64(S1_L2, S1_L3 | 3);
        mem.write64(LEAF, PAGE | 3 | Pte.AP1.mask() | s1LeafExtra);
    }

    @Test
    void accessFlagUpdateThroughReadOnlyStageTwoIsAStageTwoWritePermissionFault() throws GuestMemoryException {
        tables(0b01, false, 0);
        final FaultRecord f = new FaultRecord().reset(7, TranslationService.NO_PASID, VA, AccessType.READ);
        final PageWalker w = new PageWalker(config(Map.of())).memory(mem);
        assertEquals(-1, w.stage1(cd(false), false, s2(false), VA, AccessType.READ, f));
        assertEquals(EventId.F_PERMISSION, f.eventId);
        assertTrue(f.s2, "stage 2");
        assertEquals(Evt.CLASS_TT, f.clazz);
        assertFalse(f.ttrnw, "TTRnW = 0: a descriptor write faulted");
        assertEquals(LEAF, f.ipa, "IPA: the stage-1 descriptor");
        final long dw1 = f.dw1();
        assertEquals(Evt.CLASS_TT, Evt.CLASS.get(dw1));
        assertTrue(Evt.S2.isSet(dw1));
        assertFalse(Evt.TTRNW.isSet(dw1));
        assertTrue(Evt.RNW.isSet(dw1), "the input transaction was a read");
        assertEquals(Evt.IPA.raw(LEAF), f.dw3());
        assertFalse(Pte.AF.isSet(mem.read64(LEAF)), "no update through a read-only stage 2");
    }

    @Test
    void accessFlagUpdateThroughWritableStageTwoSucceeds() throws GuestMemoryException {
        tables(0b11, false, 0);
        final FaultRecord f = new FaultRecord();
        final PageWalker w = new PageWalker(config(Map.of())).memory(mem);
        assertEquals(PAGE, w.stage1(cd(false), false, s2(false), VA, AccessType.READ, f));
        assertTrue(Pte.AF.isSet(mem.read64(LEAF)));
        assertEquals(1, w.httuUpdates);
    }

    @Test
    void readOnlyStageTwoStillServesWalksThatUpdateNothing() throws GuestMemoryException {
        tables(0b01, false, Pte.AF.mask());
        final PageWalker w = new PageWalker(config(Map.of())).memory(mem);
        assertEquals(PAGE, w.stage1(cd(false), false, s2(false), VA, AccessType.READ, new FaultRecord()));
        assertEquals(0, w.httuUpdates);
    }

    @Test
    void stageOneDirtyUpdateMarksAWritableCleanStageTwoMappingDirty() throws GuestMemoryException {
        // Stage 2 writable-clean (S2AP = 0b01 with DBM) and S2HD: the stage-1 update is a stage-2 write, so it
        // makes the stage-2 block dirty (S2AP[1] = 1) as any write would (§3.13.3), then clears the stage-1
        // descriptor's AP[2] (writable-clean page being written).
        tables(0b01, true, Pte.AP2.mask() | Pte.DBM.mask());
        final PageWalker w = new PageWalker(config(Map.of())).memory(mem);
        assertEquals(PAGE, w.stage1(cd(true), false, s2(true), VA, AccessType.WRITE, new FaultRecord()));
        assertTrue(Pte.S2AP_W.isSet(mem.read64(S2_ROOT)), "stage-2 block dirtied by the descriptor write");
        final long leaf = mem.read64(LEAF);
        assertTrue(Pte.AF.isSet(leaf));
        assertFalse(Pte.AP2.isSet(leaf), "stage-1 page dirty");
        final FaultRecord f = new FaultRecord();
        tables(0b01, true, Pte.AP2.mask() | Pte.DBM.mask());
        assertEquals(-1, new PageWalker(config(Map.of())).memory(mem).stage1(cd(true), false, s2(false), VA,
                AccessType.WRITE, f), "without S2HD the writable-clean stage 2 refuses the update");
        assertEquals(EventId.F_PERMISSION, f.eventId);
        assertFalse(f.ttrnw);
    }
}
