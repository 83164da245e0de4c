package dev.viommu.guests.virtio;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.guests.GuestScript;
import dev.viommu.guests.GuestScripts;
import dev.viommu.guests.Narrator;
import dev.viommu.guests.SidecarMachine;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The virtio-iommu scripts are registered, cover the issue's list, narrate Linux's functions, and pass in process
 * and through the sidecar process (also part of GuestScriptsTest; here to run them alone with -Dtest).
 */
class VirtioScriptsTest {
    @Test
    void shouldRegisterEveryScriptTheIssueAsksFor() {
        final Set<String> names = GuestScripts.all().stream().map(GuestScript::name).collect(Collectors.toSet());
        for (GuestScript s : VirtioScripts.all()) assertTrue(names.contains(s.name()), s.name() + " is registered");
        for (String n : List.of("virtio-mmio-boot", "virtio-pci-boot", "virtio-mmio-map-dma-unmap-fault",
                "virtio-pci-map-dma-unmap-fault", "virtio-pci-intx-bypass", "virtio-status-codes", "virtio-limits")) {
            assertTrue(names.contains(n), n + " is registered");
        }
    }

    @Test
    void shouldNarrateTheLinuxFunctionsStepByStep() throws Exception {
        final StringBuilder story = new StringBuilder();
        for (String name : List.of("virtio-pci-map-dma-unmap-fault", "virtio-mmio-boot")) {
            final GuestScript s = GuestScripts.byName(name);
            final Narrator n = new Narrator();
            try (DirectMachine m = new DirectMachine(s.driver(), s.properties(), s.ramSize())) {
                s.run(m, n);
            }
            story.append(String.join("\n", n.lines())).append('\n');
            assertEquals(0, n.lines().stream().filter(l -> l.contains("FAILED")).count());
        }
        for (String fn : List.of("vm_probe", "vp_modern_probe", "virtio_dev_probe", "viommu_probe", "vp_find_vqs_msix",
                "viommu_init_vqs", "viommu_fill_evtq", "viommu_probe_endpoint", "viommu_attach_dev", "viommu_map_pages",
                "viommu_iotlb_sync_map", "viommu_unmap_pages", "viommu_iotlb_sync", "viommu_event_handler",
                "viommu_fault_handler", "viommu_detach_dev", "virtio_device_ready")) {
            assertTrue(story.toString().contains(fn), "the story names " + fn + ":\n" + story);
        }
    }

    @TestFactory
    List<DynamicTest> everyVirtioScriptInProcessAndThroughTheSidecar() {
        final List<DynamicTest> tests = new ArrayList<>();
        for (GuestScript s : VirtioScripts.all()) {
            tests.add(DynamicTest.dynamicTest(s.name() + " (direct)", () -> {
                try (DirectMachine m = new DirectMachine(s.driver(), s.properties(), s.ramSize())) {
                    s.run(m, new Narrator());
                }
            }));
            tests.add(DynamicTest.dynamicTest(s.name() + " (sidecar)", () -> {
                try (SidecarMachine m = SidecarMachine.start(s.driver(), s.properties(), s.ramSize())) {
                    try {
                        s.run(m, new Narrator());
                    } catch (Throwable t) {
                        throw new AssertionError(s.name() + " failed: " + t + "\nsidecar log:\n" + m.sidecar().log(), t);
                    }
                }
            }));
        }
        return tests;
    }
}
