package dev.viommu.core.translate;

import java.util.concurrent.CopyOnWriteArrayList;

/** A small helper that device models use to keep listeners and broadcast invalidation notices. */
public final class InvalidationNotifier {
    private final CopyOnWriteArrayList<InvalidationListener> listeners = new CopyOnWriteArrayList<>();

    public void add(final InvalidationListener l) { listeners.addIfAbsent(l); }

    public void remove(final InvalidationListener l) { listeners.remove(l); }

    public boolean isEmpty() { return listeners.isEmpty(); }

    public void notify(final int sourceId, final int pasid, final long iova, final long size) {
        for (InvalidationListener l : listeners) l.invalidate(sourceId, pasid, iova, size);
    }
}
