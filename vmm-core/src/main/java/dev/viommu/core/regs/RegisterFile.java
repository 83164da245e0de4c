package dev.viommu.core.regs;

import java.util.EnumSet;

/**
 * The register file of one MMIO region, built from an enum of {@link RegisterDef}s. It applies the access
 * rules (RO, RW, RW1C, WO, reserved) for 1-, 2-, 4- and 8-byte accesses at any offset; an access that covers
 * parts of several registers touches each in turn. Offsets with no register read as zero and ignore writes.
 * Not thread-safe: the owning device serialises accesses.
 *
 * @param <E> the device's register enum
 */
public final class RegisterFile<E extends Enum<E> & RegisterDef> {

    /** Told of each register a write touched, after the access rules were applied. */
    @FunctionalInterface
    public interface WriteHook<E> {
        void written(E reg, long oldValue, long newValue);
    }

    private final E[] regs;
    private final long[] values;
    private final short[] byOffset4;   // register ordinal + 1 for each 4-byte slot; 0 = none
    private final int size;

    public RegisterFile(final Class<E> type, final int regionSize) {
        this.regs = type.getEnumConstants();
        this.values = new long[regs.length];
        this.size = regionSize;
        this.byOffset4 = new short[(regionSize + 3) / 4];
        for (E r : EnumSet.allOf(type)) {
            final Register s = r.spec();
            if (s.offset() + s.width() > regionSize) throw new IllegalArgumentException(s.name() + " outside the region");
            for (int o = s.offset(); o < s.offset() + s.width(); o += 4) {
                if (byOffset4[o / 4] != 0) throw new IllegalArgumentException(s.name() + " overlaps " + regs[byOffset4[o / 4] - 1]);
                byOffset4[o / 4] = (short) (r.ordinal() + 1);
            }
        }
        reset();
    }

    public int regionSize() { return size; }

    public void reset() {
        for (E r : regs) values[r.ordinal()] = r.spec().reset();
    }

    /** The register at {@code offset}, or null. */
    public E at(final long offset) {
        if (offset < 0 || offset >= size) return null;
        final int i = byOffset4[(int) (offset >>> 2)];
        return i == 0 ? null : regs[i - 1];
    }

    /** The stored value, including write-only bits. */
    public long get(final E r) { return values[r.ordinal()]; }

    /** Stores a value as the device (not software) sees fit, trimmed to the register's width and defined bits. */
    public void set(final E r, final long v) { values[r.ordinal()] = v & r.spec().widthMask() & r.spec().definedMask(); }

    /** Sets or clears the bits of {@code mask} as the device. */
    public void setBits(final E r, final long mask, final boolean on) {
        set(r, on ? get(r) | mask : get(r) & ~mask);
    }

    public long get(final E r, final BitField f) { return f.get(get(r)); }

    /** What software reads at {@code offset}: {@code size} bytes (1, 2, 4 or 8), little-endian. */
    public long read(final long offset, final int accessSize) {
        checkSize(accessSize);
        long result = 0;
        int done = 0;
        while (done < accessSize) {
            final long o = offset + done;
            final E r = at(o);
            if (r == null) { done += Math.min(accessSize - done, 4 - (int) (o & 3)); continue; }
            final Register s = r.spec();
            final int inReg = (int) (o - s.offset());
            final int n = Math.min(accessSize - done, s.width() - inReg);
            final long part = s.readValue(values[r.ordinal()]) >>> (8 * inReg);
            result |= (part & lanes(n)) << (8 * done);
            done += n;
        }
        return result;
    }

    /**
     * Software writes {@code size} bytes of {@code value} at {@code offset}. Returns false if no register was
     * touched (the device may log it, rate-limited: the guest controls how often that happens).
     */
    public boolean write(final long offset, final int accessSize, final long value, final WriteHook<E> hook) {
        checkSize(accessSize);
        boolean any = false;
        int done = 0;
        while (done < accessSize) {
            final long o = offset + done;
            final E r = at(o);
            if (r == null) { done += Math.min(accessSize - done, 4 - (int) (o & 3)); continue; }
            final Register s = r.spec();
            final int inReg = (int) (o - s.offset());
            final int n = Math.min(accessSize - done, s.width() - inReg);
            final long laneMask = lanes(n) << (8 * inReg);
            final long v = ((value >>> (8 * done)) & lanes(n)) << (8 * inReg);
            final long old = values[r.ordinal()];
            final long now = s.applyWrite(old, v, laneMask);
            values[r.ordinal()] = now;
            any = true;
            if (hook != null) hook.written(r, old, now);
            done += n;
        }
        return any;
    }

    private static long lanes(final int bytes) { return bytes == 8 ? -1L : (1L << (8 * bytes)) - 1; }

    private static void checkSize(final int s) {
        if (s != 1 && s != 2 && s != 4 && s != 8) throw new IllegalArgumentException("access size " + s);
    }

    /** A snapshot for state dumps: register name to software-visible value. */
    public java.util.Map<String, Long> snapshot() {
        final java.util.LinkedHashMap<String, Long> m = new java.util.LinkedHashMap<>();
        for (E r : regs) m.put(r.spec().name(), r.spec().readValue(values[r.ordinal()]));
        return m;
    }
}
