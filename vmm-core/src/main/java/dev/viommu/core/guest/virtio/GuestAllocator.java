package dev.viommu.core.guest.virtio;

/** A bump allocator of guest-physical memory for the driver's rings and buffers (the kernel's kmalloc/dma_alloc). */
public final class GuestAllocator {
    private long next;
    private final long limit;

    public GuestAllocator(final long base, final long limit) {
        this.next = base;
        this.limit = limit;
    }

    public long alloc(final long size, final long align) {
        final long a = (next + align - 1) & -align;
        if (a + size > limit) throw new IllegalStateException("guest allocator exhausted");
        next = a + size;
        return a;
    }
}
