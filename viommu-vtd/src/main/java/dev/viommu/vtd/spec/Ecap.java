package dev.viommu.vtd.spec;

import dev.viommu.core.regs.BitField;

/** ECAP register fields (offset 0x010; vtd.md A.3). */
public final class Ecap {
    private Ecap() {}

    public static final BitField C = BitField.bit("ECAP.C", 0);
    public static final BitField QI = BitField.bit("ECAP.QI", 1);
    public static final BitField DT = BitField.bit("ECAP.DT", 2);
    public static final BitField IR = BitField.bit("ECAP.IR", 3);
    public static final BitField EIM = BitField.bit("ECAP.EIM", 4);
    public static final BitField PT = BitField.bit("ECAP.PT", 6);
    public static final BitField SC = BitField.bit("ECAP.SC", 7);
    public static final BitField IRO = BitField.bits("ECAP.IRO", 17, 8);
    public static final BitField MHMV = BitField.bits("ECAP.MHMV", 23, 20);
    public static final BitField NEST = BitField.bit("ECAP.NEST", 26);
    public static final BitField PRS = BitField.bit("ECAP.PRS", 29);
    public static final BitField SRS = BitField.bit("ECAP.SRS", 31);
    public static final BitField PSS = BitField.bits("ECAP.PSS", 39, 35);
    public static final BitField PASID = BitField.bit("ECAP.PASID", 40);
    public static final BitField PDS = BitField.bit("ECAP.PDS", 42);
    public static final BitField SMTS = BitField.bit("ECAP.SMTS", 43);
    public static final BitField SSADS = BitField.bit("ECAP.SSADS", 45);
    public static final BitField SSTS = BitField.bit("ECAP.SSTS", 46);
    public static final BitField FSTS = BitField.bit("ECAP.FSTS", 47);
    public static final BitField SMPWCS = BitField.bit("ECAP.SMPWCS", 48);
}
