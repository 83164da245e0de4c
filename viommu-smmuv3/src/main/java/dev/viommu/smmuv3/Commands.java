package dev.viommu.smmuv3;

import dev.viommu.smmuv3.spec.Cmd;
import dev.viommu.smmuv3.spec.Priq;

/**
 * Decodes command-queue entries into {@link Command}s (IHI0070 §4; smmuv3.md B.6). Every opcode this model
 * does not advertise, every reserved encoding and every Secure-only form is {@link Command.Illegal}.
 */
final class Commands {
    private final SmmuV3Config cfg;

    Commands(final SmmuV3Config cfg) { this.cfg = cfg; }

    Command decode(final long d0, final long d1) {
        final int op = (int) Cmd.OPCODE.get(d0);
        final int sid = (int) Cmd.SID.get(d0);
        final boolean ssv = Cmd.SSV.isSet(d0);
        final int ssid = (int) Cmd.SSID.get(d0);
        if (Cmd.SSEC.isSet(d0)) return ill(op, "SSec set on the Non-secure queue", d0, d1);
        return switch (op) {
            case Cmd.PREFETCH_CONFIG -> new Command.PrefetchConfig(sid, ssv, ssid, d0, d1);
            case Cmd.PREFETCH_ADDR_OP -> new Command.PrefetchAddr(sid, ssv, ssid, Cmd.PREFETCH_ADDR.raw(d1),
                    (int) Cmd.PREFETCH_SIZE.get(d1), d0, d1);
            case Cmd.CFGI_STE -> new Command.CfgiSte(sid, Cmd.CFGI_LEAF.isSet(d1), d0, d1);
            case Cmd.CFGI_STE_RANGE -> {
                final int range = (int) Cmd.CFGI_RANGE.get(d1);
                yield range == 31 ? new Command.CfgiAll(d0, d1) : new Command.CfgiSteRange(sid, range, d0, d1);
            }
            case Cmd.CFGI_CD -> new Command.CfgiCd(sid, ssid, Cmd.CFGI_LEAF.isSet(d1), d0, d1);
            case Cmd.CFGI_CD_ALL -> new Command.CfgiCdAll(sid, d0, d1);
            case Cmd.TLBI_NH_ALL -> new Command.TlbiNhAll(vmid(d0), d0, d1);
            case Cmd.TLBI_NH_ASID -> new Command.TlbiNhAsid(vmid(d0), asid(d0), d0, d1);
            case Cmd.TLBI_NH_VA, Cmd.TLBI_NH_VAA, Cmd.TLBI_EL2_VA, Cmd.TLBI_EL2_VAA, Cmd.TLBI_S2_IPA -> byAddress(op, d0, d1);
            case Cmd.TLBI_EL2_ALL -> cfg.hyp() ? new Command.TlbiEl2All(d0, d1) : ill(op, "TLBI_EL2_* without IDR0.HYP", d0, d1);
            case Cmd.TLBI_EL2_ASID -> cfg.hyp() ? new Command.TlbiEl2Asid(asid(d0), d0, d1)
                    : ill(op, "TLBI_EL2_* without IDR0.HYP", d0, d1);
            case Cmd.TLBI_S12_VMALL -> new Command.TlbiS12Vmall(vmid(d0), d0, d1);
            case Cmd.TLBI_NSNH_ALL -> new Command.TlbiNsnhAll(d0, d1);
            case Cmd.ATC_INV -> cfg.ats() ? new Command.AtcInv(sid, ssv, ssid, Cmd.ATC_GLOBAL.isSet(d0),
                    Cmd.ATC_ADDR.raw(d1), (int) Cmd.ATC_SIZE.get(d1), d0, d1) : ill(op, "ATC_INV without IDR0.ATS", d0, d1);
            case Cmd.PRI_RESP_OP -> {
                final int resp = (int) Cmd.PRI_RESP.get(d1);
                if (!cfg.pri()) yield ill(op, "PRI_RESP without IDR0.PRI", d0, d1);
                if (resp > Priq.RESP_SUCCESS) yield ill(op, "reserved PRI_RESP.Resp", d0, d1);
                yield new Command.PriResp(sid, ssv, ssid, (int) Cmd.PRI_PRGINDEX.get(d1), resp, d0, d1);
            }
            case Cmd.RESUME -> {
                // CERROR_ILL with STALL_MODEL 0b01 (IHI0070 §4.7.1, §4.7.2). Action is Ac (bit 12: 1 retry, 0
                // terminate) and Ab (bit 13: abort, else RAZ/WI); Ab is IGNORED on retry, so 0b11 is a retry.
                if (!cfg.stalls()) yield ill(op, "RESUME with terminate-only stall model", d0, d1);
                final int action = (int) Cmd.RESUME_ACTION.get(d0);
                yield new Command.Resume(sid, action == 3 ? 1 : action, (int) Cmd.RESUME_STAG.get(d1), d0, d1);
            }
            case Cmd.STALL_TERM -> cfg.stalls() ? new Command.StallTerm(sid, d0, d1)
                    : ill(op, "STALL_TERM with terminate-only stall model", d0, d1);   // §4.7.2
            case Cmd.CMD_SYNC -> {
                final int cs = (int) Cmd.SYNC_CS.get(d0);
                if (cs == 3) yield ill(op, "reserved CMD_SYNC.CS", d0, d1);
                // CS=SIG_SEV is legal without IDR0.SEV (no event is sent): Linux 7.3 arm_smmu_cmdq_build_sync_cmd
                // issues CS_SEV whenever MSIPOLL is off, and __arm_smmu_cmdq_skip_err rewrites a bad command as a
                // CS_SEV sync, neither checking ARM_SMMU_FEAT_SEV.
                yield new Command.Sync(cs, (int) Cmd.SYNC_MSH.get(d0), (int) Cmd.SYNC_MSIATTR.get(d0),
                        (int) Cmd.SYNC_MSIDATA.get(d0), Cmd.SYNC_MSIADDR.raw(d1), d0, d1);
            }
            default -> ill(op, op == Cmd.TLBI_EL3_ALL || op == Cmd.TLBI_EL3_VA ? "Secure-only opcode" : "unknown opcode",
                    d0, d1);
        };
    }

    /** TLBI_NH_VA, TLBI_NH_VAA, TLBI_EL2_VA, TLBI_EL2_VAA and TLBI_S2_IPA: the TLBIs by address (§4.4.1). */
    private Command byAddress(final int op, final long d0, final long d1) {
        final boolean el2 = op == Cmd.TLBI_EL2_VA || op == Cmd.TLBI_EL2_VAA;
        if (el2 && !cfg.hyp()) return ill(op, "TLBI_EL2_* without IDR0.HYP", d0, d1);
        final String reserved = reservedRange(d0, d1);
        if (reserved != null) return ill(op, reserved, d0, d1);
        final Command.Range r = range(d0, d1, op == Cmd.TLBI_S2_IPA ? Cmd.TLBI_IPA.raw(d1) : Cmd.TLBI_ADDR.raw(d1));
        return switch (op) {
            case Cmd.TLBI_NH_VA -> new Command.TlbiNhVa(vmid(d0), asid(d0), false, r, d0, d1);
            case Cmd.TLBI_NH_VAA -> new Command.TlbiNhVa(vmid(d0), 0, true, r, d0, d1);
            case Cmd.TLBI_EL2_VA -> new Command.TlbiEl2Va(asid(d0), false, r, d0, d1);
            case Cmd.TLBI_EL2_VAA -> new Command.TlbiEl2Va(0, true, r, d0, d1);
            default -> new Command.TlbiS2Ipa(vmid(d0), r, d0, d1);
        };
    }

    /**
     * Why a TLBI's range fields are a Reserved encoding (CERROR_ILL), or null (IHI0070 §4.4.1.1). With TG ≠ 0,
     * NUM = 0, SCALE = 0 and TTL = 0b00 together are Reserved: granule information without a range or a level
     * hint. IDR5.DS = 0 here, so with TG = 16K the Reserved TTL = 0b01 is treated as 0b00 and, with NUM = SCALE
     * = 0, is CERROR_ILL too; with a range (NUM or SCALE ≠ 0) it is only a missing hint. Without IDR3.RIL the
     * fields are RES0 and ignored (§4.1.5 permits either).
     */
    private String reservedRange(final long d0, final long d1) {
        final int tg = (int) Cmd.TLBI_TG.get(d1);
        if (!cfg.ril() || tg == 0 || Cmd.TLBI_NUM.get(d0) != 0 || Cmd.TLBI_SCALE.get(d0) != 0) return null;
        final int ttl = (int) Cmd.TLBI_TTL.get(d1);
        if (ttl == 0) return "TG != 0 with NUM = 0, SCALE = 0, TTL = 0 (Reserved)";
        if (tg == Cmd.TLBI_TG_16K && ttl == 1) return "TG = 16K with TTL = 0b01 (Reserved without IDR5.DS), NUM = SCALE = 0";
        return null;
    }

    /**
     * The address range of a TLBI. With IDR3.RIL and TG ≠ 0 it is (NUM+1) × 2^SCALE pages of granule TG from
     * Addr (Linux arm_smmu_cmdq_batch_add_range builds exactly this); otherwise a single address, whose entries
     * of any size are invalidated. Without RIL the range fields are RES0 and ignored.
     */
    private Command.Range range(final long d0, final long d1, final long addr) {
        final boolean leaf = Cmd.TLBI_LEAF.isSet(d1);
        final int ttl = (int) Cmd.TLBI_TTL.get(d1);
        final int tg = (int) Cmd.TLBI_TG.get(d1);
        if (!cfg.ril() || tg == 0) return new Command.Range(addr, 1, leaf, ttl);
        final int pageShift = 10 + 2 * tg;                       // 1 → 4K, 2 → 16K, 3 → 64K
        final long num = Cmd.TLBI_NUM.get(d0) + 1;
        final int scale = (int) Cmd.TLBI_SCALE.get(d0);
        final int shift = scale + pageShift;
        final long len = shift >= 58 ? 0 : num << shift;         // beyond the VA space: everything
        return new Command.Range(addr & -(1L << pageShift), len, leaf, ttl);
    }

    private static int vmid(final long d0) { return (int) Cmd.TLBI_VMID.get(d0); }

    private static int asid(final long d0) { return (int) Cmd.TLBI_ASID.get(d0); }

    private static Command.Illegal ill(final int op, final String why, final long d0, final long d1) {
        return new Command.Illegal(op, why, d0, d1);
    }
}
