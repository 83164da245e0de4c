package dev.viommu.backend.sim;

import dev.viommu.core.host.HostDeviceRef;
import dev.viommu.core.host.HostException;
import dev.viommu.core.host.ObjectId;
import dev.viommu.core.mem.GuestMemory;
import dev.viommu.core.translate.AccessType;
import org.junit.jupiter.api.function.Executable;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A simulated host for the SPI-extension tests: two nesting SMMUv3s, one SMMUv3 without nesting, a nesting VT-d
 * and a VT-d without nesting or dirty tracking, one device behind each, 16 MiB of guest RAM at 1 GiB and a
 * host-wide reserved range at [4 GiB, 8 GiB).
 */
final class SimFixture {
    static final int RW = AccessType.READ | AccessType.WRITE;
    static final long RAM = 0x4000_0000L;

    final GuestMemory ram = GuestMemory.anonymous(RAM, 16 << 20);
    final SimHostBackend sim = new SimHostBackend(Map.of(
            "iommus", List.of(
                    Map.of("name", "smmu0", "type", "smmuv3", "nesting", true),
                    Map.of("name", "smmu1", "type", "smmuv3", "nesting", true),
                    Map.of("name", "smmu2", "type", "smmuv3", "nesting", false),
                    Map.of("name", "dmar0", "type", "vtd", "nesting", true),
                    Map.of("name", "dmar1", "type", "vtd", "nesting", false, "dirtyTracking", false)),
            "devices", List.of(
                    Map.of("path", "sim:nic0", "iommu", "smmu0"),
                    Map.of("path", "sim:nic1", "iommu", "smmu1"),
                    Map.of("path", "sim:nic2", "iommu", "smmu2"),
                    Map.of("path", "sim:gpu0", "iommu", "dmar0"),
                    Map.of("path", "sim:old0", "iommu", "dmar1", "pasidBits", 0)),
            "reserved", List.of(Map.of("start", "0x100000000", "last", "0x1ffffffff"))), () -> ram);

    ObjectId.Device bind(final String path) throws HostException { return sim.bindDevice(HostDeviceRef.path(path)); }

    static int errno(final Executable e) { return assertThrows(HostException.class, e).errno(); }
}
