package dev.viommu.backend.sim;

import dev.viommu.core.host.HostBackend;
import dev.viommu.core.host.HostBackendProvider;
import dev.viommu.core.host.HostException;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.posix.Errno;

import java.util.Map;
import java.util.function.Supplier;

/** Kind {@code "sim"}: always available; the config is the {@code "host"} section described in docs/sim.md. */
public final class SimHostBackendProvider implements HostBackendProvider {
    @Override public String kind() { return "sim"; }

    @Override public boolean available() { return true; }

    @Override
    public HostBackend create(final Map<String, Object> config, final Supplier<GuestMemory> memory) throws HostException {
        try {
            return new SimHostBackend(SimConfig.fromMap(config), memory);
        } catch (final IllegalArgumentException | ClassCastException e) {
            throw new HostException("sim host config", Errno.EINVAL, e.getMessage());
        }
    }
}
