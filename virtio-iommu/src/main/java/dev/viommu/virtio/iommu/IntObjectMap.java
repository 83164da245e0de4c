package dev.viommu.virtio.iommu;

import java.util.function.Consumer;

/**
 * An int-keyed open-addressing hash map (linear probing, backward-shift deletion): lookups on the translation
 * path neither box nor allocate. Not thread-safe.
 */
final class IntObjectMap<V> {
    private int[] keys;
    private Object[] values;
    private int size;
    private int mask;

    IntObjectMap() { this(16); }

    IntObjectMap(final int initialCapacity) {
        int cap = Integer.highestOneBit(Math.max(4, initialCapacity - 1)) << 1;
        keys = new int[cap];
        values = new Object[cap];
        mask = cap - 1;
    }

    private static int hash(final int k) {
        final int h = k * 0x9E3779B9;
        return h ^ (h >>> 16);
    }

    @SuppressWarnings("unchecked")
    V get(final int key) {
        int i = hash(key) & mask;
        while (true) {
            final Object v = values[i];
            if (v == null) return null;
            if (keys[i] == key) return (V) v;
            i = (i + 1) & mask;
        }
    }

    /** Puts a non-null value; returns the previous one. */
    @SuppressWarnings("unchecked")
    V put(final int key, final V value) {
        if (value == null) throw new IllegalArgumentException("null value");
        if ((size + 1) * 2 > values.length) grow();
        int i = hash(key) & mask;
        while (values[i] != null) {
            if (keys[i] == key) {
                final V old = (V) values[i];
                values[i] = value;
                return old;
            }
            i = (i + 1) & mask;
        }
        keys[i] = key;
        values[i] = value;
        size++;
        return null;
    }

    @SuppressWarnings("unchecked")
    V remove(final int key) {
        int i = hash(key) & mask;
        while (values[i] != null) {
            if (keys[i] == key) {
                final V old = (V) values[i];
                shiftBack(i);
                size--;
                return old;
            }
            i = (i + 1) & mask;
        }
        return null;
    }

    private void shiftBack(int hole) {
        int i = hole;
        while (true) {
            i = (i + 1) & mask;
            if (values[i] == null) break;
            final int home = hash(keys[i]) & mask;
            // Move the entry back if its home does not lie cyclically in (hole, i].
            if (((i - home) & mask) >= ((i - hole) & mask)) {
                keys[hole] = keys[i];
                values[hole] = values[i];
                hole = i;
            }
        }
        values[hole] = null;
    }

    private void grow() {
        final int[] ok = keys;
        final Object[] ov = values;
        keys = new int[ok.length * 2];
        values = new Object[ov.length * 2];
        mask = keys.length - 1;
        size = 0;
        for (int i = 0; i < ok.length; i++) {
            if (ov[i] != null) {
                @SuppressWarnings("unchecked") final V v = (V) ov[i];
                put(ok[i], v);
            }
        }
    }

    int size() { return size; }

    @SuppressWarnings("unchecked")
    void forEachValue(final Consumer<V> c) {
        for (Object v : values.clone()) if (v != null) c.accept((V) v);
    }

    void clear() {
        java.util.Arrays.fill(values, null);
        size = 0;
    }
}
