package dev.viommu.core.host;

import dev.viommu.core.posix.Errno;

/**
 * What IOMMU_HWPT_INVALIDATE reported: how many entries were processed ({@code entry_num} written back) and
 * the errno, 0 on success. On failure the processed count tells where the batch stopped; the kernel writes it
 * back even when the call fails.
 */
public record InvalidationResult(int processed, int errno) {
    public boolean ok() { return errno == 0; }

    @Override
    public String toString() { return ok() ? "ok(" + processed + ")" : Errno.name(errno) + " after " + processed; }
}
