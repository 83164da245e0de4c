package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * A 32-bit field of a uAPI struct at a fixed offset, declared once per struct as a constant. A record, so its
 * offset is a trusted final and folds into the access. Unsigned values come back as the
 * int bit pattern: widen with {@link Integer#toUnsignedLong}.
 */
public record U32(String name, long offset) {
    public static U32 of(final GroupLayout layout, final String name) {
        return new U32(name, Uapi.requireOffset(layout, name, 4));
    }

    public int get(final MemorySegment s) { return s.get(JAVA_INT, offset); }

    public void set(final MemorySegment s, final int v) { s.set(JAVA_INT, offset, v); }
}
