package dev.viommu.backend.iommufd.uapi;

/**
 * iommufd.h constants and ioctl request numbers (Linux 7.3 uAPI, x86_64/arm64/riscv64 encoding),
 * checked against the kernel headers by the layout conformance test (names exactly as in C).
 */
public final class IommufdUapi {
    public static final int IOMMUFD_TYPE = 59;
    public static final int IOMMUFD_CMD_BASE = 128;
    public static final int IOMMUFD_CMD_DESTROY = 128;
    public static final int IOMMUFD_CMD_IOAS_ALLOC = 129;
    public static final int IOMMUFD_CMD_IOAS_ALLOW_IOVAS = 130;
    public static final int IOMMUFD_CMD_IOAS_COPY = 131;
    public static final int IOMMUFD_CMD_IOAS_IOVA_RANGES = 132;
    public static final int IOMMUFD_CMD_IOAS_MAP = 133;
    public static final int IOMMUFD_CMD_IOAS_UNMAP = 134;
    public static final int IOMMUFD_CMD_OPTION = 135;
    public static final int IOMMUFD_CMD_VFIO_IOAS = 136;
    public static final int IOMMUFD_CMD_HWPT_ALLOC = 137;
    public static final int IOMMUFD_CMD_GET_HW_INFO = 138;
    public static final int IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING = 139;
    public static final int IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP = 140;
    public static final int IOMMUFD_CMD_HWPT_INVALIDATE = 141;
    public static final int IOMMUFD_CMD_FAULT_QUEUE_ALLOC = 142;
    public static final int IOMMUFD_CMD_IOAS_MAP_FILE = 143;
    public static final int IOMMUFD_CMD_VIOMMU_ALLOC = 144;
    public static final int IOMMUFD_CMD_VDEVICE_ALLOC = 145;
    public static final int IOMMUFD_CMD_IOAS_CHANGE_PROCESS = 146;
    public static final int IOMMUFD_CMD_VEVENTQ_ALLOC = 147;
    public static final int IOMMUFD_CMD_HW_QUEUE_ALLOC = 148;
    public static final int IOMMUFD_CMD_IOAS_NOIOMMU_GET_PA = 149;
    public static final int IOMMU_IOAS_MAP_FIXED_IOVA = 1;
    public static final int IOMMU_IOAS_MAP_WRITEABLE = 2;
    public static final int IOMMU_IOAS_MAP_READABLE = 4;
    public static final int IOMMU_OPTION_RLIMIT_MODE = 0;
    public static final int IOMMU_OPTION_HUGE_PAGES = 1;
    public static final int IOMMU_OPTION_OP_SET = 0;
    public static final int IOMMU_OPTION_OP_GET = 1;
    public static final int IOMMU_VFIO_IOAS_GET = 0;
    public static final int IOMMU_VFIO_IOAS_SET = 1;
    public static final int IOMMU_VFIO_IOAS_CLEAR = 2;
    public static final int IOMMU_HWPT_ALLOC_NEST_PARENT = 1;
    public static final int IOMMU_HWPT_ALLOC_DIRTY_TRACKING = 2;
    public static final int IOMMU_HWPT_FAULT_ID_VALID = 4;
    public static final int IOMMU_HWPT_ALLOC_PASID = 8;
    public static final int IOMMU_VTD_S1_SRE = 1;
    public static final int IOMMU_VTD_S1_EAFE = 2;
    public static final int IOMMU_VTD_S1_WPE = 4;
    public static final int IOMMU_HWPT_DATA_NONE = 0;
    public static final int IOMMU_HWPT_DATA_VTD_S1 = 1;
    public static final int IOMMU_HWPT_DATA_ARM_SMMUV3 = 2;
    public static final int IOMMU_HWPT_DATA_AMD_GUEST = 3;
    public static final int IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17 = 1;
    public static final int IOMMU_HW_INFO_ARM_SMMUV3_ERRATA_REPEAT_TLBI_CFGI = 1;
    public static final int IOMMU_HW_INFO_TYPE_NONE = 0;
    public static final int IOMMU_HW_INFO_TYPE_DEFAULT = 0;
    public static final int IOMMU_HW_INFO_TYPE_INTEL_VTD = 1;
    public static final int IOMMU_HW_INFO_TYPE_ARM_SMMUV3 = 2;
    public static final int IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV = 3;
    public static final int IOMMU_HW_INFO_TYPE_AMD = 4;
    public static final int IOMMU_HW_CAP_DIRTY_TRACKING = 1;
    public static final int IOMMU_HW_CAP_PCI_PASID_EXEC = 2;
    public static final int IOMMU_HW_CAP_PCI_PASID_PRIV = 4;
    public static final int IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED = 8;
    public static final int IOMMU_HW_INFO_FLAG_INPUT_TYPE = 1;
    public static final int IOMMU_HWPT_DIRTY_TRACKING_ENABLE = 1;
    public static final int IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR = 1;
    public static final int IOMMU_HWPT_INVALIDATE_DATA_VTD_S1 = 0;
    public static final int IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3 = 1;
    public static final int IOMMU_VTD_INV_FLAGS_LEAF = 1;
    public static final int IOMMU_PGFAULT_FLAGS_PASID_VALID = 1;
    public static final int IOMMU_PGFAULT_FLAGS_LAST_PAGE = 2;
    public static final int IOMMU_PGFAULT_PERM_READ = 1;
    public static final int IOMMU_PGFAULT_PERM_WRITE = 2;
    public static final int IOMMU_PGFAULT_PERM_EXEC = 4;
    public static final int IOMMU_PGFAULT_PERM_PRIV = 8;
    public static final int IOMMUFD_PAGE_RESP_SUCCESS = 0;
    public static final int IOMMUFD_PAGE_RESP_INVALID = 1;
    public static final int IOMMU_VIOMMU_TYPE_DEFAULT = 0;
    public static final int IOMMU_VIOMMU_TYPE_ARM_SMMUV3 = 1;
    public static final int IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV = 2;
    public static final int IOMMU_VEVENTQ_FLAG_LOST_EVENTS = 1;
    public static final int IOMMU_VEVENTQ_TYPE_DEFAULT = 0;
    public static final int IOMMU_VEVENTQ_TYPE_ARM_SMMUV3 = 1;
    public static final int IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV = 2;
    public static final int IOMMU_HW_QUEUE_TYPE_DEFAULT = 0;
    public static final int IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV = 1;

    public static final long IOMMU_DESTROY = io(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY);
    public static final long IOMMU_IOAS_ALLOC = io(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC);
    public static final long IOMMU_IOAS_ALLOW_IOVAS = io(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOW_IOVAS);
    public static final long IOMMU_IOAS_COPY = io(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_COPY);
    public static final long IOMMU_IOAS_IOVA_RANGES = io(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_IOVA_RANGES);
    public static final long IOMMU_IOAS_MAP = io(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP);
    public static final long IOMMU_IOAS_UNMAP = io(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP);
    public static final long IOMMU_OPTION = io(IOMMUFD_TYPE, IOMMUFD_CMD_OPTION);
    public static final long IOMMU_VFIO_IOAS = io(IOMMUFD_TYPE, IOMMUFD_CMD_VFIO_IOAS);
    public static final long IOMMU_HWPT_ALLOC = io(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_ALLOC);
    public static final long IOMMU_GET_HW_INFO = io(IOMMUFD_TYPE, IOMMUFD_CMD_GET_HW_INFO);
    public static final long IOMMU_HWPT_SET_DIRTY_TRACKING = io(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING);
    public static final long IOMMU_HWPT_GET_DIRTY_BITMAP = io(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP);
    public static final long IOMMU_HWPT_INVALIDATE = io(IOMMUFD_TYPE, IOMMUFD_CMD_HWPT_INVALIDATE);
    public static final long IOMMU_FAULT_QUEUE_ALLOC = io(IOMMUFD_TYPE, IOMMUFD_CMD_FAULT_QUEUE_ALLOC);
    public static final long IOMMU_IOAS_MAP_FILE = io(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP_FILE);
    public static final long IOMMU_VIOMMU_ALLOC = io(IOMMUFD_TYPE, IOMMUFD_CMD_VIOMMU_ALLOC);
    public static final long IOMMU_VDEVICE_ALLOC = io(IOMMUFD_TYPE, IOMMUFD_CMD_VDEVICE_ALLOC);
    public static final long IOMMU_IOAS_CHANGE_PROCESS = io(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_CHANGE_PROCESS);
    public static final long IOMMU_VEVENTQ_ALLOC = io(IOMMUFD_TYPE, IOMMUFD_CMD_VEVENTQ_ALLOC);
    public static final long IOMMU_HW_QUEUE_ALLOC = io(IOMMUFD_TYPE, IOMMUFD_CMD_HW_QUEUE_ALLOC);
    public static final long IOMMU_IOAS_NOIOMMU_GET_PA = io(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_NOIOMMU_GET_PA);

    private IommufdUapi() {}

    /** {@code _IO(type, nr)}: direction NONE and size 0 (asm-generic _IOC: nr bits 0-7, type bits 8-15). */
    public static long io(final int type, final int nr) { return ((long) type << 8) | nr; }
}
