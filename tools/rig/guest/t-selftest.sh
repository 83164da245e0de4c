#!/bin/sh
# Guest test: the kernel's own iommufd selftests (tools/testing/selftests/iommu), which drive the mock IOMMU
# (CONFIG_IOMMUFD_TEST). Usage: t-selftest.sh [kselftest-harness options, e.g. -f iommufd_viommu -r <test>]
echo 256 > /proc/sys/vm/nr_hugepages 2>/dev/null
echo "nr_hugepages=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null)"
/guest/iommufd "$@"; rc=$?
if [ $# -eq 0 ] && [ -n "$RIG_FAIL_NTH" ]; then
  /guest/iommufd_fail_nth > /tmp/fn.log 2>&1; echo "iommufd_fail_nth rc=$?"; grep -E '^# (PASSED|FAILED|Totals)' /tmp/fn.log
fi
exit $rc
