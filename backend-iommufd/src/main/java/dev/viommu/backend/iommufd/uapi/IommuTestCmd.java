package dev.viommu.backend.iommufd.uapi;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

import static dev.viommu.backend.iommufd.uapi.Uapi.*;

/**
 * {@code struct iommu_test_cmd} (drivers/iommu/iommufd/iommufd_test.h, 72 bytes, align 8): the argument of
 * IOMMU_TEST_CMD, which drives the kernel's mock IOMMU (CONFIG_IOMMUFD_TEST). Not a stable uAPI: pinned to the
 * rig's Linux 7.3.4 (tools/rig/MOCK-IOMMU.md, checked by {@code uapi-dump/build.sh --mock}). The 48-byte union at
 * 16 holds one member per op; its fields are declared below at their absolute offsets. The only implicit
 * padding of all the uAPI structs is this struct's 4-byte tail.
 */
public final class IommuTestCmd {
    public static final StructLayout LAYOUT = struct("iommu_test_cmd",
            u32("size"), u32("op"), u32("id"), u32("__reserved"),
            MemoryLayout.unionLayout(u64s(6, "u")).withName("union"),
            u32("last"), MemoryLayout.paddingLayout(4));
    /** {@code _IO(';', IOMMUFD_CMD_BASE + 32)}. */
    public static final long IOMMU_TEST_CMD = IommufdUapi.io(IommufdUapi.IOMMUFD_TYPE, 0xa0);
    public static final long IOCTL = IOMMU_TEST_CMD;

    // enum iommufd_test_op (values start at 1)
    public static final int IOMMU_TEST_OP_ADD_RESERVED = 1, IOMMU_TEST_OP_MOCK_DOMAIN = 2,
            IOMMU_TEST_OP_MD_CHECK_MAP = 3, IOMMU_TEST_OP_MD_CHECK_REFS = 4, IOMMU_TEST_OP_CREATE_ACCESS = 5,
            IOMMU_TEST_OP_DESTROY_ACCESS_PAGES = 6, IOMMU_TEST_OP_ACCESS_PAGES = 7, IOMMU_TEST_OP_ACCESS_RW = 8,
            IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT = 9, IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE = 10,
            IOMMU_TEST_OP_ACCESS_REPLACE_IOAS = 11, IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS = 12, IOMMU_TEST_OP_DIRTY = 13,
            IOMMU_TEST_OP_MD_CHECK_IOTLB = 14, IOMMU_TEST_OP_TRIGGER_IOPF = 15, IOMMU_TEST_OP_DEV_CHECK_CACHE = 16,
            IOMMU_TEST_OP_TRIGGER_VEVENT = 17, IOMMU_TEST_OP_PASID_ATTACH = 18, IOMMU_TEST_OP_PASID_REPLACE = 19,
            IOMMU_TEST_OP_PASID_DETACH = 20, IOMMU_TEST_OP_PASID_CHECK_HWPT = 21;

    // selftest data types accepted by the normal ioctls
    public static final int IOMMU_HW_INFO_TYPE_SELFTEST = 0xfeedbeef;
    public static final int IOMMU_HW_INFO_SELFTEST_REGVAL = 0xdeadbeef;
    public static final int IOMMU_HWPT_DATA_SELFTEST = 0xdead;
    public static final int IOMMU_TEST_IOTLB_DEFAULT = 0xbadbeef;
    public static final int IOMMU_HWPT_INVALIDATE_DATA_SELFTEST = 0xdeadbeef;
    public static final int IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID = 0xdadbeef;
    public static final int IOMMU_TEST_INVALIDATE_FLAG_ALL = 1;
    public static final int IOMMU_VIOMMU_TYPE_SELFTEST = 0xdeadbeef;
    public static final int IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST = 0xdeadbeef;
    public static final int IOMMU_TEST_DEV_CACHE_DEFAULT = 0xbaddad;
    public static final int IOMMU_VEVENTQ_TYPE_SELFTEST = 0xbeefbeef;
    public static final int MOCK_FLAGS_DEVICE_NO_DIRTY = 1, MOCK_FLAGS_DEVICE_PASID = 4;
    public static final long MOCK_APERTURE_START = 0x1000000L, MOCK_APERTURE_LAST = 0x7fffffffL;
    public static final int MOCK_PAGE_SIZE = 2048;
    /** iommu_hwpt_selftest: {u32 iotlb; u32 pagetable_type} (8 bytes). */
    public static final int HWPT_SELFTEST_BYTES = 8;
    /** iommu_hwpt_invalidate_selftest: {u32 flags; u32 iotlb_id} (8 bytes). */
    public static final int HWPT_INVALIDATE_SELFTEST_BYTES = 8;
    /** iommu_viommu_invalidate_selftest: {u32 flags; u32 vdev_id; u32 cache_id} (12 bytes). */
    public static final int VIOMMU_INVALIDATE_SELFTEST_BYTES = 12;
    /** iommu_viommu_event_selftest: {u32 virt_id} (4 bytes). */
    public static final int VEVENT_SELFTEST_BYTES = 4;

    public static final U32 SIZE = U32.of(LAYOUT, "size");
    public static final U32 OP = U32.of(LAYOUT, "op");
    public static final U32 ID = U32.of(LAYOUT, "id");
    public static final U32 LAST = U32.of(LAYOUT, "last");
    // union members, by absolute offset (MOCK-IOMMU.md §3)
    public static final U32 MOCK_DOMAIN_OUT_STDEV_ID = new U32("mock_domain.out_stdev_id", 16);
    public static final U32 MOCK_DOMAIN_OUT_HWPT_ID = new U32("mock_domain.out_hwpt_id", 20);
    public static final U32 MOCK_DOMAIN_OUT_IDEV_ID = new U32("mock_domain.out_idev_id", 24);
    public static final U32 MOCK_DOMAIN_FLAGS_DEV_FLAGS = new U32("mock_domain_flags.dev_flags", 28);
    public static final U32 MOCK_DOMAIN_REPLACE_PT_ID = new U32("mock_domain_replace.pt_id", 16);
    public static final U64 ADD_RESERVED_START = new U64("add_reserved.start", 16);
    public static final U64 ADD_RESERVED_LENGTH = new U64("add_reserved.length", 24);
    public static final U32 CHECK_IOTLB_ID = new U32("check_iotlb.id", 16);
    public static final U32 CHECK_IOTLB_IOTLB = new U32("check_iotlb.iotlb", 20);
    public static final U32 TRIGGER_IOPF_DEV_ID = new U32("trigger_iopf.dev_id", 16);
    public static final U32 TRIGGER_IOPF_PASID = new U32("trigger_iopf.pasid", 20);
    public static final U32 TRIGGER_IOPF_GRPID = new U32("trigger_iopf.grpid", 24);
    public static final U32 TRIGGER_IOPF_PERM = new U32("trigger_iopf.perm", 28);
    public static final U64 TRIGGER_IOPF_ADDR = new U64("trigger_iopf.addr", 32);
    public static final U32 CHECK_DEV_CACHE_ID = new U32("check_dev_cache.id", 16);
    public static final U32 CHECK_DEV_CACHE_CACHE = new U32("check_dev_cache.cache", 20);
    public static final U32 TRIGGER_VEVENT_DEV_ID = new U32("trigger_vevent.dev_id", 16);
    public static final U32 PASID_ATTACH_PASID = new U32("pasid_attach.pasid", 16);
    public static final U32 PASID_ATTACH_PT_ID = new U32("pasid_attach.pt_id", 20);
    public static final U32 DIRTY_FLAGS = new U32("dirty.flags", 16);
    public static final U64 DIRTY_IOVA = new U64("dirty.iova", 24);
    public static final U64 DIRTY_LENGTH = new U64("dirty.length", 32);
    public static final U64 DIRTY_PAGE_SIZE = new U64("dirty.page_size", 40);
    public static final U64 DIRTY_UPTR = new U64("dirty.uptr", 48);
    public static final U64 DIRTY_OUT_NR_DIRTY = new U64("dirty.out_nr_dirty", 56);

    private IommuTestCmd() {}
}
