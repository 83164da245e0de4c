package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SequenceLayout;
import java.util.Objects;

/**
 * A fixed {@code __aligned_u64 name[n]} or {@code __aligned_le64 name[n]} array member; the element layout's byte
 * order is used, so the LE64 words (STE, CMD, EVT) are little-endian on every host.
 */
public record U64Array(String name, long offset, int length, java.lang.foreign.ValueLayout.OfLong element) {
    public static U64Array of(final GroupLayout layout, final String name) {
        final long off = Uapi.requireOffset(layout, name, 0);
        final SequenceLayout seq = (SequenceLayout) Uapi.member(layout, name);
        return new U64Array(name, off, (int) seq.elementCount(), (java.lang.foreign.ValueLayout.OfLong) seq.elementLayout());
    }

    public long get(final MemorySegment s, final int i) {
        return s.get(element, offset + 8L * Objects.checkIndex(i, length));
    }

    public void set(final MemorySegment s, final int i, final long v) {
        s.set(element, offset + 8L * Objects.checkIndex(i, length), v);
    }
}
