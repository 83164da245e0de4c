package dev.viommu.vtd.spec;

/**
 * Fault reason codes (FRCD.FR; vtd.md A.11, from Linux {@code dma_remap_*fault_reasons}, QEMU and VirtualBox).
 * Only codes this model raises are listed; each has a guest-driven test ({@code VtdFaultReasonTest},
 * {@code VtdScalableFaultReasonTest}, {@code VtdNestedTranslationTest}). Deliberately not raised:
 * <ul>
 *   <li>0x0D (TT blocks a translation request) and 0x44 (DTE = 0 for an ATS request): the translation API has no
 *       ATS/translated request type, so no request can carry AT;</li>
 *   <li>0x7B (invalid SSPTPTR): an SSPTPTR beyond the host address width is a reserved-bit error of the PASID
 *       entry (0x5A) and a fetch error at the top second-stage level is 0x78, as QEMU reports them;</li>
 *   <li>0x86 (read without permission): first-stage entries have no read-permission bit, and second-stage
 *       permission faults in scalable mode report 0x79 ⚠ (Linux names 0x79 "R/W permission error in
 *       second-level paging entry"; VirtualBox DevIommuIntel reports SS denials as 0x85/0x86 and not-present
 *       entries as 0x79; QEMU reports 0x05/0x06 in both modes);</li>
 *   <li>0x5C, 0x82 (execute), 0x7C, 0x90 (non-snooped A/D update): execute requests are deprecated and ignored;
 *       page walks are always snooped (ECAP.C = 1, SMPWCS = 1).</li>
 * </ul>
 */
public final class FaultReason {
    private FaultReason() {}

    // legacy
    public static final int ROOT_NOT_PRESENT = 0x01;
    public static final int CONTEXT_NOT_PRESENT = 0x02;
    public static final int CONTEXT_INVALID = 0x03;
    public static final int ADDR_BEYOND_MGAW = 0x04;
    public static final int WRITE = 0x05;
    public static final int READ = 0x06;
    public static final int PAGING_ENTRY_FETCH = 0x07;
    public static final int ROOT_TABLE_ADDR = 0x08;
    public static final int CONTEXT_TABLE_ADDR = 0x09;
    public static final int ROOT_RSVD = 0x0A;
    public static final int CONTEXT_RSVD = 0x0B;
    public static final int PAGING_RSVD = 0x0C;
    public static final int INTERRUPT_ADDR = 0x0E;
    // interrupt remapping
    public static final int IR_REQ_RSVD = 0x20;
    public static final int IR_INDEX_OOB = 0x21;
    public static final int IR_NOT_PRESENT = 0x22;
    public static final int IR_FETCH = 0x23;
    public static final int IR_IRTE_RSVD = 0x24;
    public static final int IR_COMPAT_BLOCKED = 0x25;
    public static final int IR_SID_CHECK = 0x26;
    // scalable mode
    public static final int SM_RTA_INVALID = 0x30;
    public static final int SM_TTM0_PASID = 0x31;
    public static final int SM_TTM0_PAGE_REQ = 0x32;
    public static final int SM_ROOT_FETCH = 0x38;
    public static final int SM_ROOT_NOT_PRESENT = 0x39;
    public static final int SM_ROOT_RSVD = 0x3A;
    public static final int SM_CONTEXT_FETCH = 0x40;
    public static final int SM_CONTEXT_NOT_PRESENT = 0x41;
    public static final int SM_CONTEXT_RSVD = 0x42;
    public static final int SM_CONTEXT_INVALID = 0x43;
    public static final int SM_PASIDE_CLEAR = 0x45;
    public static final int SM_PASID_TOO_LARGE = 0x46;
    public static final int SM_PRE_CLEAR = 0x47;
    public static final int SM_RID_PASID = 0x48;
    public static final int SM_PDIR_FETCH = 0x50;
    public static final int SM_PDIR_NOT_PRESENT = 0x51;
    public static final int SM_PDIR_RSVD = 0x52;
    public static final int SM_PTE_FETCH = 0x58;
    public static final int SM_PTE_NOT_PRESENT = 0x59;
    public static final int SM_PTE_RSVD = 0x5A;
    public static final int SM_PTE_INVALID = 0x5B;
    public static final int SM_SRE_CLEAR = 0x5D;
    public static final int SM_FS_FETCH = 0x70;
    public static final int SM_FS_NOT_PRESENT = 0x71;
    public static final int SM_FS_RSVD = 0x72;
    public static final int SM_FSPTPTR_INVALID = 0x73;
    public static final int SM_NESTED_FS_BEYOND_MGAW = 0x74;
    public static final int SM_NESTED_FSPML4_READ = 0x75;
    public static final int SM_NESTED_FS_READ = 0x76;
    public static final int SM_NESTED_FS_WRITE = 0x77;
    public static final int SM_SS_FETCH = 0x78;
    public static final int SM_SS_PERM = 0x79;
    public static final int SM_SS_RSVD = 0x7A;
    public static final int SM_NON_CANONICAL = 0x80;
    public static final int SM_US_CLEAR = 0x81;
    public static final int SM_ADDR_BEYOND_MAX = 0x83;
    public static final int SM_WRITE = 0x85;
    public static final int SM_INTERRUPT_ADDR = 0x87;
    public static final int SM_FS_AD_UPDATE = 0x91;

    /**
     * Whether FPD may suppress the fault (a "qualified" fault), as QEMU intel_iommu.c vtd_qualified_faults[]:
     * root faults (no FPD above them), fetch errors and reserved bits of root/context/PASID structures are always
     * reported; not-present entries, invalid programming of a present context (0x03) or PASID entry (0x5B),
     * page-walk and permission faults are qualified. 0x43 follows 0x03 ⚠ (no second source raises 0x43; VirtualBox
     * DevIommuIntel also treats context reserved bits 0x0B as qualified, QEMU does not: QEMU followed). Interrupt
     * remapping: IRTE not present (0x22), reserved bits (0x24) and SID check (0x26) are qualified, the others not
     * (QEMU vtd_irte_get; VirtualBox vtdIrFaultIsQualified).
     */
    public static boolean qualified(final int fr) {
        return switch (fr) {
            case ROOT_NOT_PRESENT, ROOT_TABLE_ADDR, CONTEXT_TABLE_ADDR, ROOT_RSVD, CONTEXT_RSVD,
                 SM_RTA_INVALID, SM_ROOT_FETCH, SM_ROOT_NOT_PRESENT, SM_ROOT_RSVD, SM_CONTEXT_FETCH, SM_CONTEXT_RSVD,
                 SM_PDIR_FETCH, SM_PDIR_RSVD, SM_PTE_FETCH, SM_PTE_RSVD -> false;
            case IR_NOT_PRESENT, IR_IRTE_RSVD, IR_SID_CHECK -> true;
            default -> fr < 0x20 || fr > 0x2F;
        };
    }

    public static String name(final int fr) {
        return switch (fr) {
            case ROOT_NOT_PRESENT -> "root-not-present";
            case CONTEXT_NOT_PRESENT -> "context-not-present";
            case CONTEXT_INVALID -> "context-invalid";
            case ADDR_BEYOND_MGAW -> "addr-beyond-mgaw";
            case WRITE -> "write";
            case READ -> "read";
            case PAGING_ENTRY_FETCH -> "paging-entry-fetch";
            case ROOT_TABLE_ADDR -> "root-table-addr";
            case CONTEXT_TABLE_ADDR -> "context-table-addr";
            case ROOT_RSVD -> "root-rsvd";
            case CONTEXT_RSVD -> "context-rsvd";
            case PAGING_RSVD -> "paging-rsvd";
            case INTERRUPT_ADDR -> "interrupt-addr";
            case IR_REQ_RSVD -> "ir-request-rsvd";
            case IR_INDEX_OOB -> "ir-index-oob";
            case IR_NOT_PRESENT -> "ir-not-present";
            case IR_FETCH -> "ir-fetch";
            case IR_IRTE_RSVD -> "ir-irte-rsvd";
            case IR_COMPAT_BLOCKED -> "ir-compat-blocked";
            case IR_SID_CHECK -> "ir-sid-check";
            case SM_RTA_INVALID -> "sm-rta-invalid";
            case SM_TTM0_PASID -> "sm-ttm0-pasid";
            case SM_TTM0_PAGE_REQ -> "sm-ttm0-page-request";
            case SM_ROOT_FETCH -> "sm-root-fetch";
            case SM_ROOT_NOT_PRESENT -> "sm-root-not-present";
            case SM_ROOT_RSVD -> "sm-root-rsvd";
            case SM_CONTEXT_FETCH -> "sm-context-fetch";
            case SM_CONTEXT_NOT_PRESENT -> "sm-context-not-present";
            case SM_CONTEXT_RSVD -> "sm-context-rsvd";
            case SM_CONTEXT_INVALID -> "sm-context-invalid";
            case SM_PASIDE_CLEAR -> "sm-paside-clear";
            case SM_PASID_TOO_LARGE -> "sm-pasid-too-large";
            case SM_PRE_CLEAR -> "sm-pre-clear";
            case SM_RID_PASID -> "sm-rid-pasid";
            case SM_PDIR_FETCH -> "sm-pasid-dir-fetch";
            case SM_PDIR_NOT_PRESENT -> "sm-pasid-dir-not-present";
            case SM_PDIR_RSVD -> "sm-pasid-dir-rsvd";
            case SM_PTE_FETCH -> "sm-pasid-entry-fetch";
            case SM_PTE_NOT_PRESENT -> "sm-pasid-entry-not-present";
            case SM_PTE_RSVD -> "sm-pasid-entry-rsvd";
            case SM_PTE_INVALID -> "sm-pasid-entry-invalid";
            case SM_SRE_CLEAR -> "sm-sre-clear";
            case SM_FS_FETCH -> "sm-fs-fetch";
            case SM_FS_NOT_PRESENT -> "sm-fs-not-present";
            case SM_FS_RSVD -> "sm-fs-rsvd";
            case SM_FSPTPTR_INVALID -> "sm-fsptptr-invalid";
            case SM_NESTED_FS_BEYOND_MGAW -> "sm-nested-fs-beyond-mgaw";
            case SM_NESTED_FSPML4_READ -> "sm-nested-fspml4-read";
            case SM_NESTED_FS_READ -> "sm-nested-fs-read";
            case SM_NESTED_FS_WRITE -> "sm-nested-fs-write";
            case SM_SS_FETCH -> "sm-ss-fetch";
            case SM_SS_PERM -> "sm-ss-permission";
            case SM_SS_RSVD -> "sm-ss-rsvd";
            case SM_NON_CANONICAL -> "sm-non-canonical";
            case SM_US_CLEAR -> "sm-us-clear";
            case SM_ADDR_BEYOND_MAX -> "sm-addr-beyond-max";
            case SM_WRITE -> "sm-write";
            case SM_INTERRUPT_ADDR -> "sm-interrupt-addr";
            case SM_FS_AD_UPDATE -> "sm-fs-ad-update";
            default -> "fr-0x" + Integer.toHexString(fr);
        };
    }
}
