package dev.viommu.core.posix;

import java.io.IOException;

/** A failed system call, with the errno it set. A host error: never used for guest misbehaviour. */
public final class PosixException extends IOException {
    private final String call;
    private final int errno;

    public PosixException(final String call, final int errno) {
        super(call + " failed: " + Errno.name(errno));
        this.call = call;
        this.errno = errno;
    }

    public String call() { return call; }

    public int errno() { return errno; }
}
