package dev.viommu.smmuv3;

import dev.viommu.core.spi.DeviceContext;
import dev.viommu.core.spi.DeviceException;
import dev.viommu.core.spi.DeviceModel;
import dev.viommu.core.spi.DeviceModelProvider;
import dev.viommu.core.spi.Properties;
import dev.viommu.core.spi.PropertyException;
import dev.viommu.core.spi.PropertySpec;

import java.util.List;

/** Creates {@code arm-smmuv3} devices (QEMU's driver name). */
public final class SmmuV3Provider implements DeviceModelProvider {
    @Override public String driver() { return SmmuV3Config.DRIVER; }

    @Override public String description() { return "Arm SMMUv3 (IHI0070): stage 1, stage 2 and nested translation"; }

    @Override public List<PropertySpec> properties() { return SmmuV3Config.properties(); }

    @Override
    public DeviceModel create(final String id, final Properties properties, final DeviceContext context) throws DeviceException {
        try {
            return new SmmuV3Device(id, SmmuV3Config.from(properties), context);
        } catch (PropertyException e) {
            throw new DeviceException(e.getMessage(), e);
        }
    }
}
