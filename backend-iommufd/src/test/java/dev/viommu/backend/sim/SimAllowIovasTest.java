package dev.viommu.backend.sim;

import dev.viommu.core.host.IovaRange;
import dev.viommu.core.host.ObjectId;
import dev.viommu.core.posix.Errno;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.viommu.backend.sim.SimFixture.RAM;
import static dev.viommu.backend.sim.SimFixture.RW;
import static dev.viommu.backend.sim.SimFixture.errno;
import static org.junit.jupiter.api.Assertions.*;

/** IOMMU_IOAS_ALLOW_IOVAS as iommufd_ioas_load_iovas, iopt_set_allow_iova and iopt_reserve_iova check it. */
class SimAllowIovasTest {
    final SimFixture f = new SimFixture();
    final SimHostBackend sim = f.sim;

    @Test
    void shouldAcceptDisjointRangesAndRejectEmptyOrOverlappingOnesWithEinval() throws Exception {
        final ObjectId.Ioas ioas = sim.allocIoas();
        final List<IovaRange> good = List.of(new IovaRange(0x10000, 0x1ffff), new IovaRange(0x40000, 0x7ffff));
        sim.allowIovas(ioas, good);
        assertEquals(good, sim.allowedIovas(ioas));
        assertEquals(Errno.EINVAL, errno(() -> sim.allowIovas(ioas, List.of(new IovaRange(0x2000, 0x2000)))),
                "start >= last (a one-byte range) is refused");
        assertEquals(Errno.EINVAL, errno(() -> sim.allowIovas(ioas, List.of(new IovaRange(0x3000, 0x2000)))));
        assertEquals(Errno.EINVAL, errno(() -> sim.allowIovas(ioas,
                List.of(new IovaRange(0x10000, 0x1ffff), new IovaRange(0x1f000, 0x2ffff)))), "overlap");
        assertEquals(good, sim.allowedIovas(ioas), "a refused list leaves the old one");
        assertEquals(Errno.ENOENT, errno(() -> sim.allowIovas(new ObjectId.Ioas(999), good)));
        final SimCall last = sim.calls().getLast();
        assertEquals("IOMMU_IOAS_ALLOW_IOVAS", last.op());
        assertEquals(Errno.ENOENT, last.errno());
        sim.allowIovas(ioas, List.of());
        assertEquals(List.of(), sim.allowedIovas(ioas), "an empty list clears it");
    }

    @Test
    void shouldRefuseAnAllowedRangeOverWhatIsReservedWithEaddrinuse() throws Exception {
        final ObjectId.Ioas ioas = sim.allocIoas();
        assertEquals(Errno.EADDRINUSE, errno(() -> sim.allowIovas(ioas,
                List.of(new IovaRange(0x1_8000_0000L, 0x1_8000_0fffL)))), "host-wide reserved range");
        sim.attach(f.bind("sim:gpu0"), -1, ioas);
        assertEquals(Errno.EADDRINUSE, errno(() -> sim.allowIovas(ioas,
                List.of(new IovaRange(0x1000, 0xFEE0_0000L)))), "reaches into the attached VT-d's MSI window");
        assertEquals(Errno.EADDRINUSE, errno(() -> sim.allowIovas(ioas,
                List.of(new IovaRange(0x2_0000_0000L, 1L << 48)))), "reaches past the 48-bit aperture");
        sim.allowIovas(ioas, List.of(new IovaRange(0x1000, 0xFEDF_FFFFL), new IovaRange(0x2_0000_0000L, (1L << 48) - 1)));
        assertEquals(2, sim.allowedIovas(ioas).size());
    }

    @Test
    void shouldRefuseAnAttachWhoseReservedWindowFallsInAnAllowedRange() throws Exception {
        final ObjectId.Device gpu = f.bind("sim:gpu0");
        final ObjectId.Ioas ioas = sim.allocIoas();
        sim.allowIovas(ioas, List.of(new IovaRange(0, 0xFFFF_FFFFL)));  // the guest's low 4 GiB, MSI window included
        final int live = sim.liveObjects();
        assertEquals(Errno.EADDRINUSE, errno(() -> sim.attach(gpu, -1, ioas)));
        assertNull(sim.attachedTo(gpu, -1));
        assertEquals(live, sim.liveObjects(), "the automatic domain made for the attach is gone again");
        sim.allowIovas(ioas, List.of(new IovaRange(0, 0xFEDF_FFFFL)));
        assertNotNull(sim.attach(gpu, -1, ioas));
        assertTrue(sim.iovaRanges(ioas).contains(new IovaRange(0, 0xFEDF_FFFFL)),
                "the allowed range stays usable after the attach");
    }

    @Test
    void shouldNotRestrictFixedIovaMapsToTheAllowedRanges() throws Exception {
        final ObjectId.Ioas ioas = sim.allocIoas();
        sim.allowIovas(ioas, List.of(new IovaRange(0x10000, 0x1ffff)));
        sim.map(ioas, 0x40000, RAM, 0x1000, RW);  // iopt_check_iova looks at reservations and areas only
        assertEquals(1, sim.mappings(ioas).size());
    }
}
