package dev.viommu.smmuv3;

import java.util.List;

/**
 * The seam between the emulated SMMU and the host SMMUs that back its passthrough streams (filled in by the host
 * binding). The device calls it, under the sidecar's device lock, with typed events only:
 * <ul>
 * <li>{@link #steChanged} when a CFGI_STE, CFGI_STE_RANGE or CFGI_ALL covers a passthrough StreamID: the STE as
 *     decoded from guest memory (never its CD table: design note §4);</li>
 * <li>{@link #dispatch} at each CMD_SYNC and at each configuration boundary (before an {@code steChanged}, when a
 *     command error stops the queue, when the command queue is disabled): the commands since the previous batch
 *     that concern passthrough streams, in guest order, each with its queue index. SID-scoped commands are
 *     included only for passthrough StreamIDs (to be routed by vSID); ASID/VMID-scoped TLBIs are always included
 *     (to be broadcast to every physical SMMU). Commands for emulated endpoints never appear.</li>
 * </ul>
 * A batch ending in CMD_SYNC completes only when the dispatcher says so: {@link SyncStatus#PENDING} leaves
 * CMDQ_CONS on the CMD_SYNC until {@link SmmuV3Device#completeSync} is called.
 */
public interface HostDispatcher {

    /** A decoded STE of a passthrough stream; {@code config} may be {@link StreamConfig.Invalid}. */
    void steChanged(int sid, long[] steWords, StreamConfig config);

    SyncStatus dispatch(CommandBatch batch);

    /** One command with its index in the command queue (index and wrap bit, as CMDQ_CONS counts). */
    record QueuedCommand(int queueIndex, Command command) {}

    /**
     * Commands since the last boundary; {@code sync} is the CMD_SYNC that ends it (null at a configuration
     * boundary) and {@code syncIndex} its queue index.
     */
    record CommandBatch(List<QueuedCommand> commands, Command.Sync sync, int syncIndex) {}

    enum SyncStatus {
        /** Every command of the batch has completed on the host. */
        COMPLETE,
        /** Still in flight: the device holds the CMD_SYNC until {@link SmmuV3Device#completeSync}. */
        PENDING,
        /** An ATC invalidation failed or timed out: the CMD_SYNC raises CERROR_ATC_INV_SYNC. */
        ATC_INV_FAILED
    }

    /** The default with no host endpoints: everything is handled locally and completes at once. */
    HostDispatcher LOCAL = new HostDispatcher() {
        @Override public void steChanged(final int sid, final long[] steWords, final StreamConfig config) { }

        @Override public SyncStatus dispatch(final CommandBatch batch) { return SyncStatus.COMPLETE; }
    };
}
