package dev.viommu.core.host;

/**
 * One vEVENTQ record: its header (sequence number, whether events were lost before it) and the type-specific
 * payload as little-endian quadwords (for IOMMU_VEVENTQ_TYPE_ARM_SMMUV3, the four words of the event record,
 * with the vSID already in place).
 */
public record VEvent(int type, int sequence, boolean lostBefore, long[] data) {
}
