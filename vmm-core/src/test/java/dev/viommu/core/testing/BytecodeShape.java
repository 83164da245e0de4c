package dev.viommu.core.testing;

import java.io.IOException;
import java.io.InputStream;
import java.lang.classfile.Attributes;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.MethodModel;
import java.lang.classfile.attribute.CodeAttribute;

/**
 * Bytecode sizes of hot-path methods, for the tests that pin their JIT shape: C2 inlines a hot method only up to
 * {@link #FREQ_INLINE_SIZE} bytes of bytecode (and any method up to {@link #MAX_INLINE_SIZE}), so a translation
 * path that grows past them silently loses its inlining. Read with the JDK's class-file API (JEP 484).
 */
public final class BytecodeShape {
    /** HotSpot's default -XX:FreqInlineSize on x86-64. */
    public static final int FREQ_INLINE_SIZE = 325;
    /** HotSpot's default -XX:MaxInlineSize: inlined even when not hot. */
    public static final int MAX_INLINE_SIZE = 35;

    private BytecodeShape() {}

    /** The bytecode length of {@code method} in {@code c}; fails if it is missing or overloaded. */
    public static int codeLength(final Class<?> c, final String method) throws IOException {
        try (InputStream in = c.getResourceAsStream(c.getSimpleName() + ".class")) {
            if (in == null) throw new AssertionError("no class file for " + c);
            final ClassModel cm = ClassFile.of().parse(in.readAllBytes());
            int len = -1;
            for (final MethodModel m : cm.methods()) {
                if (!m.methodName().equalsString(method)) continue;
                final CodeAttribute code = m.findAttribute(Attributes.code()).orElseThrow();
                if (len != -1) throw new AssertionError(method + " is overloaded: name the one to check");
                len = code.codeLength();
            }
            if (len < 0) throw new AssertionError("no method " + method + " in " + c.getSimpleName());
            return len;
        }
    }
}
