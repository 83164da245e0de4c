package dev.viommu.smmuv3.spec;

import dev.viommu.core.regs.BitField;

import static dev.viommu.core.regs.BitField.bit;
import static dev.viommu.core.regs.BitField.bits;

/** Event record layout, 32 bytes (IHI0070 §7.3; smmuv3.md B.8, checked against Linux EVTQ_*). */
public final class Evt {
    private Evt() {}

    public static final int SIZE = 32;

    public static final BitField ID = bits("EVT.EventID", 7, 0);
    public static final BitField SSV = bit("EVT.SSV", 11);
    public static final BitField SSID = bits("EVT.SubstreamID", 31, 12);
    public static final BitField SID = bits("EVT.StreamID", 63, 32);
    public static final BitField STAG = bits("EVT.STAG", 15, 0);
    public static final BitField STALL = bit("EVT.Stall", 31);
    public static final BitField PNU = bit("EVT.PnU", 33);
    public static final BitField IND = bit("EVT.InD", 34);
    public static final BitField RNW = bit("EVT.RnW", 35);
    public static final BitField S2 = bit("EVT.S2", 39);
    public static final BitField CLASS = bits("EVT.CLASS", 41, 40);
    public static final BitField TTRNW = bit("EVT.TTRnW", 44);
    public static final BitField IPA = bits("EVT.IPA", 51, 12);
    public static final BitField FETCH_ADDR = bits("EVT.FetchAddr", 51, 3);

    public static final int CLASS_CD = 0, CLASS_TT = 1, CLASS_IN = 2;
}
