#!/bin/sh
# Guest test: real DMA by QEMU's edu device through an iommufd IOAS (see guest-src/iommufd_edu_test.c).
# /init has already bound edu to vfio-pci.
CDEV=$(ls /dev/vfio/devices/ 2>/dev/null | head -1)
[ -n "$CDEV" ] || { echo "no /dev/vfio/devices/* (edu not bound to vfio-pci?)"; ls -la /dev/vfio 2>&1; exit 1; }
/guest/iommufd_edu_test /dev/vfio/devices/$CDEV; rc=$?
echo "== guest kernel log (DMAR / vfio / iommufd)"
dmesg | grep -i -E 'DMAR|vfio|iommufd' | tail -12
exit $rc
