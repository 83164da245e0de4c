#!/usr/bin/env bash
# Builds the rig's busybox-static initramfs.
# Usage: mkinitramfs.sh BUSYBOX INIT OUT.cpio.gz [DIR...]   (files of each DIR are copied to /guest)
set -Eeuo pipefail
BB=$1 INIT=$2 OUT=$3; shift 3
[ -x "$BB" ] || { echo "mkinitramfs: no busybox at $BB" >&2; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/rig-initramfs.XXXXXX")
trap 'rm -rf "$W"' EXIT
mkdir -p "$W"/{bin,sbin,proc,sys,dev,tmp,host,mnt,guest,etc,root}
cp "$BB" "$W/bin/busybox"
cp "$INIT" "$W/init"
chmod 755 "$W/init"
for d in "$@"; do
  for f in "$d"/*; do [ -f "$f" ] && cp "$f" "$W/guest/"; done
done
chmod 755 "$W"/guest/*
echo 'root:x:0:0:root:/root:/bin/sh' > "$W/etc/passwd"
echo 'root:x:0:' > "$W/etc/group"
(cd "$W" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1) > "$OUT.tmp"
mv -f "$OUT.tmp" "$OUT"
echo "mkinitramfs: $OUT ($(stat -c %s "$OUT") bytes)" >&2
