package dev.viommu.sidecar.machine;

import dev.viommu.core.posix.Posix;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Descriptors received with {@code getfd}, by name. The table owns each one until {@code closefd} closes it or
 * a command {@link #take takes} it (the taker then owns and closes it), so every received fd has one owner.
 */
public final class FdTable implements AutoCloseable {
    private final Map<String, Integer> fds = new LinkedHashMap<>();

    /** Adds {@code fd} under {@code name}; a previous fd of that name is closed, as QEMU's getfd does. */
    public synchronized void put(final String name, final int fd) {
        final Integer old = fds.put(name, fd);
        if (old != null) Posix.closeQuietly(old);
    }

    /** Removes and returns the fd, or -1. The caller owns it now. */
    public synchronized int take(final String name) {
        final Integer fd = fds.remove(name);
        return fd == null ? -1 : fd;
    }

    /** The fd without taking it, or -1. */
    public synchronized int peek(final String name) {
        final Integer fd = fds.get(name);
        return fd == null ? -1 : fd;
    }

    public synchronized boolean close(final String name) {
        final Integer fd = fds.remove(name);
        if (fd == null) return false;
        Posix.closeQuietly(fd);
        return true;
    }

    public synchronized Map<String, Integer> snapshot() { return Map.copyOf(fds); }

    @Override
    public synchronized void close() {
        for (int fd : fds.values()) Posix.closeQuietly(fd);
        fds.clear();
    }
}
