package dev.viommu.vtd;

import org.junit.jupiter.api.Test;

import static dev.viommu.core.testing.BytecodeShape.FREQ_INLINE_SIZE;
import static dev.viommu.core.testing.BytecodeShape.codeLength;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The JIT shape of the translation path (see {@link VtdTranslator}'s {@code miss}): C2 inlines a hot callee only
 * if its bytecode is at most FreqInlineSize (325 bytes, the HotSpot default). The L0-hit path
 * ({@code translate}) must not absorb the miss path, and the miss path must be able to absorb the walk and the
 * IOTLB. A refactoring that crosses these limits changes the P1/P2 figures silently; this test makes it loud.
 */
class VtdTranslatorShapeTest {
    @Test
    void shouldKeepTheMissPathOutOfTranslate() throws Exception {
        final int miss = codeLength(VtdTranslator.class, "miss");
        assertTrue(miss > FREQ_INLINE_SIZE, "miss is " + miss + " bytes: C2 would inline it into translate");
        final int translate = codeLength(VtdTranslator.class, "translate");
        assertTrue(translate <= FREQ_INLINE_SIZE, "translate is " + translate + " bytes: too big to inline into callers");
    }

    @Test
    void shouldLetTheMissPathInlineTheWalkAndTheFill() throws Exception {
        for (final String m : new String[] {"ssWalk", "ssLeaf", "fill", "hit", "grant"}) {
            final int n = codeLength(VtdTranslator.class, m);
            assertTrue(n <= FREQ_INLINE_SIZE, m + " is " + n + " bytes: C2 will not inline it");
        }
        for (final String m : new String[] {"lookup", "probe", "victim"}) {
            final int n = codeLength(Iotlb.class, m);
            assertTrue(n <= FREQ_INLINE_SIZE, "Iotlb." + m + " is " + n + " bytes: C2 will not inline it");
        }
        final int read = codeLength(TableReader.class, "readEntry");
        assertTrue(read <= FREQ_INLINE_SIZE, "readEntry is " + read + " bytes");
    }
}
