package dev.viommu.smmuv3;

/**
 * Which IOTLB entries a TLBI command covers (IHI0070 §4.4). One mutable instance per device is re-aimed for each
 * command, so invalidation allocates nothing. Entries of the NH regime are stage 1 (with or without stage 2) or
 * stage-2-only; EL2 entries are the hypervisor's stage 1.
 */
final class TlbiMatcher implements Iotlb.Matcher {
    private static final int NH_ALL = 0, NH_ASID = 1, VA = 2, EL2_ALL = 3, EL2_ASID = 4, S12_VMALL = 5, S2_IPA = 6,
            NSNH_ALL = 7;

    private int mode, regime, vmid, asid;
    private boolean allAsids;
    private long start, length;

    TlbiMatcher nhAll(final int vmid) { return aim(NH_ALL, Iotlb.REGIME_NH, vmid, 0); }

    TlbiMatcher nhAsid(final int vmid, final int asid) { return aim(NH_ASID, Iotlb.REGIME_NH, vmid, asid); }

    TlbiMatcher el2All() { return aim(EL2_ALL, Iotlb.REGIME_EL2, 0, 0); }

    TlbiMatcher el2Asid(final int asid) { return aim(EL2_ASID, Iotlb.REGIME_EL2, 0, asid); }

    TlbiMatcher s12Vmall(final int vmid) { return aim(S12_VMALL, Iotlb.REGIME_NH, vmid, 0); }

    TlbiMatcher nsnhAll() { return aim(NSNH_ALL, Iotlb.REGIME_NH, 0, 0); }

    TlbiMatcher va(final int regime, final int vmid, final int asid, final boolean all, final Command.Range r) {
        aim(VA, regime, vmid, asid);
        allAsids = all;
        start = r.start();
        length = r.length();
        return this;
    }

    TlbiMatcher s2Ipa(final int vmid, final Command.Range r) {
        aim(S2_IPA, Iotlb.REGIME_NH, vmid, 0);
        start = r.start();
        length = r.length();
        return this;
    }

    private TlbiMatcher aim(final int m, final int reg, final int vm, final int as) {
        mode = m;
        regime = reg;
        vmid = vm;
        asid = as;
        allAsids = false;
        start = 0;
        length = 0;
        return this;
    }

    @Override
    public boolean matches(final long key1, final long page, final long tag, final long s2Base) {
        if (((tag & Iotlb.TAG_EL2) != 0 ? Iotlb.REGIME_EL2 : Iotlb.REGIME_NH) != regime) return false;
        final boolean vmidMatch = (tag & Iotlb.TAG_VMID) == vmid;
        final boolean stage1 = (tag & Iotlb.TAG_STAGE1) != 0;
        final boolean global = (tag & Iotlb.TAG_GLOBAL) != 0;
        final boolean asidMatch = (tag & Iotlb.TAG_HAS_ASID) != 0 && (int) ((tag & Iotlb.TAG_ASID) >>> Iotlb.TAG_ASID_SHIFT) == asid;
        return switch (mode) {
            case NH_ALL -> vmidMatch && stage1;
            case NH_ASID -> vmidMatch && stage1 && asidMatch && !global;
            case VA -> (regime == Iotlb.REGIME_EL2 || vmidMatch) && stage1 && (allAsids || global || asidMatch)
                    && overlapsLeaf(page << 12, (int) (tag >>> Iotlb.TAG_S1SIZE_SHIFT) & 63);
            case EL2_ALL -> true;
            case EL2_ASID -> asidMatch && !global;
            case S12_VMALL -> vmidMatch;
            case S2_IPA -> vmidMatch && (tag & Iotlb.TAG_STAGE2) != 0
                    && overlapsLeaf(s2Base, (int) (tag >>> Iotlb.TAG_S2SIZE_SHIFT) & 63);
            case NSNH_ALL -> true;
            default -> false;
        };
    }

    /** Whether the leaf of 2^log2 bytes containing {@code addr} overlaps the command's range. */
    private boolean overlapsLeaf(final long addr, final int log2) {
        final long size = 1L << log2;
        return Iotlb.overlaps(addr & -size, size, start, length);
    }

    /** Whether this is a TLBI by VA (the IOTLB may probe keys instead of scanning). */
    boolean byVa() { return mode == VA; }

    long start() { return start; }

    long length() { return length; }
}
