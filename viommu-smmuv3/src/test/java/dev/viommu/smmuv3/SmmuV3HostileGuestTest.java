package dev.viommu.smmuv3;

import dev.viommu.core.guest.DirectMachine;
import dev.viommu.core.translate.AccessType;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Guests are hostile: random registers, tables and queues must never make the model throw or loop. */
class SmmuV3HostileGuestTest {
    private static final long RAM = 1L << 20;
    private static final int[] OFFSETS = {0x20, 0x28, 0x2C, 0x44, 0x50, 0x64, 0x68, 0x70, 0x80, 0x88, 0x90, 0x98, 0x9C,
            0xA0, 0x100A8, 0x100AC, 0xB0, 0xB8, 0xC0, 0x100C8, 0x100CC, 0xD0, 0xD8, 0x0, 0x14, 0x1FFF8, 0x8000};

    @Test
    void shouldSurviveRandomRegistersTablesAndQueues() {
        for (long seed = 1; seed <= 6; seed++) {
            final Map<String, Object> props = seed % 2 == 0
                    ? Map.of("pri", true, "ats", true, "stall", "stall", "hyp", true, "sidsize", 8)
                    : Map.of("msi", false, "httu", "none", "ril", false);
            try (DirectMachine m = new DirectMachine("arm-smmuv3", props, RAM)) {
                final SmmuV3Device dev = (SmmuV3Device) m.device();
                m.attachEmulated("ep", 3);
                final Random r = new Random(seed);
                for (int i = 0; i < 20_000; i++) {
                    switch (r.nextInt(8)) {
                        case 0, 1 -> {
                            final int off = OFFSETS[r.nextInt(OFFSETS.length)];
                            final long v = r.nextInt(4) == 0 ? r.nextLong() : smallAddress(r) | r.nextInt(32);
                            if ((off & 7) == 0 && r.nextBoolean()) m.write64(off, v);
                            else m.write32(off, (int) v);
                        }
                        case 2 -> m.write32(0x20, 0xF & r.nextInt(16) | 1);
                        case 3, 4 -> {
                            try {
                                final long a = r.nextLong(RAM / 8) * 8;
                                m.memory().write64(a, r.nextInt(3) == 0 ? r.nextLong() : smallAddress(r) | r.nextInt(8) | (r.nextLong() & 0xF800_0000_0000_07F0L));
                            } catch (Exception e) {
                                throw new AssertionError(e);
                            }
                        }
                        case 5, 6 -> m.translate(r.nextInt(16) == 0 ? r.nextInt() : r.nextInt(300), r.nextInt(6) - 1,
                                r.nextInt(4) == 0 ? r.nextLong() : smallAddress(r), 1 + r.nextInt(15));
                        default -> {
                            if (r.nextBoolean()) dev.injectPageRequest(r.nextInt(300), r.nextInt(4) - 1, r.nextLong(), AccessType.READ, r.nextInt(), r.nextBoolean());
                            else m.write32(0x64, m.read32(0x60));     // acknowledge errors, restarting the queue
                        }
                    }
                }
                assertTrue(m.describe().contains("registers"));
            }
        }
    }

    private static long smallAddress(final Random r) { return r.nextLong(RAM) & ~0x3FL; }
}
