#!/bin/sh
# Guest test: the host JDK runs inside the guest (chroot into the 9p share) and sees the iommufd/VFIO nodes.
up() { cut -d' ' -f1 /proc/uptime; }
s=$(up); /guest/java -XX:-UsePerfData -version; rc=$?; e=$(up)
awk -v s=$s -v e=$e -v rc=$rc 'BEGIN{printf "TIME java -version: %.2fs rc=%d\n", e-s, rc}'
[ $rc = 0 ] || exit $rc
for n in /dev/iommu /dev/vfio/devices/vfio0 /proc/self/maps /sys/bus/pci/devices /tmp; do
  if chroot /host /bin/sh -c "[ -e $n ]"; then echo "chroot sees $n"; else echo "chroot does NOT see $n"; rc=1; fi
done
chroot /host /bin/sh -c 'echo x > /tmp/rig-write-test && rm /tmp/rig-write-test' && echo "chroot /tmp is writable" || rc=1
exit $rc
