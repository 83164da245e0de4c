/*
 * uapi_dump: prints the layout of the Linux iommufd + VFIO-cdev uAPI exactly as the C compiler sees it,
 * for the Java (FFM) layout conformance test. Compiled by build.sh against the linux-libc-dev 7.3 headers
 * unpacked by `tools/rig/setup.sh headers` (never the system's older headers).
 *
 * Output (stable; one record per line, fields separated by one space; see tools/rig/README.md):
 *   header <name> <value>                 provenance (e.g. header linux-libc-dev 7.3.4-1~bpo13+1)
 *   struct <name> size <n>                sizeof(struct name), decimal bytes
 *   align <name> <n>                      _Alignof(struct name), decimal bytes
 *   field <struct>.<field> <offset> <size> offsetof / sizeof in decimal bytes; arrays: whole array size;
 *                                         flexible array members: size 0; anonymous-union members: their own
 *   ioctl <NAME> 0x<hex>                  the ioctl request number (lower-case hex, no padding)
 *   const <NAME> <value>                  enum / #define value, signed decimal
 * Lines appear in header order: iommufd.h first, then vfio.h. Consumers should ignore unknown record kinds.
 */
#include <stddef.h>
#include <stdio.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>
#ifdef UAPI_DUMP_MOCK
#include "iommufd_test.h"
#endif

#ifndef UAPI_HEADER_VERSION
#define UAPI_HEADER_VERSION "unknown"
#endif

#define S(s)       printf("struct %s size %zu\nalign %s %zu\n", #s, sizeof(struct s), #s, _Alignof(struct s))
#define F(s, f)    printf("field %s.%s %zu %zu\n", #s, #f, offsetof(struct s, f), sizeof(((struct s *)0)->f))
#define FLEX(s, f) printf("field %s.%s %zu 0\n", #s, #f, offsetof(struct s, f))
#define IOC(n)     printf("ioctl %s 0x%lx\n", #n, (unsigned long)(n))
#define K(n)       printf("const %s %lld\n", #n, (long long)(n))

static void iommufd_structs(void)
{
	S(iommu_destroy);
	F(iommu_destroy, size);
	F(iommu_destroy, id);
	S(iommu_ioas_alloc);
	F(iommu_ioas_alloc, size);
	F(iommu_ioas_alloc, flags);
	F(iommu_ioas_alloc, out_ioas_id);
	S(iommu_iova_range);
	F(iommu_iova_range, start);
	F(iommu_iova_range, last);
	S(iommu_ioas_iova_ranges);
	F(iommu_ioas_iova_ranges, size);
	F(iommu_ioas_iova_ranges, ioas_id);
	F(iommu_ioas_iova_ranges, num_iovas);
	F(iommu_ioas_iova_ranges, __reserved);
	F(iommu_ioas_iova_ranges, allowed_iovas);
	F(iommu_ioas_iova_ranges, out_iova_alignment);
	S(iommu_ioas_allow_iovas);
	F(iommu_ioas_allow_iovas, size);
	F(iommu_ioas_allow_iovas, ioas_id);
	F(iommu_ioas_allow_iovas, num_iovas);
	F(iommu_ioas_allow_iovas, __reserved);
	F(iommu_ioas_allow_iovas, allowed_iovas);
	S(iommu_ioas_map);
	F(iommu_ioas_map, size);
	F(iommu_ioas_map, flags);
	F(iommu_ioas_map, ioas_id);
	F(iommu_ioas_map, __reserved);
	F(iommu_ioas_map, user_va);
	F(iommu_ioas_map, length);
	F(iommu_ioas_map, iova);
	S(iommu_ioas_noiommu_get_pa);
	F(iommu_ioas_noiommu_get_pa, size);
	F(iommu_ioas_noiommu_get_pa, flags);
	F(iommu_ioas_noiommu_get_pa, ioas_id);
	F(iommu_ioas_noiommu_get_pa, __reserved);
	F(iommu_ioas_noiommu_get_pa, iova);
	F(iommu_ioas_noiommu_get_pa, length);
	F(iommu_ioas_noiommu_get_pa, out_phys);
	S(iommu_ioas_map_file);
	F(iommu_ioas_map_file, size);
	F(iommu_ioas_map_file, flags);
	F(iommu_ioas_map_file, ioas_id);
	F(iommu_ioas_map_file, fd);
	F(iommu_ioas_map_file, start);
	F(iommu_ioas_map_file, length);
	F(iommu_ioas_map_file, iova);
	S(iommu_ioas_copy);
	F(iommu_ioas_copy, size);
	F(iommu_ioas_copy, flags);
	F(iommu_ioas_copy, dst_ioas_id);
	F(iommu_ioas_copy, src_ioas_id);
	F(iommu_ioas_copy, length);
	F(iommu_ioas_copy, dst_iova);
	F(iommu_ioas_copy, src_iova);
	S(iommu_ioas_unmap);
	F(iommu_ioas_unmap, size);
	F(iommu_ioas_unmap, ioas_id);
	F(iommu_ioas_unmap, iova);
	F(iommu_ioas_unmap, length);
	S(iommu_option);
	F(iommu_option, size);
	F(iommu_option, option_id);
	F(iommu_option, op);
	F(iommu_option, __reserved);
	F(iommu_option, object_id);
	F(iommu_option, val64);
	S(iommu_vfio_ioas);
	F(iommu_vfio_ioas, size);
	F(iommu_vfio_ioas, ioas_id);
	F(iommu_vfio_ioas, op);
	F(iommu_vfio_ioas, __reserved);
	S(iommu_hwpt_vtd_s1);
	F(iommu_hwpt_vtd_s1, flags);
	F(iommu_hwpt_vtd_s1, pgtbl_addr);
	F(iommu_hwpt_vtd_s1, addr_width);
	F(iommu_hwpt_vtd_s1, __reserved);
	S(iommu_hwpt_arm_smmuv3);
	F(iommu_hwpt_arm_smmuv3, ste);
	S(iommu_hwpt_amd_guest);
	F(iommu_hwpt_amd_guest, dte);
	S(iommu_hwpt_alloc);
	F(iommu_hwpt_alloc, size);
	F(iommu_hwpt_alloc, flags);
	F(iommu_hwpt_alloc, dev_id);
	F(iommu_hwpt_alloc, pt_id);
	F(iommu_hwpt_alloc, out_hwpt_id);
	F(iommu_hwpt_alloc, __reserved);
	F(iommu_hwpt_alloc, data_type);
	F(iommu_hwpt_alloc, data_len);
	F(iommu_hwpt_alloc, data_uptr);
	F(iommu_hwpt_alloc, fault_id);
	F(iommu_hwpt_alloc, __reserved2);
	S(iommu_hw_info_vtd);
	F(iommu_hw_info_vtd, flags);
	F(iommu_hw_info_vtd, __reserved);
	F(iommu_hw_info_vtd, cap_reg);
	F(iommu_hw_info_vtd, ecap_reg);
	S(iommu_hw_info_arm_smmuv3);
	F(iommu_hw_info_arm_smmuv3, flags);
	F(iommu_hw_info_arm_smmuv3, __reserved);
	F(iommu_hw_info_arm_smmuv3, idr);
	F(iommu_hw_info_arm_smmuv3, iidr);
	F(iommu_hw_info_arm_smmuv3, aidr);
	S(iommu_hw_info_tegra241_cmdqv);
	F(iommu_hw_info_tegra241_cmdqv, flags);
	F(iommu_hw_info_tegra241_cmdqv, version);
	F(iommu_hw_info_tegra241_cmdqv, log2vcmdqs);
	F(iommu_hw_info_tegra241_cmdqv, log2vsids);
	F(iommu_hw_info_tegra241_cmdqv, __reserved);
	S(iommu_hw_info_amd);
	F(iommu_hw_info_amd, efr);
	F(iommu_hw_info_amd, efr2);
	S(iommu_hw_info);
	F(iommu_hw_info, size);
	F(iommu_hw_info, flags);
	F(iommu_hw_info, dev_id);
	F(iommu_hw_info, data_len);
	F(iommu_hw_info, data_uptr);
	F(iommu_hw_info, in_data_type);
	F(iommu_hw_info, out_data_type);
	F(iommu_hw_info, out_max_pasid_log2);
	F(iommu_hw_info, __reserved);
	F(iommu_hw_info, out_capabilities);
	S(iommu_hwpt_set_dirty_tracking);
	F(iommu_hwpt_set_dirty_tracking, size);
	F(iommu_hwpt_set_dirty_tracking, flags);
	F(iommu_hwpt_set_dirty_tracking, hwpt_id);
	F(iommu_hwpt_set_dirty_tracking, __reserved);
	S(iommu_hwpt_get_dirty_bitmap);
	F(iommu_hwpt_get_dirty_bitmap, size);
	F(iommu_hwpt_get_dirty_bitmap, hwpt_id);
	F(iommu_hwpt_get_dirty_bitmap, flags);
	F(iommu_hwpt_get_dirty_bitmap, __reserved);
	F(iommu_hwpt_get_dirty_bitmap, iova);
	F(iommu_hwpt_get_dirty_bitmap, length);
	F(iommu_hwpt_get_dirty_bitmap, page_size);
	F(iommu_hwpt_get_dirty_bitmap, data);
	S(iommu_hwpt_vtd_s1_invalidate);
	F(iommu_hwpt_vtd_s1_invalidate, addr);
	F(iommu_hwpt_vtd_s1_invalidate, npages);
	F(iommu_hwpt_vtd_s1_invalidate, flags);
	F(iommu_hwpt_vtd_s1_invalidate, __reserved);
	S(iommu_viommu_arm_smmuv3_invalidate);
	F(iommu_viommu_arm_smmuv3_invalidate, cmd);
	S(iommu_hwpt_invalidate);
	F(iommu_hwpt_invalidate, size);
	F(iommu_hwpt_invalidate, hwpt_id);
	F(iommu_hwpt_invalidate, data_uptr);
	F(iommu_hwpt_invalidate, data_type);
	F(iommu_hwpt_invalidate, entry_len);
	F(iommu_hwpt_invalidate, entry_num);
	F(iommu_hwpt_invalidate, __reserved);
	S(iommu_hwpt_pgfault);
	F(iommu_hwpt_pgfault, flags);
	F(iommu_hwpt_pgfault, dev_id);
	F(iommu_hwpt_pgfault, pasid);
	F(iommu_hwpt_pgfault, grpid);
	F(iommu_hwpt_pgfault, perm);
	F(iommu_hwpt_pgfault, __reserved);
	F(iommu_hwpt_pgfault, addr);
	F(iommu_hwpt_pgfault, length);
	F(iommu_hwpt_pgfault, cookie);
	S(iommu_hwpt_page_response);
	F(iommu_hwpt_page_response, cookie);
	F(iommu_hwpt_page_response, code);
	S(iommu_fault_alloc);
	F(iommu_fault_alloc, size);
	F(iommu_fault_alloc, flags);
	F(iommu_fault_alloc, out_fault_id);
	F(iommu_fault_alloc, out_fault_fd);
	S(iommu_viommu_tegra241_cmdqv);
	F(iommu_viommu_tegra241_cmdqv, out_vintf_mmap_offset);
	F(iommu_viommu_tegra241_cmdqv, out_vintf_mmap_length);
	S(iommu_viommu_alloc);
	F(iommu_viommu_alloc, size);
	F(iommu_viommu_alloc, flags);
	F(iommu_viommu_alloc, type);
	F(iommu_viommu_alloc, dev_id);
	F(iommu_viommu_alloc, hwpt_id);
	F(iommu_viommu_alloc, out_viommu_id);
	F(iommu_viommu_alloc, data_len);
	F(iommu_viommu_alloc, __reserved);
	F(iommu_viommu_alloc, data_uptr);
	S(iommu_vdevice_alloc);
	F(iommu_vdevice_alloc, size);
	F(iommu_vdevice_alloc, viommu_id);
	F(iommu_vdevice_alloc, dev_id);
	F(iommu_vdevice_alloc, out_vdevice_id);
	F(iommu_vdevice_alloc, virt_id);
	S(iommu_ioas_change_process);
	F(iommu_ioas_change_process, size);
	F(iommu_ioas_change_process, __reserved);
	S(iommufd_vevent_header);
	F(iommufd_vevent_header, flags);
	F(iommufd_vevent_header, sequence);
	S(iommu_vevent_arm_smmuv3);
	F(iommu_vevent_arm_smmuv3, evt);
	S(iommu_vevent_tegra241_cmdqv);
	F(iommu_vevent_tegra241_cmdqv, lvcmdq_err_map);
	S(iommu_veventq_alloc);
	F(iommu_veventq_alloc, size);
	F(iommu_veventq_alloc, flags);
	F(iommu_veventq_alloc, viommu_id);
	F(iommu_veventq_alloc, type);
	F(iommu_veventq_alloc, veventq_depth);
	F(iommu_veventq_alloc, out_veventq_id);
	F(iommu_veventq_alloc, out_veventq_fd);
	F(iommu_veventq_alloc, __reserved);
	S(iommu_hw_queue_alloc);
	F(iommu_hw_queue_alloc, size);
	F(iommu_hw_queue_alloc, flags);
	F(iommu_hw_queue_alloc, viommu_id);
	F(iommu_hw_queue_alloc, type);
	F(iommu_hw_queue_alloc, index);
	F(iommu_hw_queue_alloc, out_hw_queue_id);
	F(iommu_hw_queue_alloc, nesting_parent_iova);
	F(iommu_hw_queue_alloc, length);
}

static void iommufd_ioctls(void)
{
	IOC(IOMMU_DESTROY);
	IOC(IOMMU_IOAS_ALLOC);
	IOC(IOMMU_IOAS_ALLOW_IOVAS);
	IOC(IOMMU_IOAS_COPY);
	IOC(IOMMU_IOAS_IOVA_RANGES);
	IOC(IOMMU_IOAS_MAP);
	IOC(IOMMU_IOAS_UNMAP);
	IOC(IOMMU_OPTION);
	IOC(IOMMU_VFIO_IOAS);
	IOC(IOMMU_HWPT_ALLOC);
	IOC(IOMMU_GET_HW_INFO);
	IOC(IOMMU_HWPT_SET_DIRTY_TRACKING);
	IOC(IOMMU_HWPT_GET_DIRTY_BITMAP);
	IOC(IOMMU_HWPT_INVALIDATE);
	IOC(IOMMU_FAULT_QUEUE_ALLOC);
	IOC(IOMMU_IOAS_MAP_FILE);
	IOC(IOMMU_VIOMMU_ALLOC);
	IOC(IOMMU_VDEVICE_ALLOC);
	IOC(IOMMU_IOAS_CHANGE_PROCESS);
	IOC(IOMMU_VEVENTQ_ALLOC);
#ifdef IOMMU_HW_QUEUE_ALLOC
	IOC(IOMMU_HW_QUEUE_ALLOC);
#endif
#ifdef IOMMU_IOAS_NOIOMMU_GET_PA
	IOC(IOMMU_IOAS_NOIOMMU_GET_PA);
#endif
}

static void iommufd_consts(void)
{
	K(IOMMUFD_TYPE);
	K(IOMMUFD_CMD_BASE);
	K(IOMMUFD_CMD_DESTROY);
	K(IOMMUFD_CMD_IOAS_ALLOC);
	K(IOMMUFD_CMD_IOAS_ALLOW_IOVAS);
	K(IOMMUFD_CMD_IOAS_COPY);
	K(IOMMUFD_CMD_IOAS_IOVA_RANGES);
	K(IOMMUFD_CMD_IOAS_MAP);
	K(IOMMUFD_CMD_IOAS_UNMAP);
	K(IOMMUFD_CMD_OPTION);
	K(IOMMUFD_CMD_VFIO_IOAS);
	K(IOMMUFD_CMD_HWPT_ALLOC);
	K(IOMMUFD_CMD_GET_HW_INFO);
	K(IOMMUFD_CMD_HWPT_SET_DIRTY_TRACKING);
	K(IOMMUFD_CMD_HWPT_GET_DIRTY_BITMAP);
	K(IOMMUFD_CMD_HWPT_INVALIDATE);
	K(IOMMUFD_CMD_FAULT_QUEUE_ALLOC);
	K(IOMMUFD_CMD_IOAS_MAP_FILE);
	K(IOMMUFD_CMD_VIOMMU_ALLOC);
	K(IOMMUFD_CMD_VDEVICE_ALLOC);
	K(IOMMUFD_CMD_IOAS_CHANGE_PROCESS);
	K(IOMMUFD_CMD_VEVENTQ_ALLOC);
	K(IOMMUFD_CMD_HW_QUEUE_ALLOC);
	K(IOMMUFD_CMD_IOAS_NOIOMMU_GET_PA);
	K(IOMMU_IOAS_MAP_FIXED_IOVA);
	K(IOMMU_IOAS_MAP_WRITEABLE);
	K(IOMMU_IOAS_MAP_READABLE);
	K(IOMMU_OPTION_RLIMIT_MODE);
	K(IOMMU_OPTION_HUGE_PAGES);
	K(IOMMU_OPTION_OP_SET);
	K(IOMMU_OPTION_OP_GET);
	K(IOMMU_VFIO_IOAS_GET);
	K(IOMMU_VFIO_IOAS_SET);
	K(IOMMU_VFIO_IOAS_CLEAR);
	K(IOMMU_HWPT_ALLOC_NEST_PARENT);
	K(IOMMU_HWPT_ALLOC_DIRTY_TRACKING);
	K(IOMMU_HWPT_FAULT_ID_VALID);
	K(IOMMU_HWPT_ALLOC_PASID);
	K(IOMMU_VTD_S1_SRE);
	K(IOMMU_VTD_S1_EAFE);
	K(IOMMU_VTD_S1_WPE);
	K(IOMMU_HWPT_DATA_NONE);
	K(IOMMU_HWPT_DATA_VTD_S1);
	K(IOMMU_HWPT_DATA_ARM_SMMUV3);
	K(IOMMU_HWPT_DATA_AMD_GUEST);
	K(IOMMU_HW_INFO_VTD_ERRATA_772415_SPR17);
	K(IOMMU_HW_INFO_ARM_SMMUV3_ERRATA_REPEAT_TLBI_CFGI);
	K(IOMMU_HW_INFO_TYPE_NONE);
	K(IOMMU_HW_INFO_TYPE_DEFAULT);
	K(IOMMU_HW_INFO_TYPE_INTEL_VTD);
	K(IOMMU_HW_INFO_TYPE_ARM_SMMUV3);
	K(IOMMU_HW_INFO_TYPE_TEGRA241_CMDQV);
	K(IOMMU_HW_INFO_TYPE_AMD);
	K(IOMMU_HW_CAP_DIRTY_TRACKING);
	K(IOMMU_HW_CAP_PCI_PASID_EXEC);
	K(IOMMU_HW_CAP_PCI_PASID_PRIV);
	K(IOMMU_HW_CAP_PCI_ATS_NOT_SUPPORTED);
	K(IOMMU_HW_INFO_FLAG_INPUT_TYPE);
	K(IOMMU_HWPT_DIRTY_TRACKING_ENABLE);
	K(IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR);
	K(IOMMU_HWPT_INVALIDATE_DATA_VTD_S1);
	K(IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3);
	K(IOMMU_VTD_INV_FLAGS_LEAF);
	K(IOMMU_PGFAULT_FLAGS_PASID_VALID);
	K(IOMMU_PGFAULT_FLAGS_LAST_PAGE);
	K(IOMMU_PGFAULT_PERM_READ);
	K(IOMMU_PGFAULT_PERM_WRITE);
	K(IOMMU_PGFAULT_PERM_EXEC);
	K(IOMMU_PGFAULT_PERM_PRIV);
	K(IOMMUFD_PAGE_RESP_SUCCESS);
	K(IOMMUFD_PAGE_RESP_INVALID);
	K(IOMMU_VIOMMU_TYPE_DEFAULT);
	K(IOMMU_VIOMMU_TYPE_ARM_SMMUV3);
	K(IOMMU_VIOMMU_TYPE_TEGRA241_CMDQV);
	K(IOMMU_VEVENTQ_FLAG_LOST_EVENTS);
	K(IOMMU_VEVENTQ_TYPE_DEFAULT);
	K(IOMMU_VEVENTQ_TYPE_ARM_SMMUV3);
	K(IOMMU_VEVENTQ_TYPE_TEGRA241_CMDQV);
	K(IOMMU_HW_QUEUE_TYPE_DEFAULT);
	K(IOMMU_HW_QUEUE_TYPE_TEGRA241_CMDQV);
}

static void vfio_structs(void)
{
	S(vfio_info_cap_header);
	F(vfio_info_cap_header, id);
	F(vfio_info_cap_header, version);
	F(vfio_info_cap_header, next);
	S(vfio_device_info);
	F(vfio_device_info, argsz);
	F(vfio_device_info, flags);
	F(vfio_device_info, num_regions);
	F(vfio_device_info, num_irqs);
	F(vfio_device_info, cap_offset);
	F(vfio_device_info, pad);
	S(vfio_region_info);
	F(vfio_region_info, argsz);
	F(vfio_region_info, flags);
	F(vfio_region_info, index);
	F(vfio_region_info, cap_offset);
	F(vfio_region_info, size);
	F(vfio_region_info, offset);
	S(vfio_region_sparse_mmap_area);
	F(vfio_region_sparse_mmap_area, offset);
	F(vfio_region_sparse_mmap_area, size);
	S(vfio_region_info_cap_sparse_mmap);
	F(vfio_region_info_cap_sparse_mmap, header);
	F(vfio_region_info_cap_sparse_mmap, nr_areas);
	F(vfio_region_info_cap_sparse_mmap, reserved);
	FLEX(vfio_region_info_cap_sparse_mmap, areas);
	S(vfio_region_info_cap_type);
	F(vfio_region_info_cap_type, header);
	F(vfio_region_info_cap_type, type);
	F(vfio_region_info_cap_type, subtype);
	S(vfio_irq_info);
	F(vfio_irq_info, argsz);
	F(vfio_irq_info, flags);
	F(vfio_irq_info, index);
	F(vfio_irq_info, count);
	S(vfio_irq_set);
	F(vfio_irq_set, argsz);
	F(vfio_irq_set, flags);
	F(vfio_irq_set, index);
	F(vfio_irq_set, start);
	F(vfio_irq_set, count);
	FLEX(vfio_irq_set, data);
	S(vfio_device_feature);
	F(vfio_device_feature, argsz);
	F(vfio_device_feature, flags);
	FLEX(vfio_device_feature, data);
	S(vfio_device_bind_iommufd);
	F(vfio_device_bind_iommufd, argsz);
	F(vfio_device_bind_iommufd, flags);
	F(vfio_device_bind_iommufd, iommufd);
	F(vfio_device_bind_iommufd, out_devid);
	F(vfio_device_bind_iommufd, token_uuid_ptr);
	S(vfio_device_attach_iommufd_pt);
	F(vfio_device_attach_iommufd_pt, argsz);
	F(vfio_device_attach_iommufd_pt, flags);
	F(vfio_device_attach_iommufd_pt, pt_id);
	F(vfio_device_attach_iommufd_pt, pasid);
	S(vfio_device_detach_iommufd_pt);
	F(vfio_device_detach_iommufd_pt, argsz);
	F(vfio_device_detach_iommufd_pt, flags);
	F(vfio_device_detach_iommufd_pt, pasid);
}

static void vfio_ioctls(void)
{
	IOC(VFIO_GET_API_VERSION);
	IOC(VFIO_CHECK_EXTENSION);
	IOC(VFIO_DEVICE_GET_INFO);
	IOC(VFIO_DEVICE_GET_REGION_INFO);
	IOC(VFIO_DEVICE_GET_IRQ_INFO);
	IOC(VFIO_DEVICE_SET_IRQS);
	IOC(VFIO_DEVICE_RESET);
	IOC(VFIO_DEVICE_GET_PCI_HOT_RESET_INFO);
	IOC(VFIO_DEVICE_PCI_HOT_RESET);
	IOC(VFIO_DEVICE_IOEVENTFD);
	IOC(VFIO_DEVICE_FEATURE);
	IOC(VFIO_DEVICE_BIND_IOMMUFD);
	IOC(VFIO_DEVICE_ATTACH_IOMMUFD_PT);
	IOC(VFIO_DEVICE_DETACH_IOMMUFD_PT);
}

static void vfio_consts(void)
{
	K(VFIO_TYPE);
	K(VFIO_BASE);
	K(VFIO_API_VERSION);
	K(VFIO_DEVICE_BIND_FLAG_TOKEN);
	K(VFIO_DEVICE_ATTACH_PASID);
	K(VFIO_DEVICE_DETACH_PASID);
	K(VFIO_DEVICE_FLAGS_RESET);
	K(VFIO_DEVICE_FLAGS_PCI);
	K(VFIO_DEVICE_FLAGS_PLATFORM);
	K(VFIO_DEVICE_FLAGS_AMBA);
	K(VFIO_DEVICE_FLAGS_CCW);
	K(VFIO_DEVICE_FLAGS_AP);
	K(VFIO_DEVICE_FLAGS_FSL_MC);
	K(VFIO_DEVICE_FLAGS_CAPS);
	K(VFIO_DEVICE_FLAGS_CDX);
	K(VFIO_REGION_INFO_FLAG_READ);
	K(VFIO_REGION_INFO_FLAG_WRITE);
	K(VFIO_REGION_INFO_FLAG_MMAP);
	K(VFIO_REGION_INFO_FLAG_CAPS);
	K(VFIO_REGION_INFO_CAP_SPARSE_MMAP);
	K(VFIO_REGION_INFO_CAP_TYPE);
	K(VFIO_REGION_INFO_CAP_MSIX_MAPPABLE);
	K(VFIO_IRQ_INFO_EVENTFD);
	K(VFIO_IRQ_INFO_MASKABLE);
	K(VFIO_IRQ_INFO_AUTOMASKED);
	K(VFIO_IRQ_INFO_NORESIZE);
	K(VFIO_IRQ_SET_DATA_NONE);
	K(VFIO_IRQ_SET_DATA_BOOL);
	K(VFIO_IRQ_SET_DATA_EVENTFD);
	K(VFIO_IRQ_SET_ACTION_MASK);
	K(VFIO_IRQ_SET_ACTION_UNMASK);
	K(VFIO_IRQ_SET_ACTION_TRIGGER);
	K(VFIO_PCI_BAR0_REGION_INDEX);
	K(VFIO_PCI_BAR1_REGION_INDEX);
	K(VFIO_PCI_BAR2_REGION_INDEX);
	K(VFIO_PCI_BAR3_REGION_INDEX);
	K(VFIO_PCI_BAR4_REGION_INDEX);
	K(VFIO_PCI_BAR5_REGION_INDEX);
	K(VFIO_PCI_ROM_REGION_INDEX);
	K(VFIO_PCI_CONFIG_REGION_INDEX);
	K(VFIO_PCI_VGA_REGION_INDEX);
	K(VFIO_PCI_NUM_REGIONS);
	K(VFIO_PCI_INTX_IRQ_INDEX);
	K(VFIO_PCI_MSI_IRQ_INDEX);
	K(VFIO_PCI_MSIX_IRQ_INDEX);
	K(VFIO_PCI_ERR_IRQ_INDEX);
	K(VFIO_PCI_REQ_IRQ_INDEX);
	K(VFIO_PCI_NUM_IRQS);
	K(VFIO_DEVICE_FEATURE_MASK);
	K(VFIO_DEVICE_FEATURE_GET);
	K(VFIO_DEVICE_FEATURE_SET);
	K(VFIO_DEVICE_FEATURE_PROBE);
}

#ifdef UAPI_DUMP_MOCK
/* Kernel-internal selftest uAPI of the mock IOMMU (CONFIG_IOMMUFD_TEST), drivers/iommu/iommufd/iommufd_test.h. */
static void mock(void)
{
	S(iommu_test_cmd);
	F(iommu_test_cmd, size);
	F(iommu_test_cmd, op);
	F(iommu_test_cmd, id);
	F(iommu_test_cmd, __reserved);
	F(iommu_test_cmd, add_reserved.start);
	F(iommu_test_cmd, add_reserved.length);
	F(iommu_test_cmd, mock_domain.out_stdev_id);
	F(iommu_test_cmd, mock_domain.out_hwpt_id);
	F(iommu_test_cmd, mock_domain.out_idev_id);
	F(iommu_test_cmd, mock_domain_flags.out_stdev_id);
	F(iommu_test_cmd, mock_domain_flags.out_hwpt_id);
	F(iommu_test_cmd, mock_domain_flags.out_idev_id);
	F(iommu_test_cmd, mock_domain_flags.dev_flags);
	F(iommu_test_cmd, mock_domain_replace.pt_id);
	F(iommu_test_cmd, check_map.iova);
	F(iommu_test_cmd, check_map.length);
	F(iommu_test_cmd, check_map.uptr);
	F(iommu_test_cmd, check_refs.length);
	F(iommu_test_cmd, check_refs.uptr);
	F(iommu_test_cmd, check_refs.refs);
	F(iommu_test_cmd, create_access.out_access_fd);
	F(iommu_test_cmd, create_access.flags);
	F(iommu_test_cmd, destroy_access_pages.access_pages_id);
	F(iommu_test_cmd, access_pages.flags);
	F(iommu_test_cmd, access_pages.out_access_pages_id);
	F(iommu_test_cmd, access_pages.iova);
	F(iommu_test_cmd, access_pages.length);
	F(iommu_test_cmd, access_pages.uptr);
	F(iommu_test_cmd, access_rw.iova);
	F(iommu_test_cmd, access_rw.length);
	F(iommu_test_cmd, access_rw.uptr);
	F(iommu_test_cmd, access_rw.flags);
	F(iommu_test_cmd, memory_limit.limit);
	F(iommu_test_cmd, access_replace_ioas.ioas_id);
	F(iommu_test_cmd, dirty.flags);
	F(iommu_test_cmd, dirty.iova);
	F(iommu_test_cmd, dirty.length);
	F(iommu_test_cmd, dirty.page_size);
	F(iommu_test_cmd, dirty.uptr);
	F(iommu_test_cmd, dirty.out_nr_dirty);
	F(iommu_test_cmd, check_iotlb.id);
	F(iommu_test_cmd, check_iotlb.iotlb);
	F(iommu_test_cmd, trigger_iopf.dev_id);
	F(iommu_test_cmd, trigger_iopf.pasid);
	F(iommu_test_cmd, trigger_iopf.grpid);
	F(iommu_test_cmd, trigger_iopf.perm);
	F(iommu_test_cmd, trigger_iopf.addr);
	F(iommu_test_cmd, check_dev_cache.id);
	F(iommu_test_cmd, check_dev_cache.cache);
	F(iommu_test_cmd, trigger_vevent.dev_id);
	F(iommu_test_cmd, pasid_attach.pasid);
	F(iommu_test_cmd, pasid_attach.pt_id);
	F(iommu_test_cmd, pasid_replace.pasid);
	F(iommu_test_cmd, pasid_replace.pt_id);
	F(iommu_test_cmd, pasid_detach.pasid);
	F(iommu_test_cmd, pasid_check.pasid);
	F(iommu_test_cmd, pasid_check.hwpt_id);
	F(iommu_test_cmd, dmabuf_get.length);
	F(iommu_test_cmd, dmabuf_get.open_flags);
	F(iommu_test_cmd, dmabuf_revoke.dmabuf_fd);
	F(iommu_test_cmd, dmabuf_revoke.revoked);
	F(iommu_test_cmd, last);
	S(iommu_test_hw_info);
	F(iommu_test_hw_info, flags);
	F(iommu_test_hw_info, test_reg);
	S(iommu_hwpt_selftest);
	F(iommu_hwpt_selftest, iotlb);
	F(iommu_hwpt_selftest, pagetable_type);
	S(iommu_hwpt_invalidate_selftest);
	F(iommu_hwpt_invalidate_selftest, flags);
	F(iommu_hwpt_invalidate_selftest, iotlb_id);
	S(iommu_viommu_selftest);
	F(iommu_viommu_selftest, in_data);
	F(iommu_viommu_selftest, out_data);
	F(iommu_viommu_selftest, out_mmap_offset);
	F(iommu_viommu_selftest, out_mmap_length);
	S(iommu_viommu_invalidate_selftest);
	F(iommu_viommu_invalidate_selftest, flags);
	F(iommu_viommu_invalidate_selftest, vdev_id);
	F(iommu_viommu_invalidate_selftest, cache_id);
	S(iommu_viommu_event_selftest);
	F(iommu_viommu_event_selftest, virt_id);
	IOC(IOMMU_TEST_CMD);
	K(IOMMU_TEST_OP_ADD_RESERVED);
	K(IOMMU_TEST_OP_MOCK_DOMAIN);
	K(IOMMU_TEST_OP_MD_CHECK_MAP);
	K(IOMMU_TEST_OP_MD_CHECK_REFS);
	K(IOMMU_TEST_OP_CREATE_ACCESS);
	K(IOMMU_TEST_OP_DESTROY_ACCESS_PAGES);
	K(IOMMU_TEST_OP_ACCESS_PAGES);
	K(IOMMU_TEST_OP_ACCESS_RW);
	K(IOMMU_TEST_OP_SET_TEMP_MEMORY_LIMIT);
	K(IOMMU_TEST_OP_MOCK_DOMAIN_REPLACE);
	K(IOMMU_TEST_OP_ACCESS_REPLACE_IOAS);
	K(IOMMU_TEST_OP_MOCK_DOMAIN_FLAGS);
	K(IOMMU_TEST_OP_DIRTY);
	K(IOMMU_TEST_OP_MD_CHECK_IOTLB);
	K(IOMMU_TEST_OP_TRIGGER_IOPF);
	K(IOMMU_TEST_OP_DEV_CHECK_CACHE);
	K(IOMMU_TEST_OP_TRIGGER_VEVENT);
	K(IOMMU_TEST_OP_PASID_ATTACH);
	K(IOMMU_TEST_OP_PASID_REPLACE);
	K(IOMMU_TEST_OP_PASID_DETACH);
	K(IOMMU_TEST_OP_PASID_CHECK_HWPT);
	K(IOMMU_TEST_OP_DMABUF_GET);
	K(IOMMU_TEST_OP_DMABUF_REVOKE);
	K(MOCK_IOMMUPT_DEFAULT);
	K(MOCK_IOMMUPT_HUGE);
	K(MOCK_APERTURE_START);
	K(MOCK_APERTURE_LAST);
	K(MOCK_PAGE_SIZE);
	K(MOCK_HUGE_PAGE_SIZE);
	K(MOCK_FLAGS_ACCESS_WRITE);
	K(MOCK_FLAGS_ACCESS_SYZ);
	K(MOCK_ACCESS_RW_WRITE);
	K(MOCK_ACCESS_RW_SLOW_PATH);
	K(MOCK_FLAGS_ACCESS_CREATE_NEEDS_PIN_PAGES);
	K(MOCK_FLAGS_DEVICE_NO_DIRTY);
	K(MOCK_FLAGS_DEVICE_PASID);
	K(MOCK_NESTED_DOMAIN_IOTLB_ID_MAX);
	K(MOCK_NESTED_DOMAIN_IOTLB_NUM);
	K(MOCK_DEV_CACHE_ID_MAX);
	K(MOCK_DEV_CACHE_NUM);
	K(IOMMU_TEST_PASID_RESERVED);
	K(MOCK_PASID_WIDTH);
	K(IOMMU_HW_INFO_TYPE_SELFTEST);
	K(IOMMU_HW_INFO_SELFTEST_REGVAL);
	K(IOMMU_HWPT_DATA_SELFTEST);
	K(IOMMU_TEST_IOTLB_DEFAULT);
	K(IOMMU_TEST_DEV_CACHE_DEFAULT);
	K(IOMMU_HWPT_INVALIDATE_DATA_SELFTEST);
	K(IOMMU_HWPT_INVALIDATE_DATA_SELFTEST_INVALID);
	K(IOMMU_TEST_INVALIDATE_FLAG_ALL);
	K(IOMMU_VIOMMU_TYPE_SELFTEST);
	K(IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST);
	K(IOMMU_VIOMMU_INVALIDATE_DATA_SELFTEST_INVALID);
	K(IOMMU_VEVENTQ_TYPE_SELFTEST);
	K(IOMMU_HW_QUEUE_TYPE_SELFTEST);
	K(IOMMU_TEST_HW_QUEUE_MAX);
}
#endif

int main(void)
{
	printf("header linux-libc-dev %s\n", UAPI_HEADER_VERSION);
	iommufd_structs();
	iommufd_ioctls();
	iommufd_consts();
	vfio_structs();
	vfio_ioctls();
	vfio_consts();
#ifdef UAPI_DUMP_MOCK
	mock();
#endif
	return ferror(stdout) ? 1 : 0;
}
