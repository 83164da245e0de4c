package dev.viommu.core.translate;

/** Access flags of a DMA request and permissions of a translation, as a bit set (no allocation on hot paths). */
public final class AccessType {
    public static final int READ = 1;
    public static final int WRITE = 2;
    /** Instruction fetch (execute-requested). */
    public static final int EXEC = 4;
    /** Privileged (supervisor) request. */
    public static final int PRIV = 8;

    private AccessType() {}

    public static String toString(final int flags) {
        final StringBuilder sb = new StringBuilder();
        if ((flags & READ) != 0) sb.append('r');
        if ((flags & WRITE) != 0) sb.append('w');
        if ((flags & EXEC) != 0) sb.append('x');
        if ((flags & PRIV) != 0) sb.append('p');
        return sb.toString();
    }
}
