/*
 * iommufd + VFIO cdev smoke test, run inside the rig's guest: QEMU's "edu" PCI device behind the emulated
 * intel-iommu (scalable mode), bound to vfio-pci by the rig's /init.
 *
 * Built statically by tools/rig/setup.sh against the linux-libc-dev 7.3 headers (not the host's):
 *   gcc -O2 -static -isystem $CACHE/linux-libc-dev/usr/include \
 *       -isystem $CACHE/linux-libc-dev/usr/include/x86_64-linux-gnu -o iommufd_edu_test iommufd_edu_test.c
 * Usage (guest): iommufd_edu_test [/dev/vfio/devices/vfioN]
 *
 * Output: one line per step, "PASS ...", "FAIL ..." (required step failed) or "INFO ..." (optional feature,
 * reported only: QEMU's VT-d has no nesting, no dirty tracking and no vIOMMU support), then "RESULT PASS|FAIL".
 * Exit status 0 only if every required step passed.
 *
 * Required: open /dev/iommu, IOAS_ALLOC, open + BIND_IOMMUFD, GET_HW_INFO (VT-d), ATTACH to the IOAS,
 * IOVA_RANGES, IOAS_MAP, edu DMA RAM -> device -> RAM through the mapping, DMA to an unmapped IOVA blocked,
 * a paging HWPT allocated explicitly and attached (replace), DMA through it, IOAS_UNMAP and DMA blocked after
 * it, DETACH, DESTROY.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/iommufd.h>
#include <linux/vfio.h>

static int failures;

static void report(const char *kind, int err, const char *fmt, va_list ap)
{
	printf("%-4s ", kind);
	vprintf(fmt, ap);
	if (err)
		printf(" (errno %d %s)", err, strerror(err));
	printf("\n");
	fflush(stdout);
}

/* required step: PASS if ok, else FAIL (with errno) */
static int req(int ok, const char *fmt, ...)
{
	int err = ok ? 0 : errno;
	va_list ap;
	va_start(ap, fmt);
	report(ok ? "PASS" : "FAIL", err, fmt, ap);
	va_end(ap);
	if (!ok)
		failures++;
	return ok;
}

/* optional step: always INFO; rc is the ioctl's return value */
static int opt(int rc, const char *fmt, ...)
{
	int err = rc ? errno : 0;
	va_list ap;
	va_start(ap, fmt);
	report("INFO", 0, fmt, ap);
	va_end(ap);
	if (rc)
		printf("     -> not available: errno %d (%s)\n", err, strerror(err));
	return rc == 0;
}

/* ---- the edu device (QEMU docs/specs/edu.rst) ---- */
#define EDU_ID		0x00
#define EDU_LIVE	0x04
#define EDU_FACT	0x08
#define EDU_STATUS	0x20
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_CNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_DMA_RUN	1
#define EDU_DMA_TO_RAM	2	/* direction bit: device buffer -> RAM */
#define EDU_BUF		0x40000	/* device-internal 4 KiB buffer address */

static volatile uint8_t *bar0;

static uint32_t rd32(uint32_t off) { return *(volatile uint32_t *)(bar0 + off); }
static void wr32(uint32_t off, uint32_t v) { *(volatile uint32_t *)(bar0 + off) = v; }
static uint64_t rd64(uint32_t off) { return *(volatile uint64_t *)(bar0 + off); }
static void wr64(uint32_t off, uint64_t v) { *(volatile uint64_t *)(bar0 + off) = v; }

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* one edu DMA transfer; returns 0 when the device reports completion, -1 on timeout */
static int edu_dma(uint64_t src, uint64_t dst, uint64_t cnt, int to_ram, double *ms)
{
	double t0 = now();
	wr64(EDU_DMA_SRC, src);
	wr64(EDU_DMA_DST, dst);
	wr64(EDU_DMA_CNT, cnt);
	wr64(EDU_DMA_CMD, EDU_DMA_RUN | (to_ram ? EDU_DMA_TO_RAM : 0));
	while (rd64(EDU_DMA_CMD) & EDU_DMA_RUN) {
		if (now() - t0 > 10)
			return -1;
		usleep(1000);
	}
	if (ms)
		*ms = (now() - t0) * 1e3;
	return 0;
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* RAM(iova_src) -> device buffer -> RAM(iova_dst); checks that dst got src's bytes */
static int round_trip(uint8_t *src, uint8_t *dst, uint64_t iova_src, uint64_t iova_dst, uint8_t seed, const char *what)
{
	double t1 = 0, t2 = 0;
	for (int i = 0; i < 4096; i++)
		src[i] = (uint8_t)(i * 7 + seed);
	memset(dst, 0, 4096);
	int ok = edu_dma(iova_src, EDU_BUF, 4096, 0, &t1) == 0 && edu_dma(EDU_BUF, iova_dst, 4096, 1, &t2) == 0;
	return req(ok && memcmp(src, dst, 4096) == 0,
		   "edu DMA round trip via %s: RAM(iova 0x%llx) -> device -> RAM(iova 0x%llx), %.0f + %.0f ms, "
		   "data %s", what, (unsigned long long)iova_src, (unsigned long long)iova_dst, t1, t2,
		   ok ? (memcmp(src, dst, 4096) ? "DIFFERS" : "matches") : "(device timeout)");
}

static const char *find_cdev(void)
{
	static char path[300];
	DIR *d = opendir("/dev/vfio/devices");
	struct dirent *e;
	if (!d)
		return NULL;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "vfio", 4)) {
			snprintf(path, sizeof(path), "/dev/vfio/devices/%s", e->d_name);
			closedir(d);
			return path;
		}
	closedir(d);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *cdev = argc > 1 ? argv[1] : find_cdev();
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!cdev) {
		printf("FAIL no VFIO cdev under /dev/vfio/devices (is edu bound to vfio-pci?)\nRESULT FAIL\n");
		return 1;
	}

	/* ---- iommufd + IOAS ---- */
	int iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (!req(iommufd >= 0, "open /dev/iommu"))
		goto out;
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	rc = ioctl(iommufd, IOMMU_IOAS_ALLOC, &ioas);
	if (!req(rc == 0, "IOMMU_IOAS_ALLOC -> ioas_id %u", ioas.out_ioas_id))
		goto out;
	const uint32_t ioas_id = ioas.out_ioas_id;

	struct iommu_option huge = { .size = sizeof(huge), .option_id = IOMMU_OPTION_HUGE_PAGES,
				     .op = IOMMU_OPTION_OP_GET, .object_id = ioas_id };
	rc = ioctl(iommufd, IOMMU_OPTION, &huge);
	opt(rc, "IOMMU_OPTION GET HUGE_PAGES on the IOAS -> %llu", (unsigned long long)huge.val64);

	/* ---- VFIO cdev: bind, device info ---- */
	int devfd = open(cdev, O_RDWR | O_CLOEXEC);
	if (!req(devfd >= 0, "open %s", cdev))
		goto out;
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind), .iommufd = iommufd };
	rc = ioctl(devfd, VFIO_DEVICE_BIND_IOMMUFD, &bind);
	if (!req(rc == 0, "VFIO_DEVICE_BIND_IOMMUFD -> dev_id %u",
		 bind.out_devid))
		goto out;
	const uint32_t dev_id = bind.out_devid;

	struct vfio_device_info dinfo = { .argsz = sizeof(dinfo) };
	rc = ioctl(devfd, VFIO_DEVICE_GET_INFO, &dinfo);
	req(rc == 0 && (dinfo.flags & VFIO_DEVICE_FLAGS_PCI),
	    "VFIO_DEVICE_GET_INFO flags 0x%x (PCI) regions %u irqs %u", dinfo.flags, dinfo.num_regions, dinfo.num_irqs);

	/* ---- hardware info: the emulated VT-d ---- */
	struct iommu_hw_info_vtd vtd = { 0 };
	struct iommu_hw_info info = { .size = sizeof(info), .dev_id = dev_id,
				      .data_len = sizeof(vtd), .data_uptr = (uintptr_t)&vtd };
	rc = ioctl(iommufd, IOMMU_GET_HW_INFO, &info);
	req(rc == 0 && info.out_data_type == IOMMU_HW_INFO_TYPE_INTEL_VTD,
	    "IOMMU_GET_HW_INFO type %u (INTEL_VTD=%u) cap_reg 0x%llx ecap_reg 0x%llx capabilities 0x%llx "
	    "max_pasid_log2 %u", info.out_data_type, IOMMU_HW_INFO_TYPE_INTEL_VTD, (unsigned long long)vtd.cap_reg,
	    (unsigned long long)vtd.ecap_reg, (unsigned long long)info.out_capabilities, info.out_max_pasid_log2);
	if (rc == 0) {
		uint64_t e = vtd.ecap_reg;
		printf("INFO ecap: SMTS %d FLTS %d SLTS %d NEST %d PASID %d PRS %d DIT %d SSADS %d\n",
		       (int)(e >> 43 & 1), (int)(e >> 47 & 1), (int)(e >> 46 & 1), (int)(e >> 26 & 1),
		       (int)(e >> 40 & 1), (int)(e >> 29 & 1), (int)(e >> 41 & 1), (int)(e >> 55 & 1));
	}

	/* ---- optional HWPT kinds (QEMU's VT-d advertises neither nesting nor dirty tracking) ---- */
	struct iommu_hwpt_alloc parent = { .size = sizeof(parent), .flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
					   .dev_id = dev_id, .pt_id = ioas_id };
	rc = ioctl(iommufd, IOMMU_HWPT_ALLOC, &parent);
	opt(rc, "IOMMU_HWPT_ALLOC NEST_PARENT -> hwpt_id %u", rc ? 0 : parent.out_hwpt_id);
	const uint32_t parent_id = rc ? 0 : parent.out_hwpt_id;
	if (parent_id) {
		struct iommu_hwpt_vtd_s1 s1 = { .pgtbl_addr = 0x1000, .addr_width = 48 };
		struct iommu_hwpt_alloc nested = { .size = sizeof(nested), .dev_id = dev_id, .pt_id = parent_id,
						   .data_type = IOMMU_HWPT_DATA_VTD_S1, .data_len = sizeof(s1),
						   .data_uptr = (uintptr_t)&s1 };
		rc = ioctl(iommufd, IOMMU_HWPT_ALLOC, &nested);
		opt(rc, "IOMMU_HWPT_ALLOC nested VTD_S1 on the parent -> hwpt_id %u", rc ? 0 : nested.out_hwpt_id);
	}
	struct iommu_hwpt_alloc dirty = { .size = sizeof(dirty), .flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
					  .dev_id = dev_id, .pt_id = ioas_id };
	rc = ioctl(iommufd, IOMMU_HWPT_ALLOC, &dirty);
	opt(rc, "IOMMU_HWPT_ALLOC DIRTY_TRACKING -> hwpt_id %u", rc ? 0 : dirty.out_hwpt_id);

	/* ---- attach to the IOAS: the kernel picks/creates a paging domain ---- */
	struct vfio_device_attach_iommufd_pt attach = { .argsz = sizeof(attach), .pt_id = ioas_id };
	rc = ioctl(devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach);
	if (!req(rc == 0,
		 "VFIO_DEVICE_ATTACH_IOMMUFD_PT ioas %u -> hwpt_id %u", ioas_id, attach.pt_id))
		goto out;
	const uint32_t auto_hwpt = attach.pt_id;

	struct iommu_iova_range ranges[8];
	struct iommu_ioas_iova_ranges rq = { .size = sizeof(rq), .ioas_id = ioas_id, .num_iovas = 8,
					     .allowed_iovas = (uintptr_t)ranges };
	rc = ioctl(iommufd, IOMMU_IOAS_IOVA_RANGES, &rq);
	req(rc == 0 && rq.num_iovas >= 1, "IOMMU_IOAS_IOVA_RANGES -> %u range(s), alignment 0x%llx", rq.num_iovas,
	    (unsigned long long)rq.out_iova_alignment);
	for (unsigned i = 0; rc == 0 && i < rq.num_iovas && i < 8; i++)
		printf("INFO IOVA range %u: 0x%llx-0x%llx\n", i, (unsigned long long)ranges[i].start,
		       (unsigned long long)ranges[i].last);

	/* ---- map 4 pages at IOVA 0x100000 (edu's DMA mask is 28 bits) ---- */
	const uint64_t IOVA = 0x100000, LEN = 4 * 4096, UNMAPPED = 0x200000;
	uint8_t *buf = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!req(buf != MAP_FAILED, "mmap %llu bytes of anonymous memory", (unsigned long long)LEN))
		goto out;
	memset(buf, 0, LEN);
	struct iommu_ioas_map map = { .size = sizeof(map),
				      .flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
					       IOMMU_IOAS_MAP_WRITEABLE,
				      .ioas_id = ioas_id, .user_va = (uintptr_t)buf, .length = LEN, .iova = IOVA };
	rc = ioctl(iommufd, IOMMU_IOAS_MAP, &map);
	if (!req(rc == 0, "IOMMU_IOAS_MAP va %p len 0x%llx at iova 0x%llx", buf,
		 (unsigned long long)LEN, (unsigned long long)map.iova))
		goto out;

	/* ---- BAR0 through the VFIO region, enable memory decode + bus mastering ---- */
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_BAR0_REGION_INDEX };
	rc = ioctl(devfd, VFIO_DEVICE_GET_REGION_INFO, &ri);
	if (!req(rc == 0 && (ri.flags & VFIO_REGION_INFO_FLAG_MMAP),
		 "VFIO_DEVICE_GET_REGION_INFO BAR0 size 0x%llx offset 0x%llx flags 0x%x", (unsigned long long)ri.size,
		 (unsigned long long)ri.offset, ri.flags))
		goto out;
	bar0 = mmap(NULL, ri.size, PROT_READ | PROT_WRITE, MAP_SHARED, devfd, ri.offset);
	if (!req(bar0 != MAP_FAILED, "mmap BAR0"))
		goto out;
	struct vfio_region_info ci = { .argsz = sizeof(ci), .index = VFIO_PCI_CONFIG_REGION_INDEX };
	uint16_t cmd = 0;
	rc = ioctl(devfd, VFIO_DEVICE_GET_REGION_INFO, &ci) == 0 && pread(devfd, &cmd, 2, ci.offset + 4) == 2 ? 0 : -1;
	cmd |= 0x6; /* PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER */
	rc = rc == 0 && pwrite(devfd, &cmd, 2, ci.offset + 4) == 2 ? 0 : -1;
	req(rc == 0, "config space PCI_COMMAND |= MEM | MASTER -> 0x%x", cmd);

	uint32_t id = rd32(EDU_ID);
	wr32(EDU_LIVE, 0x12345678);
	uint32_t live = rd32(EDU_LIVE);
	wr32(EDU_FACT, 5);
	for (int i = 0; i < 1000 && (rd32(EDU_STATUS) & 1); i++)
		usleep(1000);
	uint32_t fact = rd32(EDU_FACT);
	req((id & 0xffff) == 0x00ed && live == ~0x12345678u && fact == 120,
	    "edu MMIO: id 0x%08x liveness 0x%08x 5! = %u", id, live, fact);

	/* ---- DMA through the auto-selected paging domain ---- */
	round_trip(buf, buf + 4096, IOVA, IOVA + 4096, 3, "the IOAS (auto domain)");

	/* DMA to an IOVA that is not mapped must not land anywhere (guest log: DMAR fault) */
	memset(buf + 2 * 4096, 0, 4096);
	rc = edu_dma(EDU_BUF, UNMAPPED, 4096, 1, NULL);
	printf("INFO edu DMA to unmapped iova 0x%llx: device %s (a DMAR fault is expected in dmesg)\n",
	       (unsigned long long)UNMAPPED, rc == 0 ? "completed" : "timed out");
	req(all_zero(buf + 2 * 4096, 4096), "DMA to an unmapped IOVA did not reach mapped memory");

	/* ---- an explicitly allocated paging HWPT, attached by replacing the auto domain ---- */
	struct iommu_hwpt_alloc paging = { .size = sizeof(paging), .dev_id = dev_id, .pt_id = ioas_id };
	rc = ioctl(iommufd, IOMMU_HWPT_ALLOC, &paging);
	if (req(rc == 0, "IOMMU_HWPT_ALLOC paging (flags 0) on ioas %u -> hwpt_id %u", ioas_id, paging.out_hwpt_id)) {
		struct vfio_device_attach_iommufd_pt at2 = { .argsz = sizeof(at2), .pt_id = paging.out_hwpt_id };
		if (req(ioctl(devfd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at2) == 0,
			"VFIO_DEVICE_ATTACH_IOMMUFD_PT hwpt %u (replace)", paging.out_hwpt_id))
			round_trip(buf + 2 * 4096, buf + 3 * 4096, IOVA + 2 * 4096, IOVA + 3 * 4096, 11,
				   "an explicit HWPT");
	}

	/* ---- fault queue (IOPF): allocation works even though QEMU's VT-d has no PRI ---- */
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	rc = ioctl(iommufd, IOMMU_FAULT_QUEUE_ALLOC, &fa);
	opt(rc, "IOMMU_FAULT_QUEUE_ALLOC -> fault_id %u fd %d", rc ? 0 : fa.out_fault_id, rc ? -1 : (int)fa.out_fault_fd);
	uint32_t fault_hwpt = 0;
	if (rc == 0) {
		struct iommu_hwpt_alloc fh = { .size = sizeof(fh), .flags = IOMMU_HWPT_FAULT_ID_VALID, .dev_id = dev_id,
					       .pt_id = ioas_id, .fault_id = fa.out_fault_id };
		rc = ioctl(iommufd, IOMMU_HWPT_ALLOC, &fh);
		opt(rc, "IOMMU_HWPT_ALLOC FAULT_ID_VALID -> hwpt_id %u", rc ? 0 : fh.out_hwpt_id);
		fault_hwpt = rc ? 0 : fh.out_hwpt_id;
	}

	/* ---- vIOMMU (needs a nesting parent, so EOPNOTSUPP on QEMU's VT-d) ---- */
	struct iommu_viommu_alloc va = { .size = sizeof(va), .type = IOMMU_VIOMMU_TYPE_DEFAULT, .dev_id = dev_id,
					 .hwpt_id = parent_id ? parent_id : auto_hwpt };
	rc = ioctl(iommufd, IOMMU_VIOMMU_ALLOC, &va);
	opt(rc, "IOMMU_VIOMMU_ALLOC DEFAULT on hwpt %u -> viommu_id %u", va.hwpt_id, rc ? 0 : va.out_viommu_id);

	/* ---- unmap: the DMA must not reach the buffer any more ---- */
	struct iommu_ioas_unmap um = { .size = sizeof(um), .ioas_id = ioas_id, .iova = IOVA, .length = LEN };
	rc = ioctl(iommufd, IOMMU_IOAS_UNMAP, &um);
	req(rc == 0 && um.length == LEN, "IOMMU_IOAS_UNMAP -> length 0x%llx",
	    (unsigned long long)um.length);
	memset(buf + 4096, 0, 4096);
	edu_dma(EDU_BUF, IOVA + 4096, 4096, 1, NULL);
	req(all_zero(buf + 4096, 4096), "DMA after IOAS_UNMAP did not reach the formerly mapped buffer");

	/* ---- teardown ---- */
	struct vfio_device_detach_iommufd_pt det = { .argsz = sizeof(det) };
	req(ioctl(devfd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &det) == 0, "VFIO_DEVICE_DETACH_IOMMUFD_PT");
	/* destroy in dependency order: HWPTs, then the fault object (after closing its fd), then the IOAS */
	const uint32_t hwpts[] = { paging.out_hwpt_id, fault_hwpt, dirty.out_hwpt_id, parent_id };
	for (unsigned i = 0; i < sizeof(hwpts) / sizeof(hwpts[0]); i++) {
		struct iommu_destroy d = { .size = sizeof(d), .id = hwpts[i] };
		if (d.id)
			req(ioctl(iommufd, IOMMU_DESTROY, &d) == 0, "IOMMU_DESTROY hwpt %u", d.id);
	}
	if (fa.out_fault_id) {
		close(fa.out_fault_fd);
		struct iommu_destroy d = { .size = sizeof(d), .id = fa.out_fault_id };
		req(ioctl(iommufd, IOMMU_DESTROY, &d) == 0, "IOMMU_DESTROY fault %u", d.id);
	}
	munmap((void *)bar0, ri.size);
	close(devfd);	/* unbinds the device */
	struct iommu_destroy d = { .size = sizeof(d), .id = ioas_id };
	req(ioctl(iommufd, IOMMU_DESTROY, &d) == 0, "IOMMU_DESTROY ioas %u", ioas_id);
	close(iommufd);
out:
	printf("RESULT %s (%d required step(s) failed)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
