package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SequenceLayout;
import java.util.Objects;

import static java.lang.foreign.ValueLayout.JAVA_INT;

/** A fixed {@code __u32 name[n]} array member of a uAPI struct. */
public record U32Array(String name, long offset, int length) {
    public static U32Array of(final GroupLayout layout, final String name) {
        final long off = Uapi.requireOffset(layout, name, 0);
        return new U32Array(name, off, (int) ((SequenceLayout) Uapi.member(layout, name)).elementCount());
    }

    public int get(final MemorySegment s, final int i) {
        return s.get(JAVA_INT, offset + 4L * Objects.checkIndex(i, length));
    }

    public void set(final MemorySegment s, final int i, final int v) {
        s.set(JAVA_INT, offset + 4L * Objects.checkIndex(i, length), v);
    }
}
