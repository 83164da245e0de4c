package dev.viommu.core.spi;

import java.util.List;

/**
 * A device model that is a PCI function (virtio-pci). The hypervisor presents the function's configuration space
 * to the guest and forwards every config access here, so the device sees what the guest writes to its own
 * capabilities (MSI-X enable and mask, for example). The hypervisor keeps owning bus-level state (BAR addresses,
 * the command register's memory and bus-master enables, the bus number): writes to those are still forwarded,
 * and the device keeps them so reads return what was written.
 * <p>
 * On the data plane, config space is region {@link #CONFIG_REGION} of the device's MMIO frames.
 */
public interface PciFunction {
    /** The data-plane region index that addresses PCI configuration space. */
    int CONFIG_REGION = 0xFF;

    /** Size of the configuration space (PCIe extended: 4 KiB). */
    int CONFIG_SIZE = 0x1000;

    /** A BAR and the MMIO region ({@link DeviceModel#mmioRegions()} index) behind it. */
    record Bar(int index, int region, long size, boolean is64Bit, boolean prefetchable) {}

    long configRead(int offset, int size);

    void configWrite(int offset, int size, long value);

    List<Bar> bars();
}
