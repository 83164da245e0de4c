package dev.viommu.smmuv3.spec;

import dev.viommu.core.regs.BitField;

import static dev.viommu.core.regs.BitField.bit;
import static dev.viommu.core.regs.BitField.bits;

/** PRI queue entry, 16 bytes (IHI0070 §8; smmuv3.md B.9, checked against Linux PRIQ_*), and PRI_RESP codes. */
public final class Priq {
    private Priq() {}

    public static final int SIZE = 16;

    public static final BitField SID = bits("PRIQ.StreamID", 31, 0);
    public static final BitField SSID = bits("PRIQ.SubstreamID", 51, 32);
    public static final BitField PRIV = bit("PRIQ.Priv", 58);
    public static final BitField EXEC = bit("PRIQ.Exec", 59);
    public static final BitField READ = bit("PRIQ.Read", 60);
    public static final BitField WRITE = bit("PRIQ.Write", 61);
    public static final BitField LAST = bit("PRIQ.Last", 62);
    public static final BitField SSV = bit("PRIQ.SSV", 63);
    public static final BitField PRG_INDEX = bits("PRIQ.PRGIndex", 8, 0);
    public static final BitField ADDR = bits("PRIQ.Address", 63, 12);

    public static final int RESP_DENY = 0, RESP_FAIL = 1, RESP_SUCCESS = 2;
}
