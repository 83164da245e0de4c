package dev.viommu.core.spi;

import java.util.List;
import java.util.Locale;

/**
 * A typed, validated device property, as QEMU's {@code -device intel-iommu,aw-bits=48,caching-mode=on} has.
 * Values arrive from JSON (a boolean, number or string) or from a {@code key=value} string; both are accepted
 * in QEMU's spellings ({@code on/off/true/false/yes/no}, decimal or {@code 0x} hex).
 */
public record PropertySpec(String name, Type type, Object defaultValue, long min, long max, List<String> choices,
                           String description) {

    public enum Type { BOOL, UINT, STRING, ENUM }

    public static PropertySpec bool(final String name, final boolean dflt, final String description) {
        return new PropertySpec(name, Type.BOOL, dflt, 0, 1, List.of(), description);
    }

    /** An unsigned integer in {@code [min, max]}. */
    public static PropertySpec uint(final String name, final long dflt, final long min, final long max, final String description) {
        if (dflt < min || dflt > max) throw new IllegalArgumentException(name + ": default outside range");
        return new PropertySpec(name, Type.UINT, dflt, min, max, List.of(), description);
    }

    /** An unsigned integer that must be one of {@code allowed}. */
    public static PropertySpec uintOf(final String name, final long dflt, final List<Long> allowed, final String description) {
        final List<String> c = allowed.stream().map(String::valueOf).toList();
        return new PropertySpec(name, Type.UINT, dflt, allowed.stream().mapToLong(Long::longValue).min().orElseThrow(),
                allowed.stream().mapToLong(Long::longValue).max().orElseThrow(), c, description);
    }

    public static PropertySpec string(final String name, final String dflt, final String description) {
        return new PropertySpec(name, Type.STRING, dflt, 0, 0, List.of(), description);
    }

    public static PropertySpec choice(final String name, final String dflt, final List<String> choices, final String description) {
        if (!choices.contains(dflt)) throw new IllegalArgumentException(name + ": default not a choice");
        return new PropertySpec(name, Type.ENUM, dflt, 0, 0, List.copyOf(choices), description);
    }

    /** Converts a raw value to this property's type, or throws {@link PropertyException} saying what was expected. */
    public Object parse(final String driver, final Object raw) throws PropertyException {
        return switch (type) {
            case BOOL -> parseBool(driver, raw);
            case UINT -> parseUint(driver, raw);
            case STRING -> {
                if (!(raw instanceof String s)) throw new PropertyException(driver, name, "expects a string");
                yield s;
            }
            case ENUM -> {
                if (!(raw instanceof String s) || !choices.contains(s)) {
                    throw new PropertyException(driver, name, "expects one of " + choices + ", got " + raw);
                }
                yield s;
            }
        };
    }

    private Boolean parseBool(final String driver, final Object raw) throws PropertyException {
        if (raw instanceof Boolean b) return b;
        if (raw instanceof String s) {
            switch (s.toLowerCase(Locale.ROOT)) {
                case "on", "true", "yes", "1" -> { return true; }
                case "off", "false", "no", "0" -> { return false; }
                default -> { }
            }
        }
        throw new PropertyException(driver, name, "expects a bool ('on' or 'off'), got " + raw);
    }

    private Long parseUint(final String driver, final Object raw) throws PropertyException {
        long v;
        if (raw instanceof Integer || raw instanceof Long || raw instanceof Short) {
            v = ((Number) raw).longValue();
        } else if (raw instanceof java.math.BigInteger) {
            throw new PropertyException(driver, name, "value " + raw + " is out of range");
        } else if (raw instanceof String s) {
            try {
                v = s.startsWith("0x") || s.startsWith("0X") ? Long.parseUnsignedLong(s.substring(2), 16) : Long.parseLong(s);
            } catch (NumberFormatException e) {
                throw new PropertyException(driver, name, "expects an unsigned integer, got '" + s + "'");
            }
        } else {
            throw new PropertyException(driver, name, "expects an unsigned integer, got " + raw);
        }
        if (v < min || v > max) throw new PropertyException(driver, name, "value " + v + " is out of range [" + min + ", " + max + "]");
        if (!choices.isEmpty() && !choices.contains(Long.toString(v))) {
            throw new PropertyException(driver, name, "value " + v + " is not one of " + choices);
        }
        return v;
    }
}
