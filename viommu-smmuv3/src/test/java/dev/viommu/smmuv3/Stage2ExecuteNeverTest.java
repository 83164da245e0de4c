package dev.viommu.smmuv3;

import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.mem.GuestMemoryException;
import dev.viommu.core.translate.AccessType;
import dev.viommu.smmuv3.spec.EventId;
import dev.viommu.smmuv3.spec.Evt;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static dev.viommu.smmuv3.StreamTableTest.config;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Stage-2 XN[1:0] (descriptor bits [54:53]) with IDR3.XNX, which SMMUv3.1 and later must implement with stage 2
 * (IHI0070 §6.3.4): 00 executable at both levels, 01 unprivileged only, 10 neither, 11 privileged only (Arm ARM
 * FEAT_XNX; Linux 7.3 KVM stage2_set_xn_attr). Before, only XN[1] was read and XN[0] ignored.
 */
class Stage2ExecuteNeverTest {
    private static final long TTB = 0x10_0000, L2 = 0x10_1000, L3 = 0x10_2000;
    private static final int R = AccessType.READ, W = AccessType.WRITE, X = AccessType.EXEC, PRIV = AccessType.PRIV;

    @Test
    void executeNeverBitsSplitPrivilegedFromUnprivilegedExecute() throws GuestMemoryException {
        final GuestMemory mem = GuestMemory.anonymous(0, 4L << 20);
        mem.write64(TTB, L2 | 3);
        mem.write64(L2, L3 | 3);
        for (int xn = 0; xn < 4; xn++) {
            mem.write64(L3 + 8L * xn, 0x20_0000L + 0x1000L * xn | 3 | 3L << 6 | 1L << 10 | (long) xn << 53);
        }
        // IPA 32 bits from level 1 (four entries), 4 KiB granule, 48-bit output.
        final StreamConfig.S2 s2 = new StreamConfig.S2(1, 32, 12, 1, 48, TTB, false, false, false, false, true);
        final PageWalker w = new PageWalker(config(Map.of())).memory(mem);
        final int[] priv = {R | W | X, R | W, R | W, R | W | X}, unpriv = {R | W | X, R | W | X, R | W, R | W};
        for (int xn = 0; xn < 4; xn++) {
            final FaultRecord f = new FaultRecord();
            assertEquals(0x20_0000L + 0x1000L * xn, w.stage2(s2, 0x1000L * xn, R, Evt.CLASS_IN, f));
            assertEquals(priv[xn], w.permsPriv, "privileged, XN " + xn);
            assertEquals(unpriv[xn], w.permsUnpriv, "unprivileged, XN " + xn);
        }
        final FaultRecord f = new FaultRecord();
        assertEquals(-1, w.stage2(s2, 0x1000, X | PRIV, Evt.CLASS_IN, f), "XN 01: privileged execute faults");
        assertEquals(EventId.F_PERMISSION, f.eventId);
        assertEquals(0x20_1000, new PageWalker(config(Map.of())).memory(mem).stage2(s2, 0x1000, X, Evt.CLASS_IN,
                new FaultRecord()), "XN 01: unprivileged execute passes");
    }
}
