package dev.viommu.smmuv3;

import org.junit.jupiter.api.Test;

import static dev.viommu.core.testing.BytecodeShape.FREQ_INLINE_SIZE;
import static dev.viommu.core.testing.BytecodeShape.MAX_INLINE_SIZE;
import static dev.viommu.core.testing.BytecodeShape.codeLength;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The JIT shape of the IOTLB-miss path (spec-coverage "What changed on the miss path"): C2 inlines a hot callee
 * only if its bytecode is at most FreqInlineSize (325 bytes, the HotSpot default). {@code Translator.walk} (the
 * stage-1-only miss) must stay inlinable into {@code translate} (a real call measured ≈ 4 ns per miss), and so
 * must what it calls on every miss: {@code PageWalker.stage1}, the IOTLB fill and the access normalisation
 * applied to every translation. A change that crosses these limits moves the benchmark figures silently; this
 * test makes it loud.
 */
class TranslatorShapeTest {
    @Test
    void stageOneMissPathStaysInlinableIntoTranslate() throws Exception {
        final int walk = codeLength(Translator.class, "walk");
        assertTrue(walk <= FREQ_INLINE_SIZE, "Translator.walk is " + walk + " bytes: C2 will not inline it");
        final int stage1 = codeLength(PageWalker.class, "stage1");
        assertTrue(stage1 <= FREQ_INLINE_SIZE, "PageWalker.stage1 is " + stage1 + " bytes");
        final int fill = codeLength(Iotlb.class, "fillAt");
        assertTrue(fill <= FREQ_INLINE_SIZE, "Iotlb.fillAt is " + fill + " bytes");
        final int access = codeLength(RequestedAccess.class, "of");
        assertTrue(access <= MAX_INLINE_SIZE, "RequestedAccess.of is " + access + " bytes: above MaxInlineSize, it costs a call");
    }
}
