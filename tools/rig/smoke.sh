#!/usr/bin/env bash
# Smoke test of the real-kernel rig (run tools/rig/setup.sh first).
#   tools/rig/smoke.sh              1. edu DMA through an iommufd IOAS on the emulated VT-d (must round-trip)
#                                   2. the host JDK runs in the guest and sees /dev/iommu and the VFIO cdev
#                                   3. FFM (java.lang.foreign) ioctls on /dev/iommu + the VFIO cdev from that JDK
#                                   4. uapi-dump builds and runs
#   tools/rig/smoke.sh --selftests  also runs the kernel's iommufd selftests against the mock IOMMU
#                                   (informational: reports the totals, does not fail the smoke test)
# Exit status 0 only if steps 1-4 pass. Each VM's full console log is kept (path printed).
set -Euo pipefail
RIG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$RIG_DIR/lib.sh"
SELFTESTS=0
for a in "$@"; do case $a in --selftests) SELFTESTS=1 ;; *) rig_die "usage: smoke.sh [--selftests]" ;; esac; done

fails=0 summary=()
step() {  # step NAME COMMAND... : runs it, records PASS/FAIL + time
  local name=$1; shift
  local t0; t0=$(rig_now)
  rig_say "=== $name"
  "$@"; local rc=$?
  local line; line=$(printf '%-5s %-48s %s (exit %s)' "$([ $rc = 0 ] && echo PASS || echo FAIL)" "$name" "$(rig_elapsed "$t0")" "$rc")
  summary+=("$line")
  [ $rc = 0 ] || fails=$((fails + 1))
  return 0
}

step "edu DMA through iommufd (real VT-d emulation)" "$RIG_DIR/run-vm.sh" --timeout 180 -- /guest/t-edu.sh
step "host JDK inside the guest (chroot /host)" "$RIG_DIR/run-vm.sh" --timeout 240 -- /guest/t-java.sh
# FFM: the host JDK reaches /dev/iommu and the VFIO cdev through java.lang.foreign (guest-src/RigFfmProbe.java)
ffm() {
  local out=$RIG_CACHE/java-probe src=$RIG_DIR/guest-src/RigFfmProbe.java
  if [ ! -f "$out/RigFfmProbe.class" ] || [ "$src" -nt "$out/RigFfmProbe.class" ]; then
    mkdir -p "$out" && "$RIG_JDK/bin/javac" -d "$out" "$src" || return 1
  fi
  "$RIG_DIR/run-vm.sh" --timeout 240 -- /guest/java --enable-native-access=ALL-UNNAMED -cp "$out" RigFfmProbe
}
step "FFM iommufd calls from the JDK in the guest" ffm
ud() { local b; b=$("$RIG_DIR/uapi-dump/build.sh") && "$b" > "$RIG_CACHE/uapi-dump/uapi_dump.out" &&
       rig_say "uapi_dump: $(grep -c '^struct ' "$RIG_CACHE/uapi-dump/uapi_dump.out") structs, $(grep -c '^field ' "$RIG_CACHE/uapi-dump/uapi_dump.out") fields, $(grep -c '^ioctl ' "$RIG_CACHE/uapi-dump/uapi_dump.out") ioctls, $(grep -c '^const ' "$RIG_CACHE/uapi-dump/uapi_dump.out") consts -> $RIG_CACHE/uapi-dump/uapi_dump.out"; }
step "uapi-dump builds and runs" ud
if [ $SELFTESTS = 1 ]; then
  st() {
    local log; log=$(mktemp "${TMPDIR:-/tmp}/rig-selftest.XXXXXX")
    "$RIG_DIR/run-vm.sh" --timeout 600 -- /guest/t-selftest.sh > "$log" 2>&1
    grep -a -E '^# (FAILED|Totals)|^not ok' "$log" | tr -d '\r' | tail -20 >&2
    tail -1 "$log" >&2; rm -f "$log"
    return 0   # informational
  }
  step "kernel iommufd selftests on the mock IOMMU (info)" st
fi

echo
printf '%s\n' "${summary[@]}"
if [ $fails = 0 ]; then echo "SMOKE: PASS"; else echo "SMOKE: FAIL ($fails step(s))"; fi
exit $((fails > 0))
