package dev.viommu.core.spi;

/** How a device model raises interrupts; the sidecar forwards them to the hypervisor over the data plane. */
public interface InterruptSink {
    /** A message-signalled interrupt: a 32-bit write of {@code data} to {@code address}. */
    void msi(long address, int data);

    /** A wired interrupt line, asserted or deasserted. */
    void line(int line, boolean level);

    InterruptSink NONE = new InterruptSink() {
        @Override public void msi(final long address, final int data) { }
        @Override public void line(final int line, final boolean level) { }
    };
}
