package dev.viommu.backend.sim;

import dev.viommu.core.host.IovaRange;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The simulated host: physical IOMMUs, the devices behind them and reserved IOVA ranges. Parsed from the
 * sidecar config's {@code "host"} section (backend-iommufd/docs/sim.md). Numbers may be JSON numbers or strings
 * ({@code "0xfee00000"}).
 */
public record SimConfig(List<Iommu> iommus, List<Device> devices, List<IovaRange> reserved, boolean autoDevices) {
    /** The physical IOMMU's architecture. */
    public enum Type { VTD, SMMUV3 }

    /**
     * One physical IOMMU. {@code capReg}/{@code ecapReg} (VT-d) or {@code idr} (SMMUv3) override the registers
     * built from the feature flags; {@code reserved} are this IOMMU's own reserved windows (the MSI window), which
     * an IOAS loses when a device behind it attaches.
     */
    public record Iommu(String name, Type type, boolean nesting, boolean dirtyTracking, int pasidBits, boolean pri,
                        boolean ats, int addressBits, Long capReg, Long ecapReg, int[] idr,
                        List<IovaRange> reserved) {}

    /** A simulated device: its path (what bind names), the IOMMU it sits behind, its PASID width. */
    public record Device(String path, String iommu, int pasidBits) {}

    public SimConfig {
        iommus = List.copyOf(iommus);
        devices = List.copyOf(devices);
        reserved = List.copyOf(reserved);
        for (final Device d : devices) {
            if (iommus.stream().noneMatch(i -> i.name().equals(d.iommu()))) {
                throw new IllegalArgumentException("device " + d.path() + " is behind unknown IOMMU " + d.iommu());
            }
        }
        if (iommus.isEmpty()) throw new IllegalArgumentException("the simulated host needs at least one IOMMU");
    }

    /** x86 MSI window, reserved on every VT-d attach (iommufd-uapi.md §2.1). */
    public static final IovaRange X86_MSI = new IovaRange(0xFEE0_0000L, 0xFEEF_FFFFL);
    /** ARM SW-MSI window (0x8000000, 1 MiB) that SMMUv3 reserves. */
    public static final IovaRange ARM_SW_MSI = new IovaRange(0x0800_0000L, 0x080F_FFFFL);

    /** The default host: one nesting-capable VT-d ({@code dmar0}) and one SMMUv3 ({@code smmu0}), no devices. */
    public static SimConfig defaults() {
        return new SimConfig(List.of(iommu("dmar0", Type.VTD, true), iommu("smmu0", Type.SMMUV3, true)),
                List.of(), List.of(), true);
    }

    /** An IOMMU with typical features (PASID 20 bits, PRI, ATS, dirty tracking, 48-bit) and its MSI window. */
    public static Iommu iommu(final String name, final Type type, final boolean nesting) {
        return new Iommu(name, type, nesting, true, 20, true, true, 48, null, null, null,
                List.of(type == Type.VTD ? X86_MSI : ARM_SW_MSI));
    }

    /** Parses the {@code "host"} section; null or empty gives {@link #defaults()}. */
    @SuppressWarnings("unchecked")
    public static SimConfig fromMap(final Map<String, Object> m) {
        if (m == null || m.isEmpty()) return defaults();
        final List<Iommu> iommus = new ArrayList<>();
        for (final Object o : list(m.get("iommus"))) {
            final Map<String, Object> i = (Map<String, Object>) o;
            final String name = str(i, "name", null);
            if (name == null) throw new IllegalArgumentException("iommus[]: name is required");
            final String t = str(i, "type", "vtd").toLowerCase();
            final Type type = switch (t) {
                case "vtd", "intel", "intel-iommu", "vt-d" -> Type.VTD;
                case "smmuv3", "smmu", "arm-smmuv3" -> Type.SMMUV3;
                default -> throw new IllegalArgumentException("iommus[" + name + "]: unknown type " + t);
            };
            int[] idr = null;
            if (i.get("idr") != null) {
                final List<Object> l = list(i.get("idr"));
                if (l.size() != 6) throw new IllegalArgumentException("iommus[" + name + "]: idr needs 6 values");
                idr = new int[6];
                for (int k = 0; k < 6; k++) idr[k] = (int) num(l.get(k));
            }
            final List<IovaRange> res = i.containsKey("reserved") ? ranges(i.get("reserved"))
                    : List.of(type == Type.VTD ? X86_MSI : ARM_SW_MSI);
            iommus.add(new Iommu(name, type, bool(i, "nesting", true), bool(i, "dirtyTracking", true),
                    (int) longOr(i, "pasidBits", 20), bool(i, "pri", true), bool(i, "ats", true),
                    (int) longOr(i, "addressBits", 48), i.get("cap") == null ? null : num(i.get("cap")),
                    i.get("ecap") == null ? null : num(i.get("ecap")), idr, res));
        }
        final List<Device> devices = new ArrayList<>();
        for (final Object o : list(m.get("devices"))) {
            final Map<String, Object> d = (Map<String, Object>) o;
            final String path = str(d, "path", null);
            if (path == null) throw new IllegalArgumentException("devices[]: path is required");
            final String iommu = str(d, "iommu", iommus.isEmpty() ? null : iommus.getFirst().name());
            devices.add(new Device(path, iommu, (int) longOr(d, "pasidBits", 20)));
        }
        if (iommus.isEmpty()) iommus.addAll(defaults().iommus());
        return new SimConfig(iommus, devices, ranges(m.get("reserved")), bool(m, "autoDevices", devices.isEmpty()));
    }

    @SuppressWarnings("unchecked")
    private static List<IovaRange> ranges(final Object o) {
        final List<IovaRange> out = new ArrayList<>();
        for (final Object e : list(o)) {
            final Map<String, Object> r = (Map<String, Object>) e;
            final long start = num(r.get("start"));
            final long last = r.containsKey("last") ? num(r.get("last")) : start + num(r.get("length")) - 1;
            if (Long.compareUnsigned(last, start) < 0) throw new IllegalArgumentException("reserved range ends before it starts");
            out.add(new IovaRange(start, last));
        }
        return out;
    }

    private static List<Object> list(final Object o) {
        if (o == null) return List.of();
        if (o instanceof List<?> l) return new ArrayList<>(l);
        throw new IllegalArgumentException("expected a list, got " + o);
    }

    private static String str(final Map<String, Object> m, final String k, final String dflt) {
        final Object v = m.get(k);
        return v == null ? dflt : v.toString();
    }

    private static boolean bool(final Map<String, Object> m, final String k, final boolean dflt) {
        final Object v = m.get(k);
        return v == null ? dflt : v instanceof Boolean b ? b : Boolean.parseBoolean(v.toString());
    }

    private static long longOr(final Map<String, Object> m, final String k, final long dflt) {
        final Object v = m.get(k);
        return v == null ? dflt : num(v);
    }

    static long num(final Object v) {
        if (v instanceof Number n) return n.longValue();
        if (v == null) throw new IllegalArgumentException("missing number");
        final String s = v.toString().trim().replace("_", "");
        return s.startsWith("0x") || s.startsWith("0X") ? Long.parseUnsignedLong(s.substring(2), 16) : Long.parseLong(s);
    }
}
