package dev.viommu.smmuv3.spec;

import dev.viommu.core.regs.Access;
import dev.viommu.core.regs.Field;
import dev.viommu.core.regs.Register;
import dev.viommu.core.regs.RegisterDef;

import static dev.viommu.core.regs.Access.RO;
import static dev.viommu.core.regs.Access.RW;

/**
 * The non-secure SMMUv3 register map (IHI0070 §6.3; reference smmuv3.md B.1). Page 1 (base + 0x10000) holds the
 * EVENTQ/PRIQ PROD/CONS registers; the device also accepts them at their page-0 aliases (the Cavium "page0 only"
 * quirk Linux supports, and what QEMU does), so they are declared once here at their page-0 offsets.
 * <p>
 * Side effects (CR0 to CR0ACK, GBPA's UPDATE handshake, CMDQ_PROD kicking the queue) live in the device.
 * Fields marked RW here may still be refused by the device while the matching enable bit is set.
 */
public enum SmmuReg implements RegisterDef {
    IDR0(Register.whole("IDR0", 0x000, 4, 0, RO)),
    IDR1(Register.whole("IDR1", 0x004, 4, 0, RO)),
    IDR2(Register.whole("IDR2", 0x008, 4, 0, RO)),
    IDR3(Register.whole("IDR3", 0x00C, 4, 0, RO)),
    IDR4(Register.whole("IDR4", 0x010, 4, 0, RO)),
    IDR5(Register.whole("IDR5", 0x014, 4, 0, RO)),
    IIDR(Register.whole("IIDR", 0x018, 4, 0, RO)),
    AIDR(Register.whole("AIDR", 0x01C, 4, 0, RO)),
    CR0(Register.of("CR0", 0x020, 4, 0, f("SMMUEN", 0, 0, RW), f("PRIQEN", 1, 1, RW), f("EVENTQEN", 2, 2, RW),
            f("CMDQEN", 3, 3, RW), f("ATSCHK", 4, 4, RW))),
    CR0ACK(Register.of("CR0ACK", 0x024, 4, 0, f("ACK", 4, 0, RO))),
    CR1(Register.of("CR1", 0x028, 4, 0, f("CR1", 11, 0, RW))),
    CR2(Register.of("CR2", 0x02C, 4, 0, f("E2H", 0, 0, RW), f("RECINVSID", 1, 1, RW), f("PTM", 2, 2, RW))),
    STATUSR(Register.of("STATUSR", 0x040, 4, 0, f("DORMANT", 0, 0, RO))),
    /**
     * Reset 0x1000: SHCFG = 0b01 "use incoming", ABORT = 0 (bypass), Update = 0. Every field but Update resets
     * to an IMPLEMENTATION DEFINED value (IHI0070 §6.3.14); QEMU's SMMU_GBPA_RESET_VAL is the same.
     */
    GBPA(Register.of("GBPA", 0x044, 4, 0x1000, f("MemAttr", 3, 0, RW), f("MTCFG", 4, 4, RW), f("ALLOCCFG", 11, 8, RW),
            f("SHCFG", 13, 12, RW), f("PRIVCFG", 17, 16, RW), f("INSTCFG", 19, 18, RW), f("ABORT", 20, 20, RW),
            f("UPDATE", 31, 31, RW))),
    AGBPA(Register.whole("AGBPA", 0x048, 4, 0, RO)),
    IRQ_CTRL(Register.of("IRQ_CTRL", 0x050, 4, 0, f("GERROR_IRQEN", 0, 0, RW), f("PRIQ_IRQEN", 1, 1, RW),
            f("EVENTQ_IRQEN", 2, 2, RW))),
    IRQ_CTRLACK(Register.of("IRQ_CTRLACK", 0x054, 4, 0, f("ACK", 2, 0, RO))),
    GERROR(Register.of("GERROR", 0x060, 4, 0, f("CMDQ_ERR", 0, 0, RO), f("EVENTQ_ABT_ERR", 2, 2, RO),
            f("PRIQ_ABT_ERR", 3, 3, RO), f("MSI_CMDQ_ABT_ERR", 4, 4, RO), f("MSI_EVENTQ_ABT_ERR", 5, 5, RO),
            f("MSI_PRIQ_ABT_ERR", 6, 6, RO), f("MSI_GERROR_ABT_ERR", 7, 7, RO), f("SFM_ERR", 8, 8, RO))),
    GERRORN(Register.of("GERRORN", 0x064, 4, 0, f("CMDQ_ERR", 0, 0, RW), f("EVENTQ_ABT_ERR", 2, 2, RW),
            f("PRIQ_ABT_ERR", 3, 3, RW), f("MSI_CMDQ_ABT_ERR", 4, 4, RW), f("MSI_EVENTQ_ABT_ERR", 5, 5, RW),
            f("MSI_PRIQ_ABT_ERR", 6, 6, RW), f("MSI_GERROR_ABT_ERR", 7, 7, RW), f("SFM_ERR", 8, 8, RW))),
    GERROR_IRQ_CFG0(Register.of("GERROR_IRQ_CFG0", 0x068, 8, 0, f("ADDR", 51, 2, RW))),
    GERROR_IRQ_CFG1(Register.whole("GERROR_IRQ_CFG1", 0x070, 4, 0, RW)),
    GERROR_IRQ_CFG2(Register.of("GERROR_IRQ_CFG2", 0x074, 4, 0, f("MemAttr", 3, 0, RW), f("SH", 5, 4, RW))),
    STRTAB_BASE(Register.of("STRTAB_BASE", 0x080, 8, 0, f("ADDR", 51, 6, RW), f("RA", 62, 62, RW))),
    STRTAB_BASE_CFG(Register.of("STRTAB_BASE_CFG", 0x088, 4, 0, f("LOG2SIZE", 5, 0, RW), f("SPLIT", 10, 6, RW),
            f("FMT", 17, 16, RW))),
    CMDQ_BASE(Register.of("CMDQ_BASE", 0x090, 8, 0, f("LOG2SIZE", 4, 0, RW), f("ADDR", 51, 5, RW), f("RA", 62, 62, RW))),
    CMDQ_PROD(Register.of("CMDQ_PROD", 0x098, 4, 0, f("WR", 19, 0, RW))),
    CMDQ_CONS(Register.of("CMDQ_CONS", 0x09C, 4, 0, f("RD", 19, 0, RW), f("ERR", 30, 24, RO))),
    EVENTQ_BASE(Register.of("EVENTQ_BASE", 0x0A0, 8, 0, f("LOG2SIZE", 4, 0, RW), f("ADDR", 51, 5, RW), f("WA", 62, 62, RW))),
    /** Page 1 (0x100A8); page-0 alias accepted. */
    EVENTQ_PROD(Register.of("EVENTQ_PROD", 0x0A8, 4, 0, f("WR", 19, 0, RW), f("OVFLG", 31, 31, RW))),
    /** Page 1 (0x100AC); page-0 alias accepted. */
    EVENTQ_CONS(Register.of("EVENTQ_CONS", 0x0AC, 4, 0, f("RD", 19, 0, RW), f("OVACKFLG", 31, 31, RW))),
    EVENTQ_IRQ_CFG0(Register.of("EVENTQ_IRQ_CFG0", 0x0B0, 8, 0, f("ADDR", 51, 2, RW))),
    EVENTQ_IRQ_CFG1(Register.whole("EVENTQ_IRQ_CFG1", 0x0B8, 4, 0, RW)),
    EVENTQ_IRQ_CFG2(Register.of("EVENTQ_IRQ_CFG2", 0x0BC, 4, 0, f("MemAttr", 3, 0, RW), f("SH", 5, 4, RW))),
    PRIQ_BASE(Register.of("PRIQ_BASE", 0x0C0, 8, 0, f("LOG2SIZE", 4, 0, RW), f("ADDR", 51, 5, RW), f("WA", 62, 62, RW))),
    /** Page 1 (0x100C8); page-0 alias accepted. */
    PRIQ_PROD(Register.of("PRIQ_PROD", 0x0C8, 4, 0, f("WR", 19, 0, RW), f("OVFLG", 31, 31, RW))),
    /** Page 1 (0x100CC); page-0 alias accepted. */
    PRIQ_CONS(Register.of("PRIQ_CONS", 0x0CC, 4, 0, f("RD", 19, 0, RW), f("OVACKFLG", 31, 31, RW))),
    PRIQ_IRQ_CFG0(Register.of("PRIQ_IRQ_CFG0", 0x0D0, 8, 0, f("ADDR", 51, 2, RW))),
    PRIQ_IRQ_CFG1(Register.whole("PRIQ_IRQ_CFG1", 0x0D8, 4, 0, RW)),
    PRIQ_IRQ_CFG2(Register.of("PRIQ_IRQ_CFG2", 0x0DC, 4, 0, f("MemAttr", 3, 0, RW), f("SH", 5, 4, RW)));

    /** Size of the register space: page 0 and page 1, 64 KiB each. */
    public static final int REGION_SIZE = 0x20000;
    public static final int PAGE1 = 0x10000;

    private final Register spec;

    SmmuReg(final Register spec) { this.spec = spec; }

    @Override public Register spec() { return spec; }

    public int offset() { return spec.offset(); }

    private static Field f(final String name, final int msb, final int lsb, final Access a) {
        return Field.of(name, msb, lsb, a);
    }
}
