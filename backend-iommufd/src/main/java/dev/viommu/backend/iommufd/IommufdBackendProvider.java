package dev.viommu.backend.iommufd;

import dev.viommu.core.host.HostBackend;
import dev.viommu.core.host.HostBackendProvider;
import dev.viommu.core.host.HostException;
import dev.viommu.core.mem.GuestMemory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Kind {@code "iommufd"}: available iff {@code /dev/iommu} exists. Config keys: {@code "device"} (default
 * {@code /dev/iommu}) or {@code "fd"} (an iommufd the hypervisor passed, as an integer). A passed descriptor is
 * checked to be {@code /dev/iommu} ({@link Iommufd#requireIommufd}) before it is adopted; a refused one is left
 * open, still the caller's.
 */
public final class IommufdBackendProvider implements HostBackendProvider {
    @Override public String kind() { return "iommufd"; }

    @Override public boolean available() { return Files.exists(Path.of(Iommufd.DEV_IOMMU)); }

    @Override
    public HostBackend create(final Map<String, Object> config, final Supplier<GuestMemory> memory)
            throws HostException {
        final Object fd = config == null ? null : config.get("fd");
        if (fd instanceof Number n) {
            Iommufd.requireIommufd(n.intValue());
            return new IommufdBackend(Iommufd.adopt(n.intValue()), memory);
        }
        final Object path = config == null ? null : config.get("device");
        return IommufdBackend.open(path == null ? Iommufd.DEV_IOMMU : path.toString(), memory);
    }
}
