package dev.viommu.core.regs;

/** Implemented by a device's register enum: each constant carries its {@link Register} declaration. */
public interface RegisterDef {
    Register spec();
}
