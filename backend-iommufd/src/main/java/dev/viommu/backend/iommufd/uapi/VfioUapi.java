package dev.viommu.backend.iommufd.uapi;

/**
 * vfio.h constants and the VFIO device-cdev ioctl request numbers (Linux 7.3 uAPI),
 * checked against the kernel headers by the layout conformance test (names exactly as in C).
 */
public final class VfioUapi {
    public static final int VFIO_TYPE = 59;
    public static final int VFIO_BASE = 100;
    public static final int VFIO_API_VERSION = 0;
    public static final int VFIO_DEVICE_BIND_FLAG_TOKEN = 1;
    public static final int VFIO_DEVICE_ATTACH_PASID = 1;
    public static final int VFIO_DEVICE_DETACH_PASID = 1;
    public static final int VFIO_DEVICE_FLAGS_RESET = 1;
    public static final int VFIO_DEVICE_FLAGS_PCI = 2;
    public static final int VFIO_DEVICE_FLAGS_PLATFORM = 4;
    public static final int VFIO_DEVICE_FLAGS_AMBA = 8;
    public static final int VFIO_DEVICE_FLAGS_CCW = 16;
    public static final int VFIO_DEVICE_FLAGS_AP = 32;
    public static final int VFIO_DEVICE_FLAGS_FSL_MC = 64;
    public static final int VFIO_DEVICE_FLAGS_CAPS = 128;
    public static final int VFIO_DEVICE_FLAGS_CDX = 256;
    public static final int VFIO_REGION_INFO_FLAG_READ = 1;
    public static final int VFIO_REGION_INFO_FLAG_WRITE = 2;
    public static final int VFIO_REGION_INFO_FLAG_MMAP = 4;
    public static final int VFIO_REGION_INFO_FLAG_CAPS = 8;
    public static final int VFIO_REGION_INFO_CAP_SPARSE_MMAP = 1;
    public static final int VFIO_REGION_INFO_CAP_TYPE = 2;
    public static final int VFIO_REGION_INFO_CAP_MSIX_MAPPABLE = 3;
    public static final int VFIO_IRQ_INFO_EVENTFD = 1;
    public static final int VFIO_IRQ_INFO_MASKABLE = 2;
    public static final int VFIO_IRQ_INFO_AUTOMASKED = 4;
    public static final int VFIO_IRQ_INFO_NORESIZE = 8;
    public static final int VFIO_IRQ_SET_DATA_NONE = 1;
    public static final int VFIO_IRQ_SET_DATA_BOOL = 2;
    public static final int VFIO_IRQ_SET_DATA_EVENTFD = 4;
    public static final int VFIO_IRQ_SET_ACTION_MASK = 8;
    public static final int VFIO_IRQ_SET_ACTION_UNMASK = 16;
    public static final int VFIO_IRQ_SET_ACTION_TRIGGER = 32;
    public static final int VFIO_PCI_BAR0_REGION_INDEX = 0;
    public static final int VFIO_PCI_BAR1_REGION_INDEX = 1;
    public static final int VFIO_PCI_BAR2_REGION_INDEX = 2;
    public static final int VFIO_PCI_BAR3_REGION_INDEX = 3;
    public static final int VFIO_PCI_BAR4_REGION_INDEX = 4;
    public static final int VFIO_PCI_BAR5_REGION_INDEX = 5;
    public static final int VFIO_PCI_ROM_REGION_INDEX = 6;
    public static final int VFIO_PCI_CONFIG_REGION_INDEX = 7;
    public static final int VFIO_PCI_VGA_REGION_INDEX = 8;
    public static final int VFIO_PCI_NUM_REGIONS = 9;
    public static final int VFIO_PCI_INTX_IRQ_INDEX = 0;
    public static final int VFIO_PCI_MSI_IRQ_INDEX = 1;
    public static final int VFIO_PCI_MSIX_IRQ_INDEX = 2;
    public static final int VFIO_PCI_ERR_IRQ_INDEX = 3;
    public static final int VFIO_PCI_REQ_IRQ_INDEX = 4;
    public static final int VFIO_PCI_NUM_IRQS = 5;
    public static final int VFIO_DEVICE_FEATURE_MASK = 65535;
    public static final int VFIO_DEVICE_FEATURE_GET = 65536;
    public static final int VFIO_DEVICE_FEATURE_SET = 131072;
    public static final int VFIO_DEVICE_FEATURE_PROBE = 262144;

    public static final long VFIO_GET_API_VERSION = io(VFIO_TYPE, VFIO_BASE + 0);
    public static final long VFIO_CHECK_EXTENSION = io(VFIO_TYPE, VFIO_BASE + 1);
    public static final long VFIO_DEVICE_GET_INFO = io(VFIO_TYPE, VFIO_BASE + 7);
    public static final long VFIO_DEVICE_GET_REGION_INFO = io(VFIO_TYPE, VFIO_BASE + 8);
    public static final long VFIO_DEVICE_GET_IRQ_INFO = io(VFIO_TYPE, VFIO_BASE + 9);
    public static final long VFIO_DEVICE_SET_IRQS = io(VFIO_TYPE, VFIO_BASE + 10);
    public static final long VFIO_DEVICE_RESET = io(VFIO_TYPE, VFIO_BASE + 11);
    public static final long VFIO_DEVICE_GET_PCI_HOT_RESET_INFO = io(VFIO_TYPE, VFIO_BASE + 12);
    public static final long VFIO_DEVICE_PCI_HOT_RESET = io(VFIO_TYPE, VFIO_BASE + 13);
    public static final long VFIO_DEVICE_IOEVENTFD = io(VFIO_TYPE, VFIO_BASE + 16);
    public static final long VFIO_DEVICE_FEATURE = io(VFIO_TYPE, VFIO_BASE + 17);
    public static final long VFIO_DEVICE_BIND_IOMMUFD = io(VFIO_TYPE, VFIO_BASE + 18);
    public static final long VFIO_DEVICE_ATTACH_IOMMUFD_PT = io(VFIO_TYPE, VFIO_BASE + 19);
    public static final long VFIO_DEVICE_DETACH_IOMMUFD_PT = io(VFIO_TYPE, VFIO_BASE + 20);

    private VfioUapi() {}

    /** {@code _IO(type, nr)}: direction NONE and size 0 (asm-generic _IOC: nr bits 0-7, type bits 8-15). */
    public static long io(final int type, final int nr) { return ((long) type << 8) | nr; }
}
