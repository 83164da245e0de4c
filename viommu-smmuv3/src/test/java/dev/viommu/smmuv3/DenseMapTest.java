package dev.viommu.smmuv3;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

class DenseMapTest {
    @Test
    void shouldBehaveLikeAHashMapUnderRandomOperations() {
        final DenseMap<Long> m = new DenseMap<>(256);
        final Map<String, Long> ref = new HashMap<>();
        final Random r = new Random(42);
        for (int i = 0; i < 200_000; i++) {
            final long a = r.nextInt(40), b = r.nextInt(40);
            final String k = a + ":" + b;
            switch (r.nextInt(3)) {
                case 0 -> {
                    if (m.size() < 256 || m.find(a, b) >= 0) {
                        m.put(a, b, (long) i, 0);
                        ref.put(k, (long) i);
                    }
                }
                case 1 -> assertEquals(ref.remove(k) != null, m.remove(a, b));
                default -> assertEquals(ref.get(k), m.get(a, b));
            }
            assertEquals(ref.size(), m.size());
        }
        for (int i = m.size() - 1; i >= 0; i--) {
            assertEquals(ref.get(m.key1At(i) + ":" + m.key2At(i)), m.valueAt(i));
        }
        m.clear();
        assertEquals(0, m.size());
        assertEquals(null, m.get(1, 1));
    }
}
