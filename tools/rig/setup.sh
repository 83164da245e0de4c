#!/usr/bin/env bash
# viommu real-kernel rig: installs/builds everything the rig needs, from Debian packages only.
#
#   tools/rig/setup.sh [all]       everything: host build deps, QEMU 10, busybox, 7.3 uAPI headers, the mini
#                                  kernel (cached by version + config hash), guest programs, initramfs
#   tools/rig/setup.sh headers     only fetch + extract linux-libc-dev 7.3 (the uAPI headers); seconds
#   options:  --refresh            re-run apt-get update on the rig's private lists and re-resolve versions
#
# Cache: ${VIOMMU_RIG_CACHE:-$HOME/.cache/viommu-rig} (layout in tools/rig/README.md). Idempotent: a second run
# with everything cached only checks stamps. Concurrent runs serialise on $CACHE/.setup.lock (flock).
# The machine stays Debian 12: packages from newer suites are only downloaded and unpacked (dpkg-deb -x) into
# the cache, through apt -o options; the machine's apt configuration is not modified.
set -Eeuo pipefail
RIG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$RIG_DIR/lib.sh"

MODE=all REFRESH=0
for a in "$@"; do
  case $a in
    all|headers) MODE=$a ;;
    --refresh) REFRESH=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) rig_die "unknown argument '$a' (usage: setup.sh [all|headers] [--refresh])" ;;
  esac
done

STEP="start"
trap 'rc=$?; printf "[rig] ERROR: setup.sh failed in step \"%s\" at line %s: %s (exit %s)\n" "$STEP" "$LINENO" "$BASH_COMMAND" "$rc" >&2' ERR

# Versions that were proven to work (kernel-rig recipe). If the archive no longer has them, the newest
# 7.3.x / 10.0.x (bookworm build) is used instead and a line says so.
# (The pins can be overridden with VIOMMU_RIG_PIN_{LINUX,QEMU,SEABIOS,BUSYBOX}, e.g. to test the fallback.)
PIN_LINUX=${VIOMMU_RIG_PIN_LINUX:-7.3.4-1~bpo13+1}                 LINUX_PATTERN='^7\.3\.'
PIN_QEMU=${VIOMMU_RIG_PIN_QEMU:-1:10.0.2+ds-2+deb13u1~bpo12+1}     QEMU_PATTERN='^1:10\.0\..*bpo12'
PIN_SEABIOS=${VIOMMU_RIG_PIN_SEABIOS:-1.16.3-2~bpo12+1}            SEABIOS_PATTERN='.'
PIN_BUSYBOX=${VIOMMU_RIG_PIN_BUSYBOX:-1:1.37.0-6+b9}               BUSYBOX_PATTERN='^1:1\.3[5-9]'
# Bookworm libraries QEMU 10 (bookworm-backports build) needs that a minimal Debian 12 usually lacks.
QEMU_LIBS=(libcapstone4 libpmem1 libfdt1 librdmacm1 libibverbs1 libslirp0 libvdeplug2 libfuse3-3 libaio1
           liburing2 libndctl6 libdaxctl1 libnl-3-200 libnl-route-3-200)

C=$RIG_CACHE
mkdir -p "$C"/{apt,debs,logs,kernel,guest}
exec 9>"$C/.setup.lock"
if ! flock -n 9; then
  rig_say "another setup.sh holds $C/.setup.lock; waiting for it (up to ${RIG_LOCK_TIMEOUT:-3600}s)"
  flock -w "${RIG_LOCK_TIMEOUT:-3600}" 9 || rig_die "timed out waiting for $C/.setup.lock"
fi
T_START=$(rig_now)
rig_say "setup mode=$MODE cache=$C"

# ---------------------------------------------------------------------------------------------------------
# 1. host build dependencies (installed with apt-get only when something is missing)
host_deps() {
  STEP="host build dependencies"
  local want=(flex bison libelf-dev cpio kmod bc xz-utils gcc make libc6-dev) missing=() p
  for p in "${want[@]}"; do
    dpkg-query -W -f '${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then rig_say "host packages present: ${want[*]}"; return; fi
  [ "$(id -u)" = 0 ] || rig_die "missing host packages (${missing[*]}) and not root: install them with apt-get"
  rig_say "installing host packages: ${missing[*]} (apt-get update + install)"
  apt-get update -q >"$C/logs/host-apt.log" 2>&1 || { tail -20 "$C/logs/host-apt.log" >&2; rig_die "apt-get update failed"; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$C/logs/host-apt.log" 2>&1 \
    || { tail -20 "$C/logs/host-apt.log" >&2; rig_die "apt-get install ${missing[*]} failed (log: $C/logs/host-apt.log)"; }
}

# ---------------------------------------------------------------------------------------------------------
# 2. private apt configurations: "new" = trixie + trixie-backports (kernel source, uAPI headers, busybox),
#    "old" = bookworm + bookworm-updates + bookworm-backports (QEMU 10 built for Debian 12 and its libraries).
#    Each has its own lists and cache directories below $C/apt, so the machine's apt state is untouched.
archive_uri() {
  local u=""
  [ -f /etc/apt/sources.list.d/debian.sources ] && u=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  [ -n "$u" ] || u=$(awk '$1=="deb" && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  echo "${u:-http://deb.debian.org/debian}"
}
declare -A APT_READY=()
apt_opts() {   # apt_opts SET -> prints nothing, sets global array A
  local s=$1
  A=(-o "Dir::Etc::sourcelist=$C/apt/$s.sources" -o Dir::Etc::sourceparts=- -o "Dir::State::Lists=$C/apt/lists-$s"
     -o "Dir::Cache=$C/apt/cache-$s" -o Dir::Etc::preferencesparts=- -o APT::Get::List-Cleanup=0)
}
apt_prepare() {  # apt_prepare SET: write sources, apt-get update if needed
  local s=$1 suites uri
  [ -n "${APT_READY[$s]:-}" ] && return
  STEP="apt lists ($s)"
  case $s in new) suites="trixie trixie-backports" ;; old) suites="bookworm bookworm-updates bookworm-backports" ;; esac
  uri=$(archive_uri)
  mkdir -p "$C/apt/lists-$s/partial" "$C/apt/cache-$s/archives/partial"
  printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$uri" "$suites" > "$C/apt/$s.sources"
  apt_opts "$s"
  if [ $REFRESH = 1 ] || [ ! -f "$C/apt/lists-$s/.updated" ]; then
    rig_say "apt-get update for $suites ($uri) into $C/apt/lists-$s"
    apt-get update -q "${A[@]}" >"$C/logs/apt-update-$s.log" 2>&1 \
      || { tail -20 "$C/logs/apt-update-$s.log" >&2; rig_die "apt-get update ($s) failed (log: $C/logs/apt-update-$s.log)"; }
    if grep -E '^(E:|W: Failed)' "$C/logs/apt-update-$s.log" >&2; then
      rig_die "apt-get update ($s) reported errors (log: $C/logs/apt-update-$s.log)"
    fi
    date > "$C/apt/lists-$s/.updated"
  fi
  APT_READY[$s]=1
}

# ---------------------------------------------------------------------------------------------------------
# 3. version resolution: pinned version if available, else the newest that matches a pattern.
#    Results are remembered in $C/versions.env (cleared by --refresh).
VERS=$C/versions.env
[ $REFRESH = 1 ] && rm -f "$VERS"
touch "$VERS"
available_versions() {  # available_versions SET PKG
  apt_opts "$1"
  apt-cache "${A[@]}" policy "$2" 2>/dev/null |
    awk '/Version table:/{t=1; next} t && /^ +(\*\*\* )?[^ ]+ -?[0-9]+$/ {sub(/^ +(\*\*\* )?/, ""); print $1}'
}
resolve() {  # resolve SET PKG PINNED PATTERN -> prints version
  local s=$1 p=$2 pin=$3 pat=$4 v
  v=$(awk -F= -v k="$s:$p" '$1==k {print $2}' "$VERS")
  if [ -n "$v" ]; then echo "$v"; return; fi
  apt_prepare "$s"
  STEP="resolve $p"
  local all; all=$(available_versions "$s" "$p")
  if [ -n "$pin" ] && grep -qxF -- "$pin" <<<"$all"; then
    v=$pin
    rig_say "version: $p $v (pinned)"
  else
    v=$(grep -E -- "$pat" <<<"$all" | sort -V | tail -1 || true)
    [ -n "$v" ] || rig_die "no version of $p matching '$pat' in the $s suites (available: $(echo $all))"
    if [ -n "$pin" ]; then rig_warn "pinned $p $pin is not available; using the newest match: $v"
    else rig_say "version: $p $v"; fi
  fi
  echo "$s:$p=$v" >> "$VERS"
  echo "$v"
}
candidate() {  # candidate SET PKG -> apt's candidate version
  local s=$1 p=$2 v
  v=$(awk -F= -v k="$s:$p" '$1==k {print $2}' "$VERS")
  if [ -n "$v" ]; then echo "$v"; return; fi
  apt_prepare "$s"; apt_opts "$s"
  v=$(apt-cache "${A[@]}" policy "$p" 2>/dev/null | awk '/Candidate:/{print $2}')
  [ -n "$v" ] && [ "$v" != "(none)" ] || rig_die "package $p not found in the $s suites"
  echo "$s:$p=$v" >> "$VERS"
  echo "$v"
}

# ---------------------------------------------------------------------------------------------------------
# 4. download (apt-get download into $C/debs, skipped when the .deb is already there)
deb_path() {  # deb_path PKG VERSION -> path of the downloaded .deb (may not exist yet)
  local p=$1 v=$2 f
  v=${v//:/%3a}
  for f in "$C/debs/${p}_${v}_"*.deb; do echo "$f"; return; done
}
fetch() {  # fetch SET PKG=VER...
  local s=$1; shift
  local need=() pv f
  for pv in "$@"; do
    f=$(deb_path "${pv%%=*}" "${pv#*=}")
    [ -f "$f" ] || need+=("$pv")
  done
  [ ${#need[@]} -eq 0 ] && return
  apt_prepare "$s"; apt_opts "$s"
  STEP="download ${need[*]}"
  rig_say "downloading ${#need[@]} package(s): ${need[*]}"
  (cd "$C/debs" && apt-get download -q "${A[@]}" "${need[@]}") >"$C/logs/download.log" 2>&1 \
    || { grep -v '^W:' "$C/logs/download.log" | tail -20 >&2; rig_die "apt-get download failed (log: $C/logs/download.log)"; }
  for pv in "${need[@]}"; do
    f=$(deb_path "${pv%%=*}" "${pv#*=}")
    [ -f "$f" ] || rig_die "apt-get download did not produce the .deb for $pv"
  done
}

# extract DEST DEB...: dpkg-deb -x into DEST unless DEST/.stamp already lists exactly these debs
extract() {
  local dest=$1; shift
  local want; want=$(for d in "$@"; do basename "$d"; done)
  if [ -f "$dest/.stamp" ] && [ "$(cat "$dest/.stamp")" = "$want" ]; then return; fi
  STEP="extract into $dest"
  rig_say "extracting $# package(s) into $dest"
  rm -rf "$dest.tmp"; mkdir -p "$dest.tmp"
  local d; for d in "$@"; do dpkg-deb -x "$d" "$dest.tmp"; done
  echo "$want" > "$dest.tmp/.stamp"
  rm -rf "$dest"; mv "$dest.tmp" "$dest"
}

# ---------------------------------------------------------------------------------------------------------
setup_headers() {
  local v; v=$(resolve new linux-libc-dev "$PIN_LINUX" "$LINUX_PATTERN")
  fetch new "linux-libc-dev=$v"
  extract "$C/linux-libc-dev" "$(deb_path linux-libc-dev "$v")"
  [ -f "$C/linux-libc-dev/usr/include/linux/iommufd.h" ] || rig_die "linux-libc-dev $v has no linux/iommufd.h"
  [ -f "$C/linux-libc-dev/usr/include/linux/vfio.h" ] || rig_die "linux-libc-dev $v has no linux/vfio.h"
  rig_say "uAPI headers: linux-libc-dev $v in $C/linux-libc-dev/usr/include"
}

setup_qemu() {
  local qv sv; qv=$(resolve old qemu-system-x86 "$PIN_QEMU" "$QEMU_PATTERN")
  # -common and -data must be the same version as qemu-system-x86
  for p in qemu-system-common qemu-system-data; do
    local v; v=$(resolve old $p "$qv" "^$(sed 's/[.+~^$]/\\&/g' <<<"$qv")\$")
  done
  sv=$(resolve old seabios "$PIN_SEABIOS" "$SEABIOS_PATTERN")
  local pkgs=("qemu-system-x86=$qv" "qemu-system-common=$qv" "qemu-system-data=$qv" "seabios=$sv") l
  for l in "${QEMU_LIBS[@]}"; do pkgs+=("$l=$(candidate old "$l")"); done
  fetch old "${pkgs[@]}"
  local debs=() pv; for pv in "${pkgs[@]}"; do debs+=("$(deb_path "${pv%%=*}" "${pv#*=}")"); done
  extract "$C/qemu10" "${debs[@]}"
  STEP="qemu wrapper"
  cat > "$C/qemu10/qemu.sh" <<'QEMU'
#!/bin/sh
# QEMU 10 (Debian bookworm-backports build, unpacked): library path and firmware search path set here.
Q=$(cd "$(dirname "$0")" && pwd)
export LD_LIBRARY_PATH=$Q/usr/lib/x86_64-linux-gnu:$Q/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
exec "$Q/usr/bin/qemu-system-x86_64" -L "$Q/usr/share/qemu" -L "$Q/usr/share/seabios" "$@"
QEMU
  chmod +x "$C/qemu10/qemu.sh"
  local nf
  nf=$(LD_LIBRARY_PATH=$C/qemu10/usr/lib/x86_64-linux-gnu:$C/qemu10/lib/x86_64-linux-gnu ldd "$C/qemu10/usr/bin/qemu-system-x86_64" | grep 'not found' || true)
  [ -z "$nf" ] || rig_die "QEMU needs libraries that are neither on the host nor unpacked: $(echo $nf) — add the bookworm package to QEMU_LIBS in setup.sh"
  local ver; ver=$("$C/qemu10/qemu.sh" --version | head -1) || rig_die "unpacked QEMU does not run"
  "$C/qemu10/qemu.sh" -device help 2>/dev/null | grep -q '"edu"' || rig_die "QEMU has no edu device"
  rig_say "QEMU: $ver ($C/qemu10/qemu.sh)"
}

setup_busybox_libcap() {
  local bv cv; bv=$(resolve new busybox-static "$PIN_BUSYBOX" "$BUSYBOX_PATTERN")
  cv=$(candidate old libcap-dev)
  fetch new "busybox-static=$bv"
  fetch old "libcap-dev=$cv"
  extract "$C/busybox" "$(deb_path busybox-static "$bv")"
  extract "$C/libcap" "$(deb_path libcap-dev "$cv")"
  [ -x "$C/busybox/usr/bin/busybox" ] || rig_die "busybox-static $bv has no usr/bin/busybox"
  [ -f "$C/libcap/usr/lib/x86_64-linux-gnu/libcap.a" ] || rig_die "libcap-dev $cv has no libcap.a"
}

LINUX_VER=""
SRC=""
setup_source() {  # download + unpack the kernel source (only called when something needs it)
  [ -n "$SRC" ] && return
  local deb stamp
  fetch new "linux-source-7.3=$LINUX_VER"
  deb=$(deb_path linux-source-7.3 "$LINUX_VER")
  SRC=$C/src/linux-source-7.3
  stamp="$(basename "$deb")"
  if [ -f "$C/src/.stamp" ] && [ "$(cat "$C/src/.stamp")" = "$stamp" ] && [ -f "$SRC/Makefile" ]; then return; fi
  STEP="unpack kernel source"
  rig_say "unpacking kernel source $LINUX_VER into $C/src (about 1.5 GB, a minute or two)"
  local t0; t0=$(rig_now)
  rm -rf "$C/src" "$C/src.tmp"; mkdir -p "$C/src.tmp"
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$C/src.tmp" --wildcards '*/linux-source-7.3.tar.xz'
  local tb; tb=$(find "$C/src.tmp" -name 'linux-source-7.3.tar.xz' | head -1)
  [ -n "$tb" ] || rig_die "$deb has no linux-source-7.3.tar.xz"
  tar -C "$C/src.tmp" -xf "$tb"
  rm -rf "$C/src.tmp/usr"
  [ -f "$C/src.tmp/linux-source-7.3/Makefile" ] || rig_die "unexpected layout in $tb"
  echo "$stamp" > "$C/src.tmp/.stamp"
  mv "$C/src.tmp" "$C/src"
  rig_say "kernel source unpacked in $(rig_elapsed "$t0")"
}

KERNEL=""
setup_kernel() {
  local key; key="$LINUX_VER-$(rig_hash_files "$RIG_DIR/kernel/mini.fragment" "$RIG_DIR/kernel/build-kernel.sh")"
  key=${key//[:~+]/_}
  KERNEL=$C/kernel/bzImage-$key
  if [ -f "$KERNEL" ]; then rig_say "kernel: cached $KERNEL"; return; fi
  setup_source
  STEP="kernel build"
  rig_say "kernel: building $KERNEL (key = Debian version + hash of kernel/mini.fragment and build-kernel.sh)"
  local t0; t0=$(rig_now)
  "$RIG_DIR/kernel/build-kernel.sh" "$SRC" "$C/kbuild" "$KERNEL" || rig_die "kernel build failed"
  rig_say "kernel: done in $(rig_elapsed "$t0")"
}

# guest programs: static binaries in $C/guest, each rebuilt only when its inputs' hash changes
build_if_changed() {  # build_if_changed NAME HASH-INPUTS... -- COMMAND...
  local name=$1; shift
  local inputs=(); while [ "$1" != "--" ]; do inputs+=("$1"); shift; done; shift
  local h; h=$(rig_hash_files "${inputs[@]}")
  if [ -x "$C/guest/$name" ] && [ "$(cat "$C/guest/.$name.hash" 2>/dev/null)" = "$h" ]; then return; fi
  STEP="build guest program $name"
  rig_say "building guest program $name"
  "$@" || rig_die "building $name failed"
  echo "$h" > "$C/guest/.$name.hash"
}
setup_guest_programs() {
  local I=(-isystem "$C/linux-libc-dev/usr/include" -isystem "$C/linux-libc-dev/usr/include/x86_64-linux-gnu")
  local fp; fp=$(printf '%s\n' "$LINUX_VER" "$(gcc --version | head -1)" > "$C/guest/.toolchain" && echo "$C/guest/.toolchain")
  build_if_changed iommufd_edu_test "$RIG_DIR/guest-src/iommufd_edu_test.c" "$fp" -- \
    gcc -O2 -Wall -Wextra -Wno-unused-result -static "${I[@]}" -o "$C/guest/iommufd_edu_test" "$RIG_DIR/guest-src/iommufd_edu_test.c"
  # the kernel's own iommufd selftests: the reference for driving the mock IOMMU (CONFIG_IOMMUFD_TEST)
  local st_hash_inputs=("$fp" "$C/libcap/.stamp")
  if [ ! -x "$C/guest/iommufd" ] || [ ! -x "$C/guest/iommufd_fail_nth" ] \
     || [ "$(cat "$C/guest/.selftests.key" 2>/dev/null)" != "$(rig_hash_files "${st_hash_inputs[@]}")" ]; then
    setup_source
    local SD=$SRC/tools/testing/selftests/iommu t
    for t in iommufd iommufd_fail_nth; do
      STEP="build selftest $t"
      rig_say "building kernel selftest $t (static)"
      (cd "$SD" && gcc -O2 -Wno-unused-function -w -D_GNU_SOURCE -static "${I[@]}" -I.. -I../../../include \
          -I"$C/libcap/usr/include" -o "$C/guest/$t" "$t.c" "$C/libcap/usr/lib/x86_64-linux-gnu/libcap.a" -lpthread) \
        >"$C/logs/selftest-$t.log" 2>&1 || { tail -30 "$C/logs/selftest-$t.log" >&2; rig_die "selftest $t did not compile"; }
    done
    rig_hash_files "${st_hash_inputs[@]}" > "$C/guest/.selftests.key"
  fi
  # the mock IOMMU's selftest uAPI header (kernel-internal, not in linux-libc-dev): for uapi-dump --mock
  local th=$C/src/linux-source-7.3/drivers/iommu/iommufd/iommufd_test.h
  if [ -f "$th" ] && ! cmp -s "$th" "$C/mock-include/iommufd_test.h"; then
    mkdir -p "$C/mock-include" && cp "$th" "$C/mock-include/iommufd_test.h"
  fi
}

INITRD=""
setup_initramfs() {
  STEP="initramfs"
  local inputs=("$C/busybox/usr/bin/busybox" "$RIG_DIR/initramfs/init" "$RIG_DIR/initramfs/mkinitramfs.sh")
  local f; for f in "$RIG_DIR"/guest/* "$C"/guest/*; do [ -f "$f" ] && inputs+=("$f"); done
  local h; h=$(rig_hash_files "${inputs[@]}")
  INITRD=$C/initrd-$h.cpio.gz
  if [ -f "$INITRD" ]; then rig_say "initramfs: cached $INITRD"; return; fi
  rig_say "initramfs: building $INITRD"
  "$RIG_DIR/initramfs/mkinitramfs.sh" "$C/busybox/usr/bin/busybox" "$RIG_DIR/initramfs/init" "$INITRD" \
      "$RIG_DIR/guest" "$C/guest" || rig_die "mkinitramfs failed"
  # keep the newest 3 initramfs images (a running VM may still use an older one)
  ls -1t "$C"/initrd-*.cpio.gz 2>/dev/null | tail -n +4 | xargs -r rm -f
}

link_current() {  # atomically point $C/NAME at TARGET
  ln -sfn "$2" "$C/.$1.new" && mv -Tf "$C/.$1.new" "$C/$1"
}

# ---------------------------------------------------------------------------------------------------------
if [ "$MODE" = headers ]; then
  setup_headers
  rig_say "done (headers) in $(rig_elapsed "$T_START")"
  exit 0
fi

host_deps
setup_headers
LINUX_VER=$(resolve new linux-source-7.3 "$PIN_LINUX" "$LINUX_PATTERN")
[ "$LINUX_VER" = "$(resolve new linux-libc-dev "$PIN_LINUX" "$LINUX_PATTERN")" ] \
  || rig_warn "linux-source-7.3 ($LINUX_VER) and linux-libc-dev versions differ"
setup_qemu
setup_busybox_libcap
setup_kernel
setup_guest_programs
setup_initramfs
STEP="finish"
link_current bzImage "$KERNEL"
link_current initrd.cpio.gz "$INITRD"
{
  echo "# written by tools/rig/setup.sh on $(date -Is)"
  echo "kernel=$KERNEL"
  echo "initrd=$INITRD"
  echo "qemu=$C/qemu10/qemu.sh"
  cat "$VERS"
} > "$C/rig.env"
rig_say "kernel : $KERNEL"
rig_say "initrd : $INITRD"
rig_say "qemu   : $C/qemu10/qemu.sh"
rig_say "versions: $(sed 's/^[a-z]*://' "$VERS" | grep -vE '^lib' | tr '\n' ' ')"
rig_say "setup done in $(rig_elapsed "$T_START"). Next: tools/rig/smoke.sh"
