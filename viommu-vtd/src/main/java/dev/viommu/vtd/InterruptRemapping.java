package dev.viommu.vtd;

/**
 * The interrupt-remapping service (VT-d chapter 5): the hypervisor hands it each MSI a device behind this unit
 * writes, and delivers what comes back.
 */
public interface InterruptRemapping {

    /** The outcome of remapping one MSI. */
    sealed interface Result {
        /**
         * Deliver this interrupt. {@code address}/{@code data} are the compatibility-format MSI that encodes it
         * (x2APIC destination bits 31:8 in address bits 63:40).
         */
        record Deliver(long address, int data, int destination, int vector, int deliveryMode, boolean logical,
                       boolean levelTriggered, boolean redirectionHint) implements Result {}

        /** Blocked with a fault reason (recorded unless FPD suppressed it). */
        record Blocked(int faultReason, String name) implements Result {}
    }

    Result remap(int sourceId, long address, int data);
}
