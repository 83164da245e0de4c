package dev.viommu.core.spi;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PropertiesTest {
    private final List<PropertySpec> specs = List.of(
            PropertySpec.uintOf("aw-bits", 48, List.of(39L, 48L, 57L), "address width"),
            PropertySpec.bool("caching-mode", false, "CM"),
            PropertySpec.uint("nfr", 8, 1, 256, "fault records"),
            PropertySpec.choice("stage", "nested", List.of("1", "2", "nested"), "stages"));

    @Test
    void shouldApplyDefaultsAndParseQemuSpellings() throws Exception {
        final Properties p = Properties.parse("intel-iommu", specs, Map.of("caching-mode", "on", "aw-bits", "39", "nfr", "0x10"));
        assertTrue(p.bool("caching-mode"));
        assertEquals(39, p.uint("aw-bits"));
        assertEquals(16, p.uint("nfr"));
        assertEquals("nested", p.string("stage"));
        assertTrue(p.isGiven("nfr"));
        assertFalse(p.isGiven("stage"));
    }

    @Test
    void shouldRejectUnknownPropertiesByName() {
        final PropertyException e = assertThrows(PropertyException.class, () -> Properties.parse("intel-iommu", specs, Map.of("aw_bits", 48)));
        assertEquals("Property 'intel-iommu.aw_bits' not found", e.getMessage());
    }

    @Test
    void shouldRejectIllTypedAndOutOfRangeValues() {
        assertTrue(assertThrows(PropertyException.class, () -> Properties.parse("d", specs, Map.of("caching-mode", 3L))).getMessage().contains("expects a bool"));
        assertTrue(assertThrows(PropertyException.class, () -> Properties.parse("d", specs, Map.of("aw-bits", 40L))).getMessage().contains("not one of"));
        assertTrue(assertThrows(PropertyException.class, () -> Properties.parse("d", specs, Map.of("nfr", 0L))).getMessage().contains("out of range"));
        assertTrue(assertThrows(PropertyException.class, () -> Properties.parse("d", specs, Map.of("nfr", "lots"))).getMessage().contains("unsigned integer"));
        assertTrue(assertThrows(PropertyException.class, () -> Properties.parse("d", specs, Map.of("stage", "3"))).getMessage().contains("one of"));
        assertTrue(assertThrows(PropertyException.class, () -> Properties.parse("d", specs, Map.of("nfr", true))).getMessage().contains("unsigned integer"));
    }
}
