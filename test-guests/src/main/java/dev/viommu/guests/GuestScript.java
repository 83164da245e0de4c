package dev.viommu.guests;

import dev.viommu.core.guest.GuestMachine;

import java.util.Map;

/**
 * A scripted guest: a sequence of guest-driver steps with checks, run against one vIOMMU. The same script runs
 * in process ({@code DirectMachine}) and through the real sidecar process ({@link SidecarMachine}).
 */
public interface GuestScript {
    /** A short unique name, such as {@code vtd-legacy-boot}. */
    String name();

    /** What the script shows, in one sentence. */
    String description();

    /** The vIOMMU driver and its properties (the {@code device_add} arguments). */
    String driver();

    Map<String, Object> properties();

    /** Guest RAM size (at GPA 0). */
    default long ramSize() { return 64L << 20; }

    void run(GuestMachine machine, Narrator narrator) throws Exception;
}
