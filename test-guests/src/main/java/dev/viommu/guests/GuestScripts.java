package dev.viommu.guests;

import java.util.ArrayList;
import java.util.List;

/** Every guest script, by device. */
public final class GuestScripts {
    private GuestScripts() {}

    public static List<GuestScript> all() {
        final List<GuestScript> all = new ArrayList<>();
        all.addAll(dev.viommu.guests.vtd.VtdScripts.all());
        all.addAll(dev.viommu.guests.smmuv3.SmmuV3Scripts.all());
        all.addAll(dev.viommu.guests.virtio.VirtioScripts.all());
        return all;
    }

    public static GuestScript byName(final String name) {
        for (GuestScript s : all()) if (s.name().equals(name)) return s;
        throw new IllegalArgumentException("no guest script '" + name + "'; have " + all().stream().map(GuestScript::name).toList());
    }
}
