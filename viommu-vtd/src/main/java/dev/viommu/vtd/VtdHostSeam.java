package dev.viommu.vtd;

/**
 * The seam to a host binding component (issue 11): typed events when the guest invalidates structures a host
 * IOMMU may mirror. The device calls it from guest-driven invalidation paths only. With no host endpoints it is
 * {@link #NONE}, a no-op; the host-binding issue supplies a real one.
 */
@FunctionalInterface
public interface VtdHostSeam {
    void onEvent(VtdBindingEvent event);

    VtdHostSeam NONE = e -> { };
}
