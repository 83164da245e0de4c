package dev.viommu.virtio.iommu;

import dev.viommu.core.guest.virtio.ViommuRequests;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A virtio-iommu request as the guest means it (virtio 1.2 §5.13.6.4–8), including the reserved fields a hostile
 * guest may set. {@link #readable()} is the device-readable part, encoded with vmm-core's {@link ViommuRequests}
 * builders; {@link #writable} is the size of the device-writable part (the properties, for PROBE, and the tail).
 */
sealed interface GuestRequest {
    byte[] readable();

    int writable(int probeSize);

    /** ATTACH; {@code reserved} is the le32 the device MUST check (§5.13.6.4). */
    record Attach(int domain, int endpoint, int flags, int reserved) implements GuestRequest {
        @Override public byte[] readable() { return putInt(head(ViommuRequests.attachReq(domain, endpoint, flags), 20), 16, reserved); }

        @Override public int writable(final int probeSize) { return 4; }
    }

    /** DETACH; its reserved[8] is ignored by the device, so it is not part of the request's meaning. */
    record Detach(int domain, int endpoint) implements GuestRequest {
        @Override public byte[] readable() { return head(ViommuRequests.detachReq(domain, endpoint), 20); }

        @Override public int writable(final int probeSize) { return 4; }
    }

    record Map(int domain, long start, long end, long phys, int flags) implements GuestRequest {
        @Override public byte[] readable() { return head(ViommuRequests.mapReq(domain, start, end, phys, flags), 36); }

        @Override public int writable(final int probeSize) { return 4; }
    }

    /** UNMAP; a non-zero {@code reserved} MAY be refused (this device does, with S_INVAL). */
    record Unmap(int domain, long start, long end, int reserved) implements GuestRequest {
        @Override public byte[] readable() { return putInt(head(ViommuRequests.unmapReq(domain, start, end), 28), 24, reserved); }

        @Override public int writable(final int probeSize) { return 4; }
    }

    record Probe(int endpoint) implements GuestRequest {
        @Override public byte[] readable() { return head(ViommuRequests.probeReq(endpoint, 0), ViommuRequests.PROBE_HEAD); }

        @Override public int writable(final int probeSize) { return probeSize + 4; }
    }

    /** The first {@code n} bytes of a whole request buffer: its device-readable part. */
    private static byte[] head(final byte[] whole, final int n) { return Arrays.copyOf(whole, n); }

    private static byte[] putInt(final byte[] b, final int off, final int v) {
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(off, v);
        return b;
    }
}
