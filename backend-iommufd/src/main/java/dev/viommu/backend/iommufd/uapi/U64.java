package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A 64-bit field of a uAPI struct at a fixed offset, declared once per struct as a constant. A record, so its
 * offset is a trusted final and folds into the access.
 */
public record U64(String name, long offset) {
    public static U64 of(final GroupLayout layout, final String name) {
        return new U64(name, Uapi.requireOffset(layout, name, 8));
    }

    public long get(final MemorySegment s) { return s.get(JAVA_LONG, offset); }

    public void set(final MemorySegment s, final long v) { s.set(JAVA_LONG, offset, v); }
}
