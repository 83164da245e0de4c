#!/usr/bin/env bash
# Builds the rig's mini kernel: tinyconfig + kernel/mini.fragment.
# Usage: build-kernel.sh SRC_DIR BUILD_DIR OUT_BZIMAGE
# Writes OUT_BZIMAGE (atomically) and OUT_BZIMAGE.config. Exits non-zero with a reason on failure.
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$1 KB=$2 OUT=$3
FRAG=$HERE/mini.fragment
say() { printf '[rig %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[rig %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }
[ -f "$SRC/Makefile" ] || die "no kernel source at $SRC"
mkdir -p "$KB"
cd "$SRC"

apply_fragment() {
  local args=() line op opt
  while IFS= read -r line; do
    line=${line%%#*}; line=${line//[[:space:]]/}
    [ -n "$line" ] || continue
    op=${line:0:1} opt=${line:1}
    case $op in
      +|!) args+=(-e "$opt") ;;
      -)   args+=(-d "$opt") ;;
      *)   die "bad line in $FRAG: $line" ;;
    esac
  done < "$FRAG"
  ./scripts/config --file "$KB/.config" "${args[@]}"
}

say "kernel: make tinyconfig (O=$KB)"
make O="$KB" tinyconfig >/dev/null
apply_fragment
make O="$KB" olddefconfig >/dev/null
apply_fragment          # second pass: options whose dependencies only appeared after the first olddefconfig
make O="$KB" olddefconfig >/dev/null

missing=()
while IFS= read -r line; do
  line=${line%%#*}; line=${line//[[:space:]]/}
  case $line in
    !*) grep -q "^CONFIG_${line:1}=y$" "$KB/.config" || missing+=("${line:1}") ;;
    +*) grep -q "^CONFIG_${line:1}=y$" "$KB/.config" || say "note: optional CONFIG_${line:1} did not stick (dependency not met); ignored" ;;
  esac
done < "$FRAG"
[ ${#missing[@]} -eq 0 ] || die "required kernel options not set after olddefconfig: ${missing[*]} (see $KB/.config)"
say "kernel: config OK ($(grep -c '=y$' "$KB/.config") options =y); building bzImage with -j$(nproc) (several minutes)"

t0=$(date +%s)
if ! make O="$KB" -j"$(nproc)" bzImage > "$KB/build.log" 2>&1; then
  tail -40 "$KB/build.log" >&2
  die "kernel build failed; full log: $KB/build.log"
fi
say "kernel: built in $(( $(date +%s) - t0 ))s: $(stat -c %s "$KB/arch/x86/boot/bzImage") bytes"
cp "$KB/.config" "$OUT.config.tmp" && mv -f "$OUT.config.tmp" "$OUT.config"
cp "$KB/arch/x86/boot/bzImage" "$OUT.tmp" && mv -f "$OUT.tmp" "$OUT"
