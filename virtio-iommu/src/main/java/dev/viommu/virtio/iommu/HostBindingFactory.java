package dev.viommu.virtio.iommu;

import dev.viommu.core.spi.DeviceContext;

import java.util.ServiceLoader;

/**
 * Where the host binding comes from: a plugin found with {@link ServiceLoader}
 * ({@code META-INF/services/dev.viommu.virtio.iommu.HostBindingFactory}), so that the host-binding module can
 * turn the device's events into iommufd IOAS calls without the device depending on it. Without a plugin, or
 * when the sidecar has no host backend, the device uses {@link HostBinding#NONE}.
 */
public interface HostBindingFactory {
    /** Returns a binding for the device {@code deviceId}, or null to decline (for example for another backend kind). */
    HostBinding create(String deviceId, DeviceContext context);

    static HostBinding find(final String deviceId, final DeviceContext context) {
        for (HostBindingFactory f : ServiceLoader.load(HostBindingFactory.class, HostBindingFactory.class.getClassLoader())) {
            final HostBinding b = f.create(deviceId, context);
            if (b != null) return b;
        }
        return HostBinding.NONE;
    }
}
