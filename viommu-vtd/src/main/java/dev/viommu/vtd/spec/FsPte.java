package dev.viommu.vtd.spec;

/** First-stage (IA-32e) paging entry (vtd.md A.10.2). XD (bit 63) is deprecated and treated as ignored. */
public final class FsPte {
    private FsPte() {}

    public static final long P = 1, RW = 2, US = 4, PWT = 8, PCD = 16, A = 32, D = 64, PS = 128;
    public static final long EA = 1L << 10;
    public static final long ADDR_MASK = 0x000F_FFFF_FFFF_F000L;
}
