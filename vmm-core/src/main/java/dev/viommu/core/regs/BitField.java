package dev.viommu.core.regs;

/**
 * A named bit field of a 64-bit word: {@code width} bits from bit {@code lsb}. Used by register files and by the
 * flyweights over guest structures (STEs, CDs, PASID entries, descriptors), so no shift or mask is ever
 * hand-written twice. Extraction uses {@code >>>}, never {@code >>}.
 */
public record BitField(String name, int lsb, int width) {
    public BitField {
        if (lsb < 0 || width < 1 || lsb + width > 64) {
            throw new IllegalArgumentException(name + ": bits [" + (lsb + width - 1) + ":" + lsb + "] do not fit 64");
        }
    }

    /** The field from bit {@code lsb} to bit {@code msb}, both inclusive, as the specs write them ({@code [55:6]}). */
    public static BitField bits(final String name, final int msb, final int lsb) {
        return new BitField(name, lsb, msb - lsb + 1);
    }

    public static BitField bit(final String name, final int bit) {
        return new BitField(name, bit, 1);
    }

    /** The field's bits, in place. */
    public long mask() { return (width == 64 ? -1L : (1L << width) - 1) << lsb; }

    /** The field's value, right-aligned. */
    public long get(final long word) { return (word & mask()) >>> lsb; }

    /** The field's bits left in place (for address fields such as {@code addr[55:6]}). */
    public long raw(final long word) { return word & mask(); }

    public boolean isSet(final long word) { return (word & mask()) != 0; }

    /** {@code word} with the field replaced by {@code v}; a value wider than the field is a programming error. */
    public long with(final long word, final long v) {
        if ((v & ~(mask() >>> lsb)) != 0) throw new IllegalArgumentException(name + " too wide: 0x" + Long.toHexString(v));
        return (word & ~mask()) | (v << lsb);
    }

    /** {@code word} with the field set to 1s ({@code true}) or 0s. */
    public long with(final long word, final boolean set) {
        return set ? word | mask() : word & ~mask();
    }
}
