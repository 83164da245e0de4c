package dev.viommu.core.regs;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RegisterFileTest {
    enum R implements RegisterDef {
        VER(Register.whole("VER", 0x00, 4, 0x10, Access.RO)),
        CTRL(Register.of("CTRL", 0x04, 4, 0x8000_0000L,
                Field.bit("EN", 0, Access.RW), Field.of("MODE", 5, 4, Access.RW), Field.bit("IM", 31, Access.RW))),
        STS(Register.of("STS", 0x08, 4, 0, Field.bit("ERR", 0, Access.RW1C), Field.bit("OVF", 1, Access.RW1C),
                Field.bit("BUSY", 8, Access.RO))),
        CMD(Register.of("CMD", 0x0C, 4, 0, Field.of("OP", 7, 0, Access.WO))),
        BASE(Register.of("BASE", 0x10, 8, 0, Field.of("ADDR", 51, 12, Access.RW), Field.of("SIZE", 2, 0, Access.RW)));

        private final Register spec;

        R(final Register s) { spec = s; }

        @Override public Register spec() { return spec; }
    }

    private final RegisterFile<R> f = new RegisterFile<>(R.class, 0x100);

    @Test
    void shouldResetToDeclaredValues() {
        assertEquals(0x10, f.read(0x00, 4));
        assertEquals(0x8000_0000L, f.read(0x04, 4));
    }

    @Test
    void shouldIgnoreWritesToReadOnlyBits() {
        f.write(0x00, 4, 0xFFFF_FFFFL, null);
        assertEquals(0x10, f.read(0x00, 4));
        f.set(R.STS, 1 << 8);
        f.write(0x08, 4, 0, null);
        assertEquals(1 << 8, f.read(0x08, 4));
    }

    @Test
    void shouldKeepReservedBitsAtZero() {
        f.write(0x04, 4, 0xFFFF_FFFFL, null);
        assertEquals(0x8000_0031L, f.read(0x04, 4));
        f.write(0x10, 8, -1L, null);
        assertEquals(0x000F_FFFF_FFFF_F007L, f.read(0x10, 8));
    }

    @Test
    void shouldClearRw1cBitsOnlyWhereOnesAreWritten() {
        f.set(R.STS, 0b11);
        f.write(0x08, 4, 0b10, null);
        assertEquals(0b01, f.read(0x08, 4));
        f.write(0x08, 4, 0, null);
        assertEquals(0b01, f.read(0x08, 4));
        f.write(0x08, 4, 0b01, null);
        assertEquals(0, f.read(0x08, 4));
    }

    @Test
    void shouldReadWriteOnlyBitsAsZeroButHandThemToTheDevice() {
        final List<Long> seen = new ArrayList<>();
        f.write(0x0C, 4, 0x5A, (r, old, now) -> { if (r == R.CMD) seen.add(now); });
        assertEquals(List.of(0x5AL), seen);
        assertEquals(0, f.read(0x0C, 4));
        assertEquals(0x5A, f.get(R.CMD));
    }

    @Test
    void shouldComposeNarrowAndWideAccesses() {
        f.write(0x10, 4, 0x1234_5000L, null);         // low half of a 64-bit register
        f.write(0x14, 4, 0x0000_0ABCL, null);         // high half
        assertEquals(0x0000_0ABC_1234_5000L, f.read(0x10, 8));
        assertEquals(0x0ABC, f.read(0x14, 4));
        assertEquals(0x50, f.read(0x11, 1));
        f.write(0x11, 1, 0x60, null);                 // one byte lane
        assertEquals(0x0000_0ABC_1234_6000L, f.read(0x10, 8));
        f.write(0x10, 2, 0xFFFF, null);
        assertEquals(0x0000_0ABC_1234_F007L, f.read(0x10, 8));
    }

    @Test
    void shouldSplitAWideAccessAcrossTwoRegisters() {
        final List<R> touched = new ArrayList<>();
        f.write(0x08, 8, 0x0000_0077_0000_0000L, (r, o, n) -> touched.add(r));   // STS and CMD at once
        assertEquals(List.of(R.STS, R.CMD), touched);
        assertEquals(0x77, f.get(R.CMD));
        assertEquals(0x10 | (0x8000_0000L << 32), f.read(0x00, 8));
    }

    @Test
    void shouldReadUnknownOffsetsAsZeroAndIgnoreWrites() {
        assertEquals(0, f.read(0x80, 4));
        assertFalse(f.write(0x80, 4, 1, null));
        assertTrue(f.write(0x04, 4, 1, null));
        assertEquals(0, f.read(0xFC, 4));
    }

    @Test
    void shouldRejectBadDeclarations() {
        assertThrows(IllegalArgumentException.class, () -> Register.of("X", 0x2, 4, 0, Field.bit("A", 0, Access.RW)));
        assertThrows(IllegalArgumentException.class, () -> Register.of("X", 0x0, 4, 0, Field.bit("A", 0, Access.RW), Field.bit("B", 0, Access.RO)));
        assertThrows(IllegalArgumentException.class, () -> Register.of("X", 0x0, 4, 2, Field.bit("A", 0, Access.RW)));
        assertThrows(IllegalArgumentException.class, () -> Register.of("X", 0x0, 4, 0, Field.of("A", 40, 0, Access.RW)));
        assertThrows(IllegalArgumentException.class, () -> f.read(0, 3));
    }

    @Test
    void shouldExtractAndDepositBitFields() {
        final BitField addr = BitField.bits("ADDR", 55, 6);
        final long w = addr.with(0, 0x1234L);
        assertEquals(0x1234L << 6, w);
        assertEquals(0x1234L, addr.get(w | 0x3F));
        assertEquals(0x1234L << 6, addr.raw(w | 0x3F));
        assertThrows(IllegalArgumentException.class, () -> BitField.bits("X", 3, 0).with(0, 0x10));
        assertEquals(-1L >>> 1, BitField.bits("TOP", 63, 1).get(-1L));
    }
}
