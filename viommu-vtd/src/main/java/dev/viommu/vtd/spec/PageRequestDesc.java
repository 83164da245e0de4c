package dev.viommu.vtd.spec;

import dev.viommu.core.regs.BitField;

/** Page request descriptor written into the PRQ (32 bytes; Linux {@code struct page_req_dsc}; vtd.md A.8.1). */
public final class PageRequestDesc {
    private PageRequestDesc() {}

    public static final int SIZE = 32;
    /** Type of a page request: QEMU intel_iommu_internal.h VTD_PRD_TYPE (Linux prq.c page_req_dsc.type, 8 bits). */
    public static final int TYPE_PAGE_REQUEST = 1;
    // QW0
    public static final BitField TYPE = BitField.bits("PRD.TYPE", 7, 0);
    public static final BitField PP = BitField.bit("PRD.PP", 8);
    public static final BitField RID = BitField.bits("PRD.RID", 31, 16);
    public static final BitField PASID = BitField.bits("PRD.PASID", 51, 32);
    public static final BitField ER = BitField.bit("PRD.ER", 52);
    public static final BitField PM = BitField.bit("PRD.PM", 53);
    // QW1
    public static final BitField RD = BitField.bit("PRD.RD", 0);
    public static final BitField WR = BitField.bit("PRD.WR", 1);
    public static final BitField LPIG = BitField.bit("PRD.LPIG", 2);
    public static final BitField PRGI = BitField.bits("PRD.PRGI", 11, 3);
    public static final BitField ADDR = BitField.bits("PRD.ADDR", 63, 12);

    /** Page-group response codes (Linux QI_RESP_*). */
    public static final int RESP_SUCCESS = 0, RESP_INVALID = 1, RESP_FAILURE = 0xF;
}
