package dev.viommu.smmuv3;

/**
 * A command-queue entry decoded once (IHI0070 §4). Consumers switch over it with no default, so a new command
 * breaks the build until every consumer handles it. {@link Illegal} is what CERROR_ILL reports.
 */
public sealed interface Command {
    /** The guest's two dwords, for forwarding to a host SMMU unchanged (the kernel re-validates them). */
    long dw0();

    long dw1();

    /** An invalidation range: [{@code start}, {@code start + length}); {@code length == 0} means "any address". */
    record Range(long start, long length, boolean leaf, int ttl) {
        public boolean contains(final long addr) {
            return length == 0 || Long.compareUnsigned(addr - start, length) < 0;
        }
    }

    record PrefetchConfig(int sid, boolean ssv, int ssid, long dw0, long dw1) implements Command {}

    record PrefetchAddr(int sid, boolean ssv, int ssid, long addr, int size, long dw0, long dw1) implements Command {}

    record CfgiSte(int sid, boolean leaf, long dw0, long dw1) implements Command {}

    /** Invalidates 2^(range+1) STEs from {@code sid} aligned down. */
    record CfgiSteRange(int sid, int range, long dw0, long dw1) implements Command {
        public long first() { return Integer.toUnsignedLong(sid) & -(1L << (range + 1)); }

        public long count() { return 1L << (range + 1); }
    }

    /** CFGI_STE_RANGE with Range = 31 (Linux's CMDQ_OP_CFGI_ALL). */
    record CfgiAll(long dw0, long dw1) implements Command {}

    record CfgiCd(int sid, int ssid, boolean leaf, long dw0, long dw1) implements Command {}

    record CfgiCdAll(int sid, long dw0, long dw1) implements Command {}

    record TlbiNhAll(int vmid, long dw0, long dw1) implements Command {}

    record TlbiNhAsid(int vmid, int asid, long dw0, long dw1) implements Command {}

    /** TLBI_NH_VA (one ASID) or, with {@code allAsids}, TLBI_NH_VAA. */
    record TlbiNhVa(int vmid, int asid, boolean allAsids, Range range, long dw0, long dw1) implements Command {}

    record TlbiEl2All(long dw0, long dw1) implements Command {}

    record TlbiEl2Asid(int asid, long dw0, long dw1) implements Command {}

    /** TLBI_EL2_VA or, with {@code allAsids}, TLBI_EL2_VAA. */
    record TlbiEl2Va(int asid, boolean allAsids, Range range, long dw0, long dw1) implements Command {}

    record TlbiS12Vmall(int vmid, long dw0, long dw1) implements Command {}

    record TlbiS2Ipa(int vmid, Range range, long dw0, long dw1) implements Command {}

    record TlbiNsnhAll(long dw0, long dw1) implements Command {}

    /** ATC_INV: {@code size} is log2 of the span in 4 KiB pages (Linux uses 52 for "everything"). */
    record AtcInv(int sid, boolean ssv, int ssid, boolean global, long addr, int size, long dw0, long dw1)
            implements Command {
        /** Bytes covered; 0 means everything (Size ≥ 51 spans the whole 64-bit space). */
        public long length() { return size >= 51 ? 0 : 4096L << size; }

        public long start() { return size >= 51 ? 0 : addr & -(4096L << size); }
    }

    record PriResp(int sid, boolean ssv, int ssid, int prgIndex, int resp, long dw0, long dw1) implements Command {}

    record Resume(int sid, int action, int stag, long dw0, long dw1) implements Command {}

    record StallTerm(int sid, long dw0, long dw1) implements Command {}

    record Sync(int cs, int msh, int msiAttr, int msiData, long msiAddr, long dw0, long dw1) implements Command {}

    /** An unknown opcode or an illegal field value: CERROR_ILL. */
    record Illegal(int opcode, String reason, long dw0, long dw1) implements Command {}
}
