package dev.viommu.core.spi;

/**
 * Interrupt remapping, for a model that has it (VT-d's IRTE table): a remappable MSI a device wrote becomes the
 * interrupt the hypervisor must deliver, or is blocked (with the fault recorded guest-visibly).
 */
public interface InterruptRemapper {
    /** The outcome, filled in place. */
    final class Result {
        public boolean delivered;
        public long address;
        public int data;
        public int faultReason;

        public Result deliver(final long a, final int d) {
            delivered = true;
            address = a;
            data = d;
            faultReason = 0;
            return this;
        }

        public Result block(final int reason) {
            delivered = false;
            address = 0;
            data = 0;
            faultReason = reason;
            return this;
        }
    }

    /** Remaps the MSI {@code (address, data)} that {@code sourceId} wrote. Never throws for guest values. */
    Result remap(int sourceId, long address, int data, Result out);
}
