package dev.viommu.vtd;

import dev.viommu.core.spi.DeviceContext;
import dev.viommu.core.spi.DeviceException;
import dev.viommu.core.spi.DeviceModel;
import dev.viommu.core.spi.DeviceModelProvider;
import dev.viommu.core.spi.Properties;
import dev.viommu.core.spi.PropertySpec;

import java.util.List;

/** Creates {@code intel-iommu} devices (QEMU's driver name and property names). */
public final class VtdProvider implements DeviceModelProvider {
    public static final String DRIVER = "intel-iommu";

    @Override public String driver() { return DRIVER; }

    @Override public String description() { return "Intel VT-d remapping unit (legacy and scalable mode)"; }

    @Override public List<PropertySpec> properties() { return VtdConfig.PROPERTIES; }

    @Override
    public DeviceModel create(final String id, final Properties properties, final DeviceContext context) throws DeviceException {
        return new VtdDevice(id, VtdConfig.from(properties), context);
    }
}
