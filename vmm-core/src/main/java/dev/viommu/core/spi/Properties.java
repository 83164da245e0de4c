package dev.viommu.core.spi;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A device's validated properties: every declared property has a typed value (given or default). */
public final class Properties {
    private final String driver;
    private final Map<String, Object> values;
    private final java.util.Set<String> given;

    private Properties(final String driver, final Map<String, Object> values, final java.util.Set<String> given) {
        this.driver = driver;
        this.values = values;
        this.given = given;
    }

    /** Validates {@code raw} against {@code specs}: unknown names and ill-typed values are errors. */
    public static Properties parse(final String driver, final List<PropertySpec> specs, final Map<String, ?> raw)
            throws PropertyException {
        final Map<String, PropertySpec> byName = new LinkedHashMap<>();
        for (PropertySpec s : specs) byName.put(s.name(), s);
        final Map<String, Object> values = new LinkedHashMap<>();
        final java.util.Set<String> given = new java.util.HashSet<>();
        for (Map.Entry<String, ?> e : raw.entrySet()) {
            final PropertySpec s = byName.get(e.getKey());
            if (s == null) throw new PropertyException(driver, e.getKey(), "not found");
            values.put(s.name(), s.parse(driver, e.getValue()));
            given.add(s.name());
        }
        for (PropertySpec s : specs) values.putIfAbsent(s.name(), s.defaultValue());
        return new Properties(driver, Collections.unmodifiableMap(values), Collections.unmodifiableSet(given));
    }

    public String driver() { return driver; }

    public boolean bool(final String name) { return (Boolean) require(name); }

    public long uint(final String name) { return (Long) require(name); }

    public int intValue(final String name) { return Math.toIntExact(uint(name)); }

    public String string(final String name) { return (String) require(name); }

    /** Whether the user set {@code name} explicitly (rather than taking the default). */
    public boolean isGiven(final String name) { return given.contains(name); }

    public Map<String, Object> asMap() { return values; }

    private Object require(final String name) {
        final Object v = values.get(name);
        if (v == null) throw new IllegalArgumentException(driver + " declares no property " + name);
        return v;
    }
}
