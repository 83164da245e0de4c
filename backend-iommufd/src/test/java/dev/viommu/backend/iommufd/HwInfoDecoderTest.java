package dev.viommu.backend.iommufd;

import dev.viommu.core.host.HostCapabilities;
import dev.viommu.core.host.HwInfo;
import dev.viommu.core.host.HwInfoDecoder;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** The capability decoders against real values: what the rig's kernel reported for QEMU 10's intel-iommu. */
class HwInfoDecoderTest {
    /** QEMU 10 intel-iommu, x-scalable-mode=on, via IOMMU_GET_HW_INFO in the rig (kernel-rig.md). */
    static final long RIG_CAP = 0xd2008c222f0686L, RIG_ECAP = 0x480080f00f4aL;

    @Test
    void shouldDecodeTheRigsQemuVtdAsScalableModeWithoutNesting() {
        assertEquals(1, HwInfoDecoder.VtdEcap.SMTS.get(RIG_ECAP));
        assertEquals(1, HwInfoDecoder.VtdEcap.SSTS.get(RIG_ECAP));
        assertEquals(0, HwInfoDecoder.VtdEcap.FSTS.get(RIG_ECAP));
        assertEquals(0, HwInfoDecoder.VtdEcap.NEST.get(RIG_ECAP));
        final HostCapabilities c = HwInfoDecoder.decode(new HwInfo.Vtd("dmar0", 0, 0, 0, RIG_CAP, RIG_ECAP));
        assertEquals(HostCapabilities.Kind.VTD, c.kind());
        assertFalse(c.nesting());
        assertEquals(48, c.inputAddressBits(), "SAGAW 39/48 capped at MGAW+1 = 48");
        assertEquals(48, c.outputAddressBits());
        assertTrue(c.supportsPageSize(HostCapabilities.SZ_4K));
        assertTrue(c.supportsPageSize(HostCapabilities.SZ_2M) && c.supportsPageSize(HostCapabilities.SZ_1G), "SLLPS 2M/1G");
        assertEquals(0, c.pasidBits(), "no ECAP.PASID");
        assertFalse(c.dirtyTracking() || c.pri() || c.ats());
        assertTrue(c.rangeInvalidation(), "CAP.PSI");
        assertEquals(6, HwInfoDecoder.VtdCap.ND.get(RIG_CAP));
        assertEquals(1, HwInfoDecoder.VtdCap.CM.get(RIG_CAP));
        assertTrue(HwInfoDecoder.describeVtd(RIG_CAP, RIG_ECAP).contains("SMTS=1 SLTS=1 FLTS=0 NEST=0"));
    }

    @Test
    void shouldDecodeNestingVtdWithFirstStageGeometry() {
        final long ecap = RIG_ECAP | (1L << 26) | (1L << 47) | (1L << 40) | (19L << 35) | (1L << 29) | (1L << 2);
        final long cap = RIG_CAP | (1L << 60);
        final HostCapabilities c = HwInfoDecoder.vtd(cap, ecap, 20, HwInfoDecoder.CAP_DIRTY_TRACKING);
        assertTrue(c.nesting() && c.pri() && c.ats() && c.dirtyTracking());
        assertEquals(57, c.inputAddressBits(), "FS5LP");
        assertEquals(20, c.pasidBits());
        assertEquals(8, HwInfoDecoder.vtd(cap, ecap, 8, 0).pasidBits(), "clamped to the device's PASID width");
        assertFalse(HwInfoDecoder.vtd(cap, ecap, 20, HwInfoDecoder.CAP_PCI_ATS_NOT_SUPPORTED).ats());
    }

    @Test
    void shouldDecodeSmmuv3Idrs() {
        final int[] idr = {(1 << 27) | (1 << 24) | (2 << 2) | 0x3, 16 | (20 << 6), 0, 1 << 10, 0, 5 | 0x10 | 0x40 | (1 << 10)};
        final HostCapabilities c = HwInfoDecoder.decode(new HwInfo.SmmuV3("smmu0", 0, 20, 0, idr, 0, 0));
        assertEquals(HostCapabilities.Kind.SMMUV3, c.kind());
        assertEquals(52, c.inputAddressBits(), "VAX = 1");
        assertEquals(48, c.outputAddressBits(), "OAS 5");
        assertTrue(c.supportsPageSize(HostCapabilities.SZ_4K) && c.supportsPageSize(HostCapabilities.SZ_64K));
        assertFalse(c.supportsPageSize(HostCapabilities.SZ_16K));
        assertEquals(16, c.streamIdBits());
        assertEquals(20, c.pasidBits());
        assertTrue(c.nesting(), "S1P and S2P");
        assertFalse(c.stall(), "STALL_MODEL 1: terminate only");
        assertTrue(c.rangeInvalidation());
    }

    @Test
    void shouldIntersectAndNeverExceedTheUnlimitedHost() {
        final HostCapabilities rig = HwInfoDecoder.vtd(RIG_CAP, RIG_ECAP, 0, 0);
        assertEquals(rig, rig.intersect(HostCapabilities.unlimited()).withNesting(false).intersect(rig));
        assertEquals(39, rig.intersect(HwInfoDecoder.vtd(RIG_CAP & ~(4L << 8), RIG_ECAP, 0, 0)).inputAddressBits());
        assertEquals(12, HostCapabilities.unlimited().clampPasidBits(12));
    }
}
