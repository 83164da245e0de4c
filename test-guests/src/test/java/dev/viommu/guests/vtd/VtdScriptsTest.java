package dev.viommu.guests.vtd;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.guests.Demo;
import dev.viommu.guests.GuestScript;
import dev.viommu.guests.GuestScripts;
import dev.viommu.guests.Narrator;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The VT-d scripts are registered, cover the issue's list, and tell a story naming Linux's functions. */
class VtdScriptsTest {
    @Test
    void shouldRegisterEveryScriptTheIssueAsksFor() {
        final Set<String> names = GuestScripts.all().stream().map(GuestScript::name).collect(Collectors.toSet());
        for (String n : List.of("vtd-legacy-boot", "vtd-scalable-boot", "vtd-legacy-map-dma", "vtd-legacy-unmap-psi-fault",
                Demo.DEFAULT, "vtd-pasid-first-stage", "vtd-page-request", "vtd-malformed-descriptor-iqe",
                "vtd-interrupt-remapping")) {
            assertTrue(names.contains(n), n + " is registered");
        }
    }

    @Test
    void shouldNarrateTheDefaultScriptStepByStepWithLinuxFunctionNames() throws Exception {
        final GuestScript s = GuestScripts.byName(Demo.DEFAULT);
        final Narrator n = new Narrator();
        try (DirectMachine m = new DirectMachine(s.driver(), s.properties(), s.ramSize())) {
            s.run(m, n);
        }
        final String story = String.join("\n", n.lines());
        for (String fn : List.of("intel_iommu_init_qi", "intel_setup_irq_remapping", "iommu_set_root_entry", "qi_flush_context",
                "qi_flush_pasid_cache", "qi_flush_iotlb", "dmar_set_interrupt", "iommu_enable_translation",
                "intel_pasid_setup_sm_context", "intel_pasid_setup_second_level", "intel_iommu_map_pages",
                "intel_iommu_unmap_pages", "dmar_fault")) {
            assertTrue(story.contains(fn), "the story names " + fn + ":\n" + story);
        }
        assertTrue(n.checks() >= 10, "checks: " + n.checks());
        assertEquals(0, n.lines().stream().filter(l -> l.contains("FAILED")).count());
    }
}
