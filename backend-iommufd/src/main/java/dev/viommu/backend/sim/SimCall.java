package dev.viommu.backend.sim;

import dev.viommu.core.posix.Errno;

import java.util.List;

/**
 * One call the simulated host received, in order: the uAPI operation it stands for (the ioctl's name, as the
 * real backend names it in errors), its arguments, and the errno it returned (0 = success).
 */
public record SimCall(long seq, String op, List<Object> args, int errno) {
    public boolean ok() { return errno == 0; }

    @Override
    public String toString() {
        final StringBuilder sb = new StringBuilder(op).append('(');
        for (int i = 0; i < args.size(); i++) {
            if (i > 0) sb.append(", ");
            final Object a = args.get(i);
            sb.append(a instanceof Long l ? "0x" + Long.toHexString(l) : String.valueOf(a));
        }
        return sb.append(") = ").append(errno == 0 ? "ok" : Errno.name(errno)).toString();
    }
}
