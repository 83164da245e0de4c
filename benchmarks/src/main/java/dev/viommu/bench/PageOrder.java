package dev.viommu.bench;

/**
 * The page order of the wide-working-set benchmarks: a bijection of [0, 2^20) that spreads consecutive indices
 * across leaf tables and within them, so neither the CPU's prefetchers nor a cache line shared by neighbouring
 * entries help, and every page comes round exactly once per 2^20 steps.
 */
public final class PageOrder {
    public static final int BITS = 20, PAGES = 1 << BITS, MASK = PAGES - 1;

    private PageOrder() {}

    /** The {@code n}th page (n taken modulo 2^20). */
    public static int page(final int n) {
        int x = n & MASK;
        x ^= x >>> 10;                     // xor-shift right and multiplication by an odd constant are bijections mod 2^20
        x = (x * 0x9E3B5) & MASK;
        x ^= x >>> 11;
        return x;
    }
}
