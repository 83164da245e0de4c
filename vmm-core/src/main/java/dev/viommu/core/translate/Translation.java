package dev.viommu.core.translate;

/**
 * The outcome of one translation, filled in place so that the hot path allocates nothing. On success
 * {@link #outputAddress}, {@link #permissions} and {@link #pageSize} hold the mapping that covers the IOVA; on a
 * fault {@link #faultCode} holds the model's architected fault (a VT-d fault reason, an SMMUv3 event type, a
 * virtio-iommu fault reason) and {@link #faultName} its mnemonic.
 */
public final class Translation {
    public boolean ok;
    public long outputAddress;
    public int permissions;
    public long pageSize;
    public int faultCode;
    public String faultName;

    public Translation success(final long out, final int perms, final long size) {
        ok = true;
        outputAddress = out;
        permissions = perms;
        pageSize = size;
        faultCode = 0;
        faultName = null;
        return this;
    }

    public Translation fault(final int code, final String name) {
        ok = false;
        outputAddress = 0;
        permissions = 0;
        pageSize = 0;
        faultCode = code;
        faultName = name;
        return this;
    }

    @Override
    public String toString() {
        return ok ? "ok out=0x" + Long.toHexString(outputAddress) + " perms=" + AccessType.toString(permissions)
                + " page=0x" + Long.toHexString(pageSize) : "fault " + faultName + " (" + faultCode + ")";
    }
}
