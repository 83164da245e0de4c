package dev.viommu.backend.iommufd;

import dev.viommu.backend.iommufd.uapi.FdIo;
import dev.viommu.backend.iommufd.uapi.IommuHwptPageResponse;
import dev.viommu.backend.iommufd.uapi.IommuHwptPgfault;
import dev.viommu.backend.iommufd.uapi.IommufdVeventHeader;
import dev.viommu.backend.iommufd.uapi.Scratch;
import dev.viommu.core.host.HostException;
import dev.viommu.core.host.PageRequest;
import dev.viommu.core.host.VEvent;
import dev.viommu.core.posix.Errno;

import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;

import static dev.viommu.backend.iommufd.uapi.IommufdUapi.IOMMU_VEVENTQ_FLAG_LOST_EVENTS;

/**
 * Framing of the two event fds (iommufd-uapi.md §2.8). A fault fd is read in multiples of 40 bytes and returns
 * whole groups only (a buffer too small for the first group reads as empty, so it is sized for {@code max}
 * records); responses are 8-byte records. A vEVENTQ fd returns whole events: an 8-byte header and the type's
 * payload, or a LOST_EVENTS header with no payload. Both return 0 when empty, never block.
 */
public final class EventFds {
    static final int PGFAULT_BYTES = (int) IommuHwptPgfault.LAYOUT.byteSize();
    static final int HEADER_BYTES = (int) IommufdVeventHeader.LAYOUT.byteSize();
    /** Most fault records read at once (the scratch data area). */
    public static final int MAX_FAULTS_PER_READ = Scratch.DATA_BYTES / PGFAULT_BYTES;

    private EventFds() {}

    /** Reads up to {@code max} page-fault records (whole groups) from a fault fd; returns how many. */
    public static int readPageRequests(final int faultFd, final int max, final Consumer<PageRequest> sink)
            throws HostException {
        final int want = Math.max(1, Math.min(max, MAX_FAULTS_PER_READ));
        final MemorySegment buf = Scratch.get().dataRaw((long) want * PGFAULT_BYTES);
        final long n = FdIo.read(faultFd, buf, buf.byteSize());
        if (n == -Errno.EAGAIN) return 0;
        if (n < 0) throw new HostException("read(fault fd)", (int) -n);
        final int records = (int) (n / PGFAULT_BYTES);
        for (int i = 0; i < records; i++) {
            final MemorySegment r = buf.asSlice((long) i * PGFAULT_BYTES, PGFAULT_BYTES);
            sink.accept(new PageRequest(IommuHwptPgfault.FLAGS.get(r), IommuHwptPgfault.DEV_ID.get(r),
                    IommuHwptPgfault.PASID.get(r), IommuHwptPgfault.GRPID.get(r), IommuHwptPgfault.PERM.get(r),
                    IommuHwptPgfault.ADDR.get(r), IommuHwptPgfault.LENGTH.get(r), IommuHwptPgfault.COOKIE.get(r)));
        }
        return records;
    }

    /** Writes one iommu_hwpt_page_response (EINVAL for an unknown cookie or a code other than 0/1). */
    public static void respond(final int faultFd, final int cookie, final int code) throws HostException {
        final MemorySegment r = Scratch.get().data(IommuHwptPageResponse.LAYOUT.byteSize());
        IommuHwptPageResponse.COOKIE.set(r, cookie);
        IommuHwptPageResponse.CODE.set(r, code);
        final long n = FdIo.write(faultFd, r, r.byteSize());
        if (n < 0) throw new HostException("write(fault fd)", (int) -n);
        if (n != r.byteSize()) throw new HostException("write(fault fd)", Errno.EIO, "short write " + n);
    }

    /**
     * Reads up to {@code max} vEVENTs of {@code payloadBytes} each (32 for ARM_SMMUV3, 16 for TEGRA241_CMDQV, 4
     * for the selftest type; the payload is returned as LE quadwords, a 4-byte payload zero-extended). A
     * LOST_EVENTS header, or a gap in the sequence numbers, marks the next event {@code lostBefore}; a trailing
     * LOST_EVENTS header becomes an event with no data. Returns the events delivered.
     */
    public static int readEvents(final int veventqFd, final int type, final int payloadBytes, final int max,
                                 final Consumer<VEvent> sink, final int[] lastSequence) throws HostException {
        final int unit = HEADER_BYTES + payloadBytes;
        final int want = Math.max(1, Math.min(max, Scratch.DATA_BYTES / unit));
        final MemorySegment buf = Scratch.get().dataRaw((long) want * unit);
        final long n = FdIo.read(veventqFd, buf, buf.byteSize());
        if (n == -Errno.EAGAIN) return 0;
        if (n < 0) throw new HostException("read(vEVENTQ fd)", (int) -n);
        long off = 0;
        int delivered = 0;
        boolean lost = false;
        int lostSeq = 0;
        while (off + HEADER_BYTES <= n) {
            final MemorySegment h = buf.asSlice(off, HEADER_BYTES);
            final int flags = IommufdVeventHeader.FLAGS.get(h);
            final int seq = IommufdVeventHeader.SEQUENCE.get(h);
            off += HEADER_BYTES;
            if ((flags & IOMMU_VEVENTQ_FLAG_LOST_EVENTS) != 0) {
                lost = true;
                lostSeq = seq;
                continue;
            }
            if (off + payloadBytes > n) break;
            final long[] data = new long[(payloadBytes + 7) / 8];
            for (int i = 0; i < payloadBytes; i += 8) {
                final int chunk = Math.min(8, payloadBytes - i);
                data[i / 8] = chunk == 8 ? buf.get(dev.viommu.backend.iommufd.uapi.Uapi.LE64, off + i)
                        : Integer.toUnsignedLong(buf.get(java.lang.foreign.ValueLayout.JAVA_INT, off + i));
            }
            off += payloadBytes;
            // sequence runs 0..INT_MAX then wraps to 0: a gap > 1 means lost events
            final int prev = lastSequence[0];
            final boolean gap = prev >= 0 && seq != ((prev == Integer.MAX_VALUE) ? 0 : prev + 1);
            lastSequence[0] = seq;
            sink.accept(new VEvent(type, seq, lost || gap, data));
            lost = false;
            delivered++;
        }
        if (lost) {
            sink.accept(new VEvent(type, lostSeq, true, new long[0]));
            delivered++;
        }
        return delivered;
    }
}
