#!/usr/bin/env bash
# Builds uapi_dump against the cached linux-libc-dev 7.3 headers and prints the binary's path on stdout.
#   tools/rig/uapi-dump/build.sh           -> builds $CACHE/uapi-dump/uapi_dump, prints its path
#   tools/rig/uapi-dump/build.sh --mock    -> builds uapi_dump_mock (adds the mock IOMMU's iommufd_test.h
#                                             structs; needs a full setup.sh, which extracts the kernel source)
#   tools/rig/uapi-dump/build.sh --run     -> builds, then runs it (the dump goes to stdout)
# If the headers are not cached yet, runs `setup.sh headers` first (a few seconds; needs the Debian archive).
# A completeness check compares the dump with the structs/members that iommufd.h declares and warns on stderr
# about anything uapi_dump.c does not cover yet (--strict turns that into a failure).
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib.sh
. "$HERE/../lib.sh"
MOCK=0 RUN=0 STRICT=0
for a in "$@"; do
  case $a in --mock) MOCK=1 ;; --run) RUN=1 ;; --strict) STRICT=1 ;;
    *) rig_die "usage: build.sh [--mock] [--run] [--strict]" ;; esac
done
C=$RIG_CACHE
INC=$C/linux-libc-dev/usr/include
if [ ! -f "$INC/linux/iommufd.h" ] || [ ! -f "$INC/linux/vfio.h" ]; then
  rig_say "uAPI headers not cached; running setup.sh headers"
  "$RIG_DIR/setup.sh" headers >&2 || rig_die "setup.sh headers failed"
fi
VER=$(sed -n 's/^new:linux-libc-dev=//p' "$C/versions.env" 2>/dev/null | head -1)
[ -n "$VER" ] || VER=$(sed -n 's/^linux-libc-dev_\(.*\)_all\.deb$/\1/p' "$C/linux-libc-dev/.stamp" | sed 's/%3a/:/')
OUTDIR=$C/uapi-dump
mkdir -p "$OUTDIR"
NAME=uapi_dump EXTRA=()
if [ $MOCK = 1 ]; then
  [ -f "$C/mock-include/iommufd_test.h" ] || rig_die "no $C/mock-include/iommufd_test.h: run tools/rig/setup.sh (full) first"
  NAME=uapi_dump_mock EXTRA=(-DUAPI_DUMP_MOCK -I"$C/mock-include")
fi
OUT=$OUTDIR/$NAME
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -isystem "$INC" -isystem "$INC/x86_64-linux-gnu" "${EXTRA[@]}" \
    -DUAPI_HEADER_VERSION="\"${VER:-unknown}\"" -o "$OUT.tmp.$$" "$HERE/uapi_dump.c" \
  || rig_die "uapi_dump.c does not compile against $INC (header version ${VER:-unknown})"
mv -f "$OUT.tmp.$$" "$OUT"

# completeness: every struct / simple member declared in iommufd.h should appear in the dump
DUMP=$("$OUT") || rig_die "$OUT failed"
missing=$(sed 's#/\*.*\*/##; /^\s*\/\?\*/d' "$INC/linux/iommufd.h" | awk '
  /^struct [a-z0-9_]+ \{/ { s = $2; print "struct " s; next }
  s != "" && /^\};/ { s = ""; next }
  s != "" && /;/ { line = $0; sub(/;.*/, "", line); sub(/\[.*/, "", line); n = split(line, w, /[ \t*]+/);
                   if (n >= 2 && w[n] ~ /^[a-z_][a-z0-9_]*$/) print "field " s "." w[n] }' |
  while read -r kind name; do
    case $kind in
      struct) grep -qx "struct $name size [0-9]*" <<<"$DUMP" || echo "struct $name" ;;
      field)  grep -q "^field $name " <<<"$DUMP" || echo "field $name" ;;
    esac
  done)
if [ -n "$missing" ]; then
  rig_warn "uapi_dump.c does not cover these iommufd.h declarations (add them):"
  sed 's/^/    /' <<<"$missing" >&2
  [ $STRICT = 0 ] || exit 1
fi
if [ $RUN = 1 ]; then printf '%s\n' "$DUMP"; else echo "$OUT"; fi
