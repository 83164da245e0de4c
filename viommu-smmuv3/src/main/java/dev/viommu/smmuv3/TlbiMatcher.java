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
    public boolean matches(final Iotlb.Entry e) {
        if (e.regime != regime) return false;
        return switch (mode) {
            case NH_ALL -> e.vmid == vmid && e.stage1;
            case NH_ASID -> e.vmid == vmid && e.stage1 && e.asid == asid && !e.global;
            case VA -> (regime == Iotlb.REGIME_EL2 || e.vmid == vmid) && e.stage1 && (allAsids || e.global || e.asid == asid)
                    && Iotlb.overlaps(e.s1Base, e.s1Size, start, length);
            case EL2_ALL -> true;
            case EL2_ASID -> e.asid == asid && !e.global;
            case S12_VMALL -> e.vmid == vmid;
            case S2_IPA -> e.vmid == vmid && e.stage2 && Iotlb.overlaps(e.s2Base, e.s2Size, start, length);
            case NSNH_ALL -> true;
            default -> false;
        };
    }
}
