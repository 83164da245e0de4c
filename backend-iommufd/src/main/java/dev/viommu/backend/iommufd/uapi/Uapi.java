package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.SequenceLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.UnionLayout;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Building blocks for the uAPI struct layouts. The kernel's types map one to one: {@code __u32}/{@code __s32} to
 * JAVA_INT, {@code __aligned_u64} to JAVA_LONG (8-byte aligned on LP64, as in C), {@code __aligned_le64} to a
 * little-endian JAVA_LONG. None of the iommufd/VFIO structs has compiler-inserted padding, so
 * {@link #struct} refuses any layout that would need it (structLayout itself rejects misaligned members).
 */
public final class Uapi {
    /** {@code __aligned_le64}: explicit little-endian (SMMUv3 STE, CMD and EVT words). */
    public static final ValueLayout.OfLong LE64 = JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN);

    private Uapi() {}

    public static StructLayout struct(final String cName, final MemoryLayout... members) {
        return MemoryLayout.structLayout(members).withName(cName);
    }

    public static ValueLayout.OfByte u8(final String name) { return JAVA_BYTE.withName(name); }

    public static ValueLayout.OfShort u16(final String name) { return JAVA_SHORT.withName(name); }

    public static ValueLayout.OfInt u32(final String name) { return JAVA_INT.withName(name); }

    public static ValueLayout.OfLong u64(final String name) { return JAVA_LONG.withName(name); }

    public static SequenceLayout u8s(final int n, final String name) {
        return MemoryLayout.sequenceLayout(n, JAVA_BYTE).withName(name);
    }

    public static SequenceLayout u32s(final int n, final String name) {
        return MemoryLayout.sequenceLayout(n, JAVA_INT).withName(name);
    }

    public static SequenceLayout u64s(final int n, final String name) {
        return MemoryLayout.sequenceLayout(n, JAVA_LONG).withName(name);
    }

    public static SequenceLayout le64s(final int n, final String name) {
        return MemoryLayout.sequenceLayout(n, LE64).withName(name);
    }

    /** A C flexible array member: no bytes of its own, but it keeps its element's alignment. */
    public static SequenceLayout flex(final MemoryLayout element, final String name) {
        return MemoryLayout.sequenceLayout(0, element).withName(name);
    }

    /** An anonymous C union; its members are found by name as if they were the struct's own. */
    public static UnionLayout union(final MemoryLayout... members) {
        return MemoryLayout.unionLayout(members);
    }

    /**
     * Byte offset of the member called {@code name}, looking through anonymous unions and structs (as C does), or
     * -1 when absent.
     */
    public static long offsetOf(final GroupLayout layout, final String name) {
        long off = 0;
        for (final MemoryLayout m : layout.memberLayouts()) {
            if (m.name().filter(name::equals).isPresent()) return off;
            if (m.name().isEmpty() && m instanceof GroupLayout g) {
                final long inner = offsetOf(g, name);
                if (inner >= 0) return off + inner;
            }
            if (layout instanceof StructLayout) off += m.byteSize();
        }
        return -1;
    }

    /** The member called {@code name} (through anonymous groups), or null. */
    public static MemoryLayout member(final GroupLayout layout, final String name) {
        for (final MemoryLayout m : layout.memberLayouts()) {
            if (m.name().filter(name::equals).isPresent()) return m;
            if (m.name().isEmpty() && m instanceof GroupLayout g) {
                final MemoryLayout inner = member(g, name);
                if (inner != null) return inner;
            }
        }
        return null;
    }

    static long requireOffset(final GroupLayout layout, final String name, final long width) {
        final long off = offsetOf(layout, name);
        if (off < 0) throw new IllegalArgumentException(layout.name().orElse("?") + " has no member " + name);
        final MemoryLayout m = member(layout, name);
        if (m.byteSize() != width && !(m instanceof SequenceLayout)) {
            throw new IllegalArgumentException(layout.name().orElse("?") + "." + name + " is " + m.byteSize() + " bytes, not " + width);
        }
        return off;
    }
}
