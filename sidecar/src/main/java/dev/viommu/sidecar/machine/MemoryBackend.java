package dev.viommu.sidecar.machine;

import dev.viommu.core.mem.GuestRegion;
import dev.viommu.core.mem.MappedRegions;
import dev.viommu.core.posix.Posix;

/** A RAM region object ({@code object-add memory-backend-*}): its mapping and, for memfds, the fd it owns. */
public record MemoryBackend(String id, String qomType, GuestRegion region, int ownedFd, String source) {
    public void close() {
        try {
            MappedRegions.unmap(region);
        } catch (Exception ignored) {
            // the region is gone from guest memory already; nothing else refers to the mapping
        }
        Posix.closeQuietly(ownedFd);
    }
}
