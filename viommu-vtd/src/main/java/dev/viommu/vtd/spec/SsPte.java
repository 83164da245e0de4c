package dev.viommu.vtd.spec;

/**
 * Second-stage paging entry (64-bit; vtd.md A.10.1). There is no present bit: an entry is present iff R or W.
 * Address bits run from 12 to HAW-1; bits 51:HAW and 62 are reserved; 61:52 and 63 are ignored.
 */
public final class SsPte {
    private SsPte() {}

    public static final long R = 1, W = 2;
    /** Execute (deprecated with SSEE): ignored. */
    public static final long X = 4;
    public static final long PS = 1L << 7;
    public static final long A = 1L << 8, D = 1L << 9;
    public static final long SNP = 1L << 11;
    public static final long TM = 1L << 62;

    /** The address bits 51:12 as a mask; callers trim to HAW. */
    public static final long ADDR_MASK = 0x000F_FFFF_FFFF_F000L;
}
