package dev.viommu.smmuv3.spec;

import dev.viommu.core.regs.BitField;

import static dev.viommu.core.regs.BitField.bit;
import static dev.viommu.core.regs.BitField.bits;

/**
 * Command queue entry layout, 16 bytes (IHI0070 §4; smmuv3.md B.6, checked against Linux CMDQ_*), opcodes
 * and CMDQ_CONS.ERR codes. Fields are named {@code <group>_<dword>_<name>}.
 */
public final class Cmd {
    private Cmd() {}

    public static final int SIZE = 16;

    public static final BitField OPCODE = bits("CMD.Opcode", 7, 0);
    public static final BitField SSEC = bit("CMD.SSec", 10);
    public static final BitField SSV = bit("CMD.SSV", 11);
    public static final BitField SSID = bits("CMD.SubstreamID", 31, 12);
    public static final BitField SID = bits("CMD.StreamID", 63, 32);

    public static final BitField PREFETCH_SIZE = bits("PREFETCH.Size", 4, 0);
    public static final BitField PREFETCH_ADDR = bits("PREFETCH.Addr", 63, 12);

    public static final BitField CFGI_LEAF = bit("CFGI.Leaf", 0);
    public static final BitField CFGI_RANGE = bits("CFGI.Range", 4, 0);

    public static final BitField TLBI_NUM = bits("TLBI.NUM", 16, 12);
    public static final BitField TLBI_SCALE = bits("TLBI.SCALE", 24, 20);
    public static final BitField TLBI_VMID = bits("TLBI.VMID", 47, 32);
    public static final BitField TLBI_ASID = bits("TLBI.ASID", 63, 48);
    public static final BitField TLBI_LEAF = bit("TLBI.Leaf", 0);
    public static final BitField TLBI_TTL = bits("TLBI.TTL", 9, 8);
    public static final BitField TLBI_TG = bits("TLBI.TG", 11, 10);
    /** TLBI.TG values (§4.4.1.1): 0 = no range and no hint; the granule of the entries otherwise. */
    public static final int TLBI_TG_4K = 1, TLBI_TG_16K = 2, TLBI_TG_64K = 3;
    public static final BitField TLBI_ADDR = bits("TLBI.Address", 63, 12);
    public static final BitField TLBI_IPA = bits("TLBI.IPA", 51, 12);

    public static final BitField ATC_GLOBAL = bit("ATC_INV.Global", 9);
    public static final BitField ATC_SIZE = bits("ATC_INV.Size", 5, 0);
    public static final BitField ATC_ADDR = bits("ATC_INV.Address", 63, 12);

    public static final BitField PRI_PRGINDEX = bits("PRI_RESP.PRGIndex", 8, 0);
    public static final BitField PRI_RESP = bits("PRI_RESP.Resp", 13, 12);

    public static final BitField RESUME_ACTION = bits("RESUME.Action", 13, 12);
    public static final BitField RESUME_STAG = bits("RESUME.STAG", 15, 0);

    public static final BitField SYNC_CS = bits("CMD_SYNC.CS", 13, 12);
    public static final BitField SYNC_MSH = bits("CMD_SYNC.MSH", 23, 22);
    public static final BitField SYNC_MSIATTR = bits("CMD_SYNC.MSIAttr", 27, 24);
    public static final BitField SYNC_MSIDATA = bits("CMD_SYNC.MSIData", 63, 32);
    public static final BitField SYNC_MSIADDR = bits("CMD_SYNC.MSIAddress", 51, 2);

    public static final int CS_NONE = 0, CS_IRQ = 1, CS_SEV = 2;

    // Opcodes
    public static final int PREFETCH_CONFIG = 0x01;
    public static final int PREFETCH_ADDR_OP = 0x02;
    public static final int CFGI_STE = 0x03;
    /** CFGI_STE_RANGE; with Range = 31 it is CFGI_ALL (Linux CMDQ_OP_CFGI_ALL). */
    public static final int CFGI_STE_RANGE = 0x04;
    public static final int CFGI_CD = 0x05;
    public static final int CFGI_CD_ALL = 0x06;
    public static final int TLBI_NH_ALL = 0x10;
    public static final int TLBI_NH_ASID = 0x11;
    public static final int TLBI_NH_VA = 0x12;
    public static final int TLBI_NH_VAA = 0x13;
    public static final int TLBI_EL3_ALL = 0x18;
    public static final int TLBI_EL3_VA = 0x1A;
    public static final int TLBI_EL2_ALL = 0x20;
    public static final int TLBI_EL2_ASID = 0x21;
    public static final int TLBI_EL2_VA = 0x22;
    public static final int TLBI_EL2_VAA = 0x23;
    public static final int TLBI_S12_VMALL = 0x28;
    public static final int TLBI_S2_IPA = 0x2A;
    public static final int TLBI_NSNH_ALL = 0x30;
    public static final int ATC_INV = 0x40;
    public static final int PRI_RESP_OP = 0x41;
    public static final int RESUME = 0x44;
    public static final int STALL_TERM = 0x45;
    public static final int CMD_SYNC = 0x46;

    // CMDQ_CONS.ERR
    public static final int CERROR_NONE = 0;
    public static final int CERROR_ILL = 1;
    public static final int CERROR_ABT = 2;
    public static final int CERROR_ATC_INV_SYNC = 3;
    public static final BitField CONS_ERR = bits("CMDQ_CONS.ERR", 30, 24);
}
