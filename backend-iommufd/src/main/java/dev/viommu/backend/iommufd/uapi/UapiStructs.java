package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.StructLayout;
import java.util.List;

/** Every uAPI struct layout of this package (iommufd.h, then vfio.h), for the layout conformance test. */
public final class UapiStructs {
    public static final List<StructLayout> ALL = List.of(
            IommuDestroy.LAYOUT,
            IommuIoasAlloc.LAYOUT,
            IommuIovaRange.LAYOUT,
            IommuIoasIovaRanges.LAYOUT,
            IommuIoasAllowIovas.LAYOUT,
            IommuIoasMap.LAYOUT,
            IommuIoasNoiommuGetPa.LAYOUT,
            IommuIoasMapFile.LAYOUT,
            IommuIoasCopy.LAYOUT,
            IommuIoasUnmap.LAYOUT,
            IommuOption.LAYOUT,
            IommuVfioIoas.LAYOUT,
            IommuHwptVtdS1.LAYOUT,
            IommuHwptArmSmmuv3.LAYOUT,
            IommuHwptAmdGuest.LAYOUT,
            IommuHwptAlloc.LAYOUT,
            IommuHwInfoVtd.LAYOUT,
            IommuHwInfoArmSmmuv3.LAYOUT,
            IommuHwInfoTegra241Cmdqv.LAYOUT,
            IommuHwInfoAmd.LAYOUT,
            IommuHwInfo.LAYOUT,
            IommuHwptSetDirtyTracking.LAYOUT,
            IommuHwptGetDirtyBitmap.LAYOUT,
            IommuHwptVtdS1Invalidate.LAYOUT,
            IommuViommuArmSmmuv3Invalidate.LAYOUT,
            IommuHwptInvalidate.LAYOUT,
            IommuHwptPgfault.LAYOUT,
            IommuHwptPageResponse.LAYOUT,
            IommuFaultAlloc.LAYOUT,
            IommuViommuTegra241Cmdqv.LAYOUT,
            IommuViommuAlloc.LAYOUT,
            IommuVdeviceAlloc.LAYOUT,
            IommuIoasChangeProcess.LAYOUT,
            IommufdVeventHeader.LAYOUT,
            IommuVeventArmSmmuv3.LAYOUT,
            IommuVeventTegra241Cmdqv.LAYOUT,
            IommuVeventqAlloc.LAYOUT,
            IommuHwQueueAlloc.LAYOUT,
            VfioInfoCapHeader.LAYOUT,
            VfioDeviceInfo.LAYOUT,
            VfioRegionInfo.LAYOUT,
            VfioRegionSparseMmapArea.LAYOUT,
            VfioRegionInfoCapSparseMmap.LAYOUT,
            VfioRegionInfoCapType.LAYOUT,
            VfioIrqInfo.LAYOUT,
            VfioIrqSet.LAYOUT,
            VfioDeviceFeature.LAYOUT,
            VfioDeviceBindIommufd.LAYOUT,
            VfioDeviceAttachIommufdPt.LAYOUT,
            VfioDeviceDetachIommufdPt.LAYOUT);

    /** The mock IOMMU structs (iommufd_test.h), not part of the stable uAPI. */
    public static final List<StructLayout> SELFTEST = List.of(IommuTestCmd.LAYOUT);

    private UapiStructs() {}
}
