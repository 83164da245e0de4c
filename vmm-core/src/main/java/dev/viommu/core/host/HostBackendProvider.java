package dev.viommu.core.host;

import dev.viommu.core.mem.GuestMemory;

import java.util.Map;
import java.util.function.Supplier;

/**
 * Creates host backends by kind ({@code iommufd}, {@code sim}); found with {@link java.util.ServiceLoader}. The
 * backend gets guest memory so it can turn guest-physical map requests into its own mappings.
 */
public interface HostBackendProvider {
    String kind();

    /** Whether this backend can run here (for example, {@code /dev/iommu} exists). */
    boolean available();

    /**
     * A backend from {@code config}. A descriptor the config hands over (iommufd's {@code "fd"}) belongs to the
     * backend once this returns, and is closed by its {@link HostBackend#close}; when this throws, the caller
     * still owns it and it is left open.
     */
    HostBackend create(Map<String, Object> config, Supplier<GuestMemory> memory) throws HostException;
}
