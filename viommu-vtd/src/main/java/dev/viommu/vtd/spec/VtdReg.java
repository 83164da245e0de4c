package dev.viommu.vtd.spec;

import dev.viommu.core.regs.Access;
import dev.viommu.core.regs.BitField;
import dev.viommu.core.regs.Field;
import dev.viommu.core.regs.Register;
import dev.viommu.core.regs.RegisterDef;

import static dev.viommu.core.regs.Access.RO;
import static dev.viommu.core.regs.Access.RW;
import static dev.viommu.core.regs.Access.RW1C;
import static dev.viommu.core.regs.Access.WO;

/**
 * The register file of one remapping unit (VT-d spec chapter 11; vtd.md A.1). The IOTLB pair sits at
 * ECAP.IRO = 0x0F (0xF0/0xF8) and the fault recording registers at CAP.FRO = 0x22 (0x220), as in QEMU. The fault
 * recording registers are not here: their count is a property (see {@code FaultRecorder}).
 */
public enum VtdReg implements RegisterDef {
    VER(Register.of("VER", 0x000, 4, 0, f("MAX", 7, 4, RO), f("MIN", 3, 0, RO))),
    CAP(Register.whole("CAP", 0x008, 8, 0, RO)),
    ECAP(Register.whole("ECAP", 0x010, 8, 0, RO)),
    GCMD(Register.of("GCMD", 0x018, 4, 0, f("GCMD", 31, 23, WO))),
    GSTS(Register.of("GSTS", 0x01C, 4, 0, f("GSTS", 31, 23, RO))),
    RTADDR(Register.of("RTADDR", 0x020, 8, 0, f("RTA", 63, 12, RW), f("TTM", 11, 10, RW))),
    CCMD(Register.of("CCMD", 0x028, 8, 0, b("ICC", 63, RW), f("CIRG", 62, 61, RW), f("CAIG", 60, 59, RO),
            f("FM", 33, 32, RW), f("SID", 31, 16, RW), f("DID", 15, 0, RW))),
    FSTS(Register.of("FSTS", 0x034, 4, 0, f("FRI", 15, 8, RO), b("ITE", 6, RW1C), b("ICE", 5, RW1C),
            b("IQE", 4, RW1C), b("PPF", 1, RO), b("PFO", 0, RW1C))),
    FECTL(Register.of("FECTL", 0x038, 4, 0x8000_0000L, b("IM", 31, RW), b("IP", 30, RO))),
    FEDATA(Register.whole("FEDATA", 0x03C, 4, 0, RW)),
    FEADDR(Register.of("FEADDR", 0x040, 4, 0, f("MA", 31, 2, RW))),
    FEUADDR(Register.whole("FEUADDR", 0x044, 4, 0, RW)),
    IQH(Register.of("IQH", 0x080, 8, 0, f("QH", 18, 4, RO))),
    IQT(Register.of("IQT", 0x088, 8, 0, f("QT", 18, 4, RW))),
    IQA(Register.of("IQA", 0x090, 8, 0, f("IQA", 63, 12, RW), b("DW", 11, RW), f("QS", 2, 0, RW))),
    ICS(Register.of("ICS", 0x09C, 4, 0, b("IWC", 0, RW1C))),
    IECTL(Register.of("IECTL", 0x0A0, 4, 0x8000_0000L, b("IM", 31, RW), b("IP", 30, RO))),
    IEDATA(Register.whole("IEDATA", 0x0A4, 4, 0, RW)),
    IEADDR(Register.of("IEADDR", 0x0A8, 4, 0, f("MA", 31, 2, RW))),
    IEUADDR(Register.whole("IEUADDR", 0x0AC, 4, 0, RW)),
    IQERCD(Register.of("IQERCD", 0x0B0, 8, 0, f("ICESID", 63, 48, RO), f("ITESID", 47, 32, RO), f("IQEI", 3, 0, RO))),
    IRTA(Register.of("IRTA", 0x0B8, 8, 0, f("IRTA", 63, 12, RW), b("EIME", 11, RW), f("S", 3, 0, RW))),
    PQH(Register.of("PQH", 0x0C0, 8, 0, f("PQH", 18, 5, RW))),
    PQT(Register.of("PQT", 0x0C8, 8, 0, f("PQT", 18, 5, RW))),
    PQA(Register.of("PQA", 0x0D0, 8, 0, f("PQA", 63, 12, RW), f("PQS", 2, 0, RW))),
    PRS(Register.of("PRS", 0x0DC, 4, 0, b("PRO", 1, RW1C), b("PPR", 0, RW1C))),
    PECTL(Register.of("PECTL", 0x0E0, 4, 0x8000_0000L, b("IM", 31, RW), b("IP", 30, RO))),
    PEDATA(Register.whole("PEDATA", 0x0E4, 4, 0, RW)),
    PEADDR(Register.of("PEADDR", 0x0E8, 4, 0, f("MA", 31, 2, RW))),
    PEUADDR(Register.whole("PEUADDR", 0x0EC, 4, 0, RW)),
    /** Register-based IOTLB invalidation address, at ECAP.IRO × 16. */
    IVA(Register.of("IVA", 0x0F0, 8, 0, f("ADDR", 63, 12, WO), b("IH", 6, WO), f("AM", 5, 0, WO))),
    IOTLB(Register.of("IOTLB", 0x0F8, 8, 0, b("IVT", 63, RW), f("IIRG", 61, 60, RW), f("IAIG", 58, 57, RO),
            b("DR", 49, RW), b("DW", 48, RW), f("DID", 47, 32, RW)));

    /** ECAP.IRO: the IOTLB registers' offset / 16. */
    public static final int IRO = 0x0F;
    /** CAP.FRO: the first fault recording register's offset / 16. */
    public static final int FRO = 0x22;
    /** The size of the remapping unit's register page (MMIO region 0). */
    public static final int REGION_SIZE = 0x1000;

    private final Register spec;

    VtdReg(final Register spec) { this.spec = spec; }

    @Override public Register spec() { return spec; }

    private static Field f(final String n, final int msb, final int lsb, final Access a) { return Field.of(n, msb, lsb, a); }

    private static Field b(final String n, final int bit, final Access a) { return Field.bit(n, bit, a); }

    // ---- GCMD / GSTS bits (same positions) ----
    public static final long TE = 1L << 31, SRTP = 1L << 30, SFL = 1L << 29, EAFL = 1L << 28, WBF = 1L << 27,
            QIE = 1L << 26, IRE = 1L << 25, SIRTP = 1L << 24, CFI = 1L << 23;
    /** GCMD bits that are persistent enables (the rest are one-shot commands). */
    public static final long GCMD_PERSISTENT = TE | EAFL | QIE | IRE | CFI;

    // ---- field views used by the device ----
    public static final BitField RTADDR_RTA = BitField.bits("RTADDR.RTA", 63, 12);
    public static final BitField RTADDR_TTM = BitField.bits("RTADDR.TTM", 11, 10);
    public static final BitField CCMD_ICC = BitField.bit("CCMD.ICC", 63);
    public static final BitField CCMD_CIRG = BitField.bits("CCMD.CIRG", 62, 61);
    public static final BitField CCMD_CAIG = BitField.bits("CCMD.CAIG", 60, 59);
    public static final BitField CCMD_FM = BitField.bits("CCMD.FM", 33, 32);
    public static final BitField CCMD_SID = BitField.bits("CCMD.SID", 31, 16);
    public static final BitField CCMD_DID = BitField.bits("CCMD.DID", 15, 0);
    public static final long FSTS_PFO = 1, FSTS_PPF = 2, FSTS_IQE = 1 << 4, FSTS_ICE = 1 << 5, FSTS_ITE = 1 << 6;
    public static final BitField FSTS_FRI = BitField.bits("FSTS.FRI", 15, 8);
    public static final long CTL_IM = 1L << 31, CTL_IP = 1L << 30;
    public static final BitField IQ_PTR = BitField.bits("IQH/IQT", 18, 4);
    public static final BitField IQA_BASE = BitField.bits("IQA.IQA", 63, 12);
    public static final BitField IQA_DW = BitField.bit("IQA.DW", 11);
    public static final BitField IQA_QS = BitField.bits("IQA.QS", 2, 0);
    public static final long ICS_IWC = 1;
    public static final BitField IQERCD_IQEI = BitField.bits("IQERCD.IQEI", 3, 0);
    public static final BitField IRTA_BASE = BitField.bits("IRTA.IRTA", 63, 12);
    public static final BitField IRTA_EIME = BitField.bit("IRTA.EIME", 11);
    public static final BitField IRTA_S = BitField.bits("IRTA.S", 3, 0);
    public static final BitField PQ_PTR = BitField.bits("PQH/PQT", 18, 5);
    public static final BitField PQA_BASE = BitField.bits("PQA.PQA", 63, 12);
    public static final BitField PQA_PQS = BitField.bits("PQA.PQS", 2, 0);
    public static final long PRS_PPR = 1, PRS_PRO = 2;
    public static final BitField IVA_ADDR = BitField.bits("IVA.ADDR", 63, 12);
    public static final BitField IVA_IH = BitField.bit("IVA.IH", 6);
    public static final BitField IVA_AM = BitField.bits("IVA.AM", 5, 0);
    public static final BitField IOTLB_IVT = BitField.bit("IOTLB.IVT", 63);
    public static final BitField IOTLB_IIRG = BitField.bits("IOTLB.IIRG", 61, 60);
    public static final BitField IOTLB_IAIG = BitField.bits("IOTLB.IAIG", 58, 57);
    public static final BitField IOTLB_DID = BitField.bits("IOTLB.DID", 47, 32);

    /**
     * IQERCD.IQEI codes (vtd.md A.6.3). 0-5 as Intel's 14th-gen Core register reference (IQERCD_REG). 6 (tail not
     * 256-bit aligned) and 7 (invalid TTM) ⚠: only VirtualBox, whose header and DevIommuIntel are one source.
     */
    public static final int IQEI_NONE = 0, IQEI_TAIL = 1, IQEI_FETCH = 2, IQEI_TYPE = 3, IQEI_RSVD = 4,
            IQEI_WIDTH = 5, IQEI_TAIL_ALIGN = 6, IQEI_TTM = 7;
}
