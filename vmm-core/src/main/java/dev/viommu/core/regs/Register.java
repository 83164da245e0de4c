package dev.viommu.core.regs;

import java.util.List;

/**
 * One register, declared as data: name, byte offset, width in bytes (4 or 8), reset value and fields. The
 * access masks are derived from the fields once. Side effects (a command register that updates a status
 * register, a tail pointer that kicks a queue) belong to the device, not here.
 */
public record Register(String name, int offset, int width, long reset, List<Field> fields,
                       long roMask, long rwMask, long w1cMask, long woMask) {

    public Register {
        if (width != 4 && width != 8) throw new IllegalArgumentException(name + ": width " + width);
        if (offset < 0 || offset % width != 0) throw new IllegalArgumentException(name + ": offset not aligned to width");
        fields = List.copyOf(fields);
    }

    public static Register of(final String name, final int offset, final int width, final long reset,
                              final Field... fields) {
        long ro = 0, rw = 0, w1c = 0, wo = 0, all = 0;
        final long widthMask = width == 8 ? -1L : 0xFFFF_FFFFL;
        for (Field f : fields) {
            final long m = f.mask();
            if ((m & ~widthMask) != 0) throw new IllegalArgumentException(name + "." + f.name() + " outside the register");
            if ((m & all) != 0) throw new IllegalArgumentException(name + "." + f.name() + " overlaps another field");
            all |= m;
            switch (f.access()) {
                case RO -> ro |= m;
                case RW -> rw |= m;
                case RW1C -> w1c |= m;
                case WO -> wo |= m;
            }
        }
        if ((reset & ~all) != 0) throw new IllegalArgumentException(name + ": reset sets reserved bits");
        return new Register(name, offset, width, reset, List.of(fields), ro, rw, w1c, wo);
    }

    /** A register that is one field of the given access across its whole width. */
    public static Register whole(final String name, final int offset, final int width, final long reset, final Access access) {
        return of(name, offset, width, reset, Field.of(name, width * 8 - 1, 0, access));
    }

    public long definedMask() { return roMask | rwMask | w1cMask | woMask; }

    public long widthMask() { return width == 8 ? -1L : 0xFFFF_FFFFL; }

    /** What software reads for a stored value: write-only and reserved bits read as zero. */
    public long readValue(final long stored) { return stored & (roMask | rwMask | w1cMask); }

    /**
     * The stored value after software writes {@code value} into the byte lanes {@code lanes} (a bit mask of the
     * bytes the access covers): RO bits keep their value, RW and WO bits take the written value, RW1C bits clear
     * where a 1 is written, and reserved bits stay 0.
     */
    public long applyWrite(final long old, final long value, final long lanes) {
        final long writable = (rwMask | woMask) & lanes;
        long v = (old & ~writable) | (value & writable);
        v &= ~(value & w1cMask & lanes);
        return v & definedMask();
    }

    public Field field(final String fieldName) {
        for (Field f : fields) if (f.name().equals(fieldName)) return f;
        throw new IllegalArgumentException(name + " has no field " + fieldName);
    }
}
