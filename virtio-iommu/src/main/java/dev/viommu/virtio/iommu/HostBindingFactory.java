package dev.viommu.virtio.iommu;

import dev.viommu.core.spi.DeviceContext;

import java.util.ServiceLoader;

/**
 * Where the host binding comes from: a plugin found with {@link ServiceLoader}
 * ({@code META-INF/services/dev.viommu.virtio.iommu.HostBindingFactory}), so that the host-binding module can
 * replace the default. Without a plugin the device uses {@link HostBackendBinding} over the sidecar's host backend
 * ({@code ctx.host()}), or {@link HostBinding#NONE} when the sidecar has none (kind {@code "none"}: emulated
 * endpoints only).
 */
public interface HostBindingFactory {
    /** Returns a binding for the device {@code deviceId}, or null to decline (for example for another backend kind). */
    HostBinding create(String deviceId, DeviceContext context);

    static HostBinding find(final String deviceId, final DeviceContext context) {
        for (HostBindingFactory f : ServiceLoader.load(HostBindingFactory.class, HostBindingFactory.class.getClassLoader())) {
            final HostBinding b = f.create(deviceId, context);
            if (b != null) return b;
        }
        if (context.host() != null && !"none".equals(context.host().kind())) {
            return new HostBackendBinding(context.host(), context.memory());
        }
        return HostBinding.NONE;
    }
}
