package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

/**
 * Per-thread native memory for uAPI calls: the errno capture segment, one argument struct and a data area
 * (arrays the struct points at: IOVA ranges, hw-info data, invalidation entries, event buffers). Allocated once
 * per thread and reused, so ioctls allocate nothing; callers must not hold a slice across another call on the
 * same thread. Larger buffers (a huge invalidation batch, a dirty bitmap) come from a confined Arena instead.
 */
public final class Scratch {
    /** Room for the largest argument struct (iommu_test_cmd, 72 bytes), rounded up. */
    public static final int STRUCT_BYTES = 256;
    /** The data area: 32 KiB holds 800 fault records or 1365 VT-d invalidation entries. */
    public static final int DATA_BYTES = 32 * 1024;

    private static final ThreadLocal<Scratch> PER_THREAD = ThreadLocal.withInitial(Scratch::new);

    private final MemorySegment capture;
    private final MemorySegment struct;
    private final MemorySegment data;
    /** Pre-cut views of the struct area by size, so {@link #struct} hands out no new segment object. */
    private final MemorySegment[] structViews = new MemorySegment[STRUCT_BYTES + 1];

    private Scratch() {
        final Arena arena = Arena.ofAuto();
        capture = arena.allocate(Ioctl.CAPTURE);
        struct = arena.allocate(STRUCT_BYTES, 8);
        data = arena.allocate(DATA_BYTES, 8);
    }

    public static Scratch get() { return PER_THREAD.get(); }

    MemorySegment capture() { return capture; }

    /** This thread's argument area sized and zeroed for {@code layout}, with {@code size} set to its size. */
    public MemorySegment struct(final StructLayout layout) {
        final int n = (int) layout.byteSize();
        MemorySegment s = structViews[n];
        if (s == null) structViews[n] = s = struct.asSlice(0, n);
        s.fill((byte) 0);
        s.set(java.lang.foreign.ValueLayout.JAVA_INT, 0, n);
        return s;
    }

    /** This thread's data area, {@code bytes} long and zeroed; {@code bytes} must not exceed {@link #DATA_BYTES}. */
    public MemorySegment data(final long bytes) {
        final MemorySegment s = data.asSlice(0, bytes);
        s.fill((byte) 0);
        return s;
    }

    /** The data area without zeroing (for read buffers the kernel fills). */
    public MemorySegment dataRaw(final long bytes) { return data.asSlice(0, bytes); }
}
