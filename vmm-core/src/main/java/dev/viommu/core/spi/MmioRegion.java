package dev.viommu.core.spi;

/**
 * An MMIO region a device model exposes. Accesses are 1, 2, 4 or 8 bytes at an offset inside the region; the
 * transport has checked both before calling. Implementations never throw for guest-controlled values.
 */
public interface MmioRegion {
    String name();

    long size();

    long read(long offset, int size);

    void write(long offset, int size, long value);
}
