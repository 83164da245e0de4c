package dev.viommu.smmuv3;

/**
 * A context descriptor decoded once (IHI0070 §5.4): the stage-1 translation regime of one substream.
 * {@code tt0}/{@code tt1} are null when EPD0/EPD1 disable that half of the address space.
 */
record CdConfig(int asid, Tt tt0, Tt tt1, int ipsBits, boolean affd, boolean ha, boolean hd, boolean wxn,
                boolean tbi0, boolean tbi1, boolean stall, boolean record, boolean aset) {

    /** One translation table: input size, granule, start level, base and hierarchical-attribute disable. */
    record Tt(int inputBits, int granuleShift, int startLevel, long ttb, boolean had) {}
}
