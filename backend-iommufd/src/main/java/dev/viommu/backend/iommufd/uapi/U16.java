package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A 16-bit field of a uAPI struct at a fixed offset, declared once per struct as a constant. A record, so its
 * offset is a trusted final and folds into the access.
 */
public record U16(String name, long offset) {
    public static U16 of(final GroupLayout layout, final String name) {
        return new U16(name, Uapi.requireOffset(layout, name, 2));
    }

    public int get(final MemorySegment s) { return s.get(JAVA_SHORT, offset) & 0xFFFF; }

    public void set(final MemorySegment s, final int v) { s.set(JAVA_SHORT, offset, (short) v); }
}
