package dev.viommu.core.mem;

/**
 * A guest-physical access that RAM cannot satisfy. It is checked on purpose: every device model that touches
 * guest memory must turn it into the architected error (a VT-d fault record, an SMMUv3 event, a virtio status)
 * and can never let it escape. No stack trace is taken: a hostile guest may cause these often.
 */
public final class GuestMemoryException extends Exception {
    /** Why the access failed. */
    public enum Reason {
        /** Some byte of the range lies outside every RAM region. */
        OUT_OF_RANGE,
        /** An atomic access that is not naturally aligned. */
        MISALIGNED,
        /** A write to a read-only region. */
        READ_ONLY
    }

    private final long gpa;
    private final long length;
    private final Reason reason;

    public GuestMemoryException(final long gpa, final long length, final Reason reason) {
        super(null, null, false, false);
        this.gpa = gpa;
        this.length = length;
        this.reason = reason;
    }

    public long gpa() { return gpa; }

    public long length() { return length; }

    public Reason reason() { return reason; }

    @Override
    public String getMessage() {
        return reason + ": GPA 0x" + Long.toHexString(gpa) + " length " + length;
    }
}
