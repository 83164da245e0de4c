package dev.viommu.core.regs;

/** How software may access a register field. Bits outside every field are reserved: they read 0 and ignore writes. */
public enum Access {
    /** Read-only to software; the device sets it. */
    RO,
    /** Read-write. */
    RW,
    /** Read, write 1 to clear. */
    RW1C,
    /** Write-only: the device sees the written value, software reads 0. */
    WO
}
