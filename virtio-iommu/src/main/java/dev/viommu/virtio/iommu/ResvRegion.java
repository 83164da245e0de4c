package dev.viommu.virtio.iommu;

import dev.viommu.virtio.spec.ProbeProperty;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * A reserved IOVA region reported in PROBE as a RESV_MEM property (§5.13.6.8.2): {@code [start, end]} inclusive,
 * subtype RESERVED (never map) or MSI (the doorbell, already translated).
 */
public record ResvRegion(long start, long end, int subtype) {
    public ResvRegion {
        if (Long.compareUnsigned(end, start) < 0) throw new IllegalArgumentException("end below start");
        if (subtype != ProbeProperty.RESV_MEM_T_RESERVED && subtype != ProbeProperty.RESV_MEM_T_MSI) {
            throw new IllegalArgumentException("subtype " + subtype);
        }
    }

    public static ResvRegion reserved(final long start, final long end) { return new ResvRegion(start, end, ProbeProperty.RESV_MEM_T_RESERVED); }

    public static ResvRegion msi(final long start, final long end) { return new ResvRegion(start, end, ProbeProperty.RESV_MEM_T_MSI); }

    public boolean isMsi() { return subtype == ProbeProperty.RESV_MEM_T_MSI; }

    public boolean intersects(final long s, final long e) {
        return Long.compareUnsigned(s, end) <= 0 && Long.compareUnsigned(start, e) <= 0;
    }

    /**
     * The spec's rules for one endpoint (§5.13.6.8.2.2): at most one MSI region and no overlaps. The first MSI
     * region wins; reserved regions lose the parts an MSI region covers; overlapping or touching reserved
     * regions merge. The result is sorted by start.
     */
    public static List<ResvRegion> normalize(final List<ResvRegion> in) {
        ResvRegion msi = null;
        final List<long[]> reserved = new ArrayList<>();
        for (ResvRegion r : in) {
            if (r.isMsi() && msi == null) msi = r;
            else reserved.add(new long[] {r.start, r.end});     // a second MSI region degrades to RESERVED
        }
        if (msi != null) {
            final List<long[]> cut = new ArrayList<>();
            for (long[] r : reserved) {
                if (!msi.intersects(r[0], r[1])) { cut.add(r); continue; }
                if (Long.compareUnsigned(r[0], msi.start) < 0) cut.add(new long[] {r[0], msi.start - 1});
                if (Long.compareUnsigned(r[1], msi.end) > 0) cut.add(new long[] {msi.end + 1, r[1]});
            }
            reserved.clear();
            reserved.addAll(cut);
        }
        reserved.sort((a, b) -> Long.compareUnsigned(a[0], b[0]));
        final List<ResvRegion> out = new ArrayList<>();
        long[] cur = null;
        for (long[] r : reserved) {
            if (cur != null && (Long.compareUnsigned(r[0], cur[1]) <= 0 || (cur[1] != -1L && r[0] == cur[1] + 1))) {
                if (Long.compareUnsigned(r[1], cur[1]) > 0) cur[1] = r[1];
            } else {
                if (cur != null) out.add(reserved(cur[0], cur[1]));
                cur = new long[] {r[0], r[1]};
            }
        }
        if (cur != null) out.add(reserved(cur[0], cur[1]));
        if (msi != null) out.add(msi);
        out.sort(Comparator.comparing(ResvRegion::start, Long::compareUnsigned));
        return List.copyOf(out);
    }

    /**
     * Parses {@code "start:end[:msi|reserved],..."} (hex with 0x or decimal; end inclusive), as QEMU's
     * {@code reserved-regions} property spells a region list.
     */
    public static List<ResvRegion> parseList(final String spec) {
        final List<ResvRegion> out = new ArrayList<>();
        if (spec == null || spec.isBlank()) return out;
        for (String item : spec.split(",")) {
            final String[] p = item.trim().split(":");
            if (p.length < 2 || p.length > 3) throw new IllegalArgumentException("region '" + item + "': expected start:end[:type]");
            final long s = parseNum(p[0]), e = parseNum(p[1]);
            final int type = p.length == 2 ? ProbeProperty.RESV_MEM_T_RESERVED : switch (p[2].trim()) {
                case "msi", "1" -> ProbeProperty.RESV_MEM_T_MSI;
                case "reserved", "0" -> ProbeProperty.RESV_MEM_T_RESERVED;
                default -> throw new IllegalArgumentException("region '" + item + "': type must be msi or reserved");
            };
            out.add(new ResvRegion(s, e, type));
        }
        return out;
    }

    private static long parseNum(final String s) {
        final String t = s.trim();
        return t.startsWith("0x") || t.startsWith("0X") ? Long.parseUnsignedLong(t.substring(2), 16) : Long.parseUnsignedLong(t);
    }
}
