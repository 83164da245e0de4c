package dev.viommu.bench;

/** Which device the data-plane benchmarks read a register of. */
final class BenchDevices {
    private BenchDevices() {}

    /** The VT-d model: its VER register at offset 0 is a plain read with no side effect. */
    static final String MMIO_DRIVER = "intel-iommu";
    static final long MMIO_OFFSET = 0x0;
}
