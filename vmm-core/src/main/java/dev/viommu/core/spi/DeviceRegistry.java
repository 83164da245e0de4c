package dev.viommu.core.spi;

import java.util.Map;
import java.util.ServiceLoader;
import java.util.TreeMap;

/** The device-model plugins on the class path, by driver name. */
public final class DeviceRegistry {
    private final Map<String, DeviceModelProvider> providers = new TreeMap<>();

    public DeviceRegistry(final ClassLoader loader) {
        for (DeviceModelProvider p : ServiceLoader.load(DeviceModelProvider.class, loader)) {
            final DeviceModelProvider prev = providers.putIfAbsent(p.driver(), p);
            if (prev != null) throw new IllegalStateException("two plugins for driver " + p.driver());
        }
    }

    public static DeviceRegistry load() { return new DeviceRegistry(DeviceRegistry.class.getClassLoader()); }

    public Map<String, DeviceModelProvider> providers() { return java.util.Collections.unmodifiableMap(providers); }

    /** Validates the properties and creates the device. */
    public DeviceModel create(final String driver, final String id, final Map<String, ?> rawProperties,
                              final DeviceContext context) throws PropertyException, DeviceException {
        final DeviceModelProvider p = providers.get(driver);
        if (p == null) throw new PropertyException("'" + driver + "' is not a valid device model name");
        final Properties props = Properties.parse(driver, p.properties(), rawProperties);
        return p.create(id, props, context);
    }
}
