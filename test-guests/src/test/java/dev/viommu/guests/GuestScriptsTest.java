package dev.viommu.guests;

import dev.viommu.core.guest.DirectMachine;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;

/** Every guest script, in process and through the real sidecar process. */
class GuestScriptsTest {
    @TestFactory
    List<DynamicTest> everyScriptInProcess() {
        final List<DynamicTest> tests = new ArrayList<>();
        assertFalse(GuestScripts.all().isEmpty(), "no guest scripts are registered");
        for (GuestScript s : GuestScripts.all()) {
            tests.add(DynamicTest.dynamicTest(s.name() + " (direct)", () -> {
                try (DirectMachine m = new DirectMachine(s.driver(), s.properties(), s.ramSize())) {
                    s.run(m, new Narrator());
                }
            }));
        }
        return tests;
    }

    @TestFactory
    List<DynamicTest> everyScriptThroughTheSidecarProcess() {
        final List<DynamicTest> tests = new ArrayList<>();
        for (GuestScript s : GuestScripts.all()) {
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
