package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

/**
 * A 8-bit field of a uAPI struct at a fixed offset, declared once per struct as a constant. A record, so its
 * offset is a trusted final and folds into the access.
 */
public record U8(String name, long offset) {
    public static U8 of(final GroupLayout layout, final String name) {
        return new U8(name, Uapi.requireOffset(layout, name, 1));
    }

    public int get(final MemorySegment s) { return s.get(JAVA_BYTE, offset) & 0xFF; }

    public void set(final MemorySegment s, final int v) { s.set(JAVA_BYTE, offset, (byte) v); }
}
