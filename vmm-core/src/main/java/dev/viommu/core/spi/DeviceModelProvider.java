package dev.viommu.core.spi;

import java.util.List;

/**
 * A plugin that creates device models by driver name; found with {@link java.util.ServiceLoader}
 * ({@code META-INF/services/dev.viommu.core.spi.DeviceModelProvider}).
 */
public interface DeviceModelProvider {
    /** The driver name, QEMU's where QEMU has one ({@code intel-iommu}, {@code arm-smmuv3}, {@code virtio-iommu}). */
    String driver();

    String description();

    List<PropertySpec> properties();

    DeviceModel create(String id, Properties properties, DeviceContext context) throws DeviceException;
}
