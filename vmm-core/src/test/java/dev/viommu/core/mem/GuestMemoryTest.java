package dev.viommu.core.mem;

import dev.viommu.core.posix.Posix;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GuestMemoryTest {
    private final GuestMemory mem = GuestMemory.of(List.of(
            new GuestRegion("low", 0x0, 0x10000, Arena.ofAuto().allocate(0x10000, 4096), false),
            new GuestRegion("high", 0x1_0000_0000L, 0x2000, Arena.ofAuto().allocate(0x2000, 4096), false)));

    @Test
    void shouldReadAndWriteLittleEndianAtEveryWidth() throws Exception {
        mem.write64(0x100, 0x0807_0605_0403_0201L);
        assertEquals(0x01, mem.read8(0x100));
        assertEquals(0x0201, mem.read16(0x100));
        assertEquals(0x0403_0201, mem.read32(0x100));
        assertEquals(0x0807_0605_0403_0201L, mem.read64(0x100));
        assertEquals(0x0605_0403L, mem.read(0x102, 4));
        mem.write(0x1_0000_0008L, 2, 0xBEEF);
        assertEquals(0xBEEF, mem.read16(0x1_0000_0008L));
        assertEquals(0xEF, mem.read8(0x1_0000_0008L));
    }

    @Test
    void shouldAllowUnalignedPlainAccesses() throws Exception {
        mem.write64(0x203, -1L);
        assertEquals(-1L, mem.read64(0x203));
        assertEquals(0xFFFF_FFFFL, Integer.toUnsignedLong(mem.read32(0x205)));
    }

    @Test
    void shouldFailOutsideRamWithATypedReason() {
        final GuestMemoryException e = assertThrows(GuestMemoryException.class, () -> mem.read64(0x10000));
        assertEquals(GuestMemoryException.Reason.OUT_OF_RANGE, e.reason());
        assertEquals(0x10000, e.gpa());
        assertThrows(GuestMemoryException.class, () -> mem.read32(0xFFFE));          // straddles the end
        assertThrows(GuestMemoryException.class, () -> mem.read8(0x8000_0000L));     // a hole
        assertThrows(GuestMemoryException.class, () -> mem.read64(-4L));              // wraps
        assertThrows(GuestMemoryException.class, () -> mem.write64(0x1_0000_1FFCL, 0)); // straddles the end of high
        assertThrows(GuestMemoryException.class, () -> mem.read(0xFFF0, new byte[32], 0, 32));
    }

    @Test
    void shouldNeverLetAnAccessSpanTwoRegions() {
        final GuestMemory adjacent = GuestMemory.of(List.of(
                new GuestRegion("a", 0, 0x1000, Arena.ofAuto().allocate(0x1000, 4096), false),
                new GuestRegion("b", 0x1000, 0x1000, Arena.ofAuto().allocate(0x1000, 4096), false)));
        assertThrows(GuestMemoryException.class, () -> adjacent.read64(0xFFC));
        assertTrue(adjacent.contains(0xFF8, 8));
        assertFalse(adjacent.contains(0xFFC, 8));
    }

    @Test
    void shouldRejectOverlappingRegions() {
        assertThrows(IllegalArgumentException.class, () -> mem.withRegion(
                new GuestRegion("overlap", 0xF000, 0x2000, Arena.ofAuto().allocate(0x2000), false)));
    }

    @Test
    void shouldCompareAndSetAtomically() throws Exception {
        mem.write64(0x800, 0x1000);
        assertFalse(mem.compareAndSet64(0x800, 0x2000, 0x3000));
        assertTrue(mem.compareAndSet64(0x800, 0x1000, 0x1020));
        assertEquals(0x1020, mem.load64Acquire(0x800));
    }

    @Test
    void shouldRequireAlignmentForAtomics() {
        final GuestMemoryException e = assertThrows(GuestMemoryException.class, () -> mem.compareAndSet64(0x804, 0, 1));
        assertEquals(GuestMemoryException.Reason.MISALIGNED, e.reason());
        assertThrows(GuestMemoryException.class, () -> mem.load64Acquire(0x10000));
    }

    @Test
    void shouldSetAccessedBitsWithoutLosingConcurrentUpdates() throws Exception {
        mem.write64(0x900, 0);
        final AtomicInteger failures = new AtomicInteger();
        final Thread[] ts = new Thread[4];
        for (int t = 0; t < ts.length; t++) {
            final int bit = t;
            ts[t] = new Thread(() -> {
                try {
                    for (int i = 0; i < 10_000; i++) {
                        long old;
                        do { old = mem.load64Acquire(0x900); } while (!mem.compareAndSet64(0x900, old, old + (1L << (16 * bit))));
                    }
                } catch (GuestMemoryException e) {
                    failures.incrementAndGet();
                }
            });
            ts[t].start();
        }
        for (Thread t : ts) t.join();
        assertEquals(0, failures.get());
        assertEquals(10_000L * (1 + (1L << 16) + (1L << 32) + (1L << 48)), mem.load64Acquire(0x900));
    }

    @Test
    void shouldCopyAndFillInBulk() throws Exception {
        final byte[] data = new byte[300];
        for (int i = 0; i < data.length; i++) data[i] = (byte) i;
        mem.write(0x1000, data, 0, data.length);
        mem.copy(0x1000, 0x1_0000_0100L, 300);
        final byte[] back = new byte[300];
        mem.read(0x1_0000_0100L, back, 0, 300);
        assertArrayEquals(data, back);
        mem.fill(0x1000, 16, (byte) 0x5A);
        assertEquals(0x5A5A_5A5A_5A5A_5A5AL, mem.read64(0x1008));
    }

    @Test
    void shouldRefuseWritesToReadOnlyRegions() {
        final GuestMemory rom = GuestMemory.of(List.of(new GuestRegion("rom", 0, 0x1000, Arena.ofAuto().allocate(0x1000, 4096), true)));
        assertEquals(GuestMemoryException.Reason.READ_ONLY, assertThrows(GuestMemoryException.class, () -> rom.write8(0, 1)).reason());
        assertThrows(GuestMemoryException.class, () -> rom.compareAndSet64(0, 0, 1));
    }

    @Test
    void shouldShareAMemfdMappingWithAnotherMapping() throws Exception {
        final int fd = Posix.memfdCreate("guest", 0x4000);
        try {
            final GuestRegion a = MappedRegions.mapFd("a", 0x10_0000, fd, 0, 0x4000, false);
            final GuestRegion b = MappedRegions.mapFd("b", 0, fd, 0x1000, 0x3000, false);   // a second view, offset by a page
            final GuestMemory ma = GuestMemory.of(List.of(a)), mb = GuestMemory.of(List.of(b));
            ma.write64(0x10_1010, 0x1234_5678L);
            assertEquals(0x1234_5678L, mb.read64(0x10));
            assertThrows(IllegalArgumentException.class, () -> MappedRegions.mapFd("c", 0, fd, 0, 0x8000, false));
            MappedRegions.unmap(a);
            MappedRegions.unmap(b);
        } finally {
            Posix.close(fd);
        }
    }
}
