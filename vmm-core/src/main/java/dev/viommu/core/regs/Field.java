package dev.viommu.core.regs;

/** A register field: its bits and how software may access them. */
public record Field(BitField bits, Access access) {
    public static Field of(final String name, final int msb, final int lsb, final Access access) {
        return new Field(BitField.bits(name, msb, lsb), access);
    }

    public static Field bit(final String name, final int bit, final Access access) {
        return new Field(BitField.bit(name, bit), access);
    }

    public String name() { return bits.name(); }

    public long mask() { return bits.mask(); }
}
