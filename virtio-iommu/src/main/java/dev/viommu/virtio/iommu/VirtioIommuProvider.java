package dev.viommu.virtio.iommu;

import dev.viommu.core.spi.DeviceContext;
import dev.viommu.core.spi.DeviceException;
import dev.viommu.core.spi.DeviceModel;
import dev.viommu.core.spi.DeviceModelProvider;
import dev.viommu.core.spi.Properties;
import dev.viommu.core.spi.PropertySpec;

import java.util.List;

/**
 * The virtio-iommu device plugins, named as QEMU names them: {@code virtio-iommu-device} (virtio-mmio, one
 * region, wired line 0) and {@code virtio-iommu-pci} (virtio-pci modern: region 0 = BAR 4, region 1 = BAR 1
 * MSI-X). Both take the same properties ({@link VirtioIommuConfig#properties()}).
 */
public abstract class VirtioIommuProvider implements DeviceModelProvider {
    private final VirtioIommuDevice.Transport transport;

    VirtioIommuProvider(final VirtioIommuDevice.Transport transport) { this.transport = transport; }

    @Override public List<PropertySpec> properties() { return VirtioIommuConfig.properties(); }

    @Override
    public DeviceModel create(final String id, final Properties properties, final DeviceContext context) throws DeviceException {
        final VirtioIommuConfig cfg;
        try {
            cfg = VirtioIommuConfig.from(properties);
        } catch (IllegalArgumentException e) {
            throw new DeviceException(driver() + ": " + e.getMessage(), e);
        }
        return new VirtioIommuDevice(id, driver(), transport, cfg, context, HostBindingFactory.find(id, context));
    }

    /** virtio-iommu over virtio-mmio. */
    public static final class Mmio extends VirtioIommuProvider {
        public Mmio() { super(VirtioIommuDevice.Transport.MMIO); }

        @Override public String driver() { return "virtio-iommu-device"; }

        @Override public String description() { return "virtio-iommu (virtio 1.2 §5.13) over virtio-mmio v2"; }
    }

    /** virtio-iommu over virtio-pci (modern). */
    public static final class Pci extends VirtioIommuProvider {
        public Pci() { super(VirtioIommuDevice.Transport.PCI); }

        @Override public String driver() { return "virtio-iommu-pci"; }

        @Override public String description() { return "virtio-iommu (virtio 1.2 §5.13) over virtio-pci modern"; }
    }
}
