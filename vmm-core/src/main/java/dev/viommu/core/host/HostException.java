package dev.viommu.core.host;

import dev.viommu.core.posix.Errno;

/** A host operation that failed, with the errno the kernel (or the simulated host) returned. */
public final class HostException extends Exception {
    private final String operation;
    private final int errno;

    public HostException(final String operation, final int errno) {
        super(operation + ": " + Errno.name(errno));
        this.operation = operation;
        this.errno = errno;
    }

    public HostException(final String operation, final int errno, final String detail) {
        super(operation + ": " + Errno.name(errno) + " (" + detail + ")");
        this.operation = operation;
        this.errno = errno;
    }

    public String operation() { return operation; }

    public int errno() { return errno; }
}
