#!/usr/bin/env bash
# Boots the rig's kernel under QEMU (TCG, q35, intel-iommu in scalable mode, the edu device), runs one command
# in the guest and exits with that command's exit status.
#
#   tools/rig/run-vm.sh [options] [--] PROGRAM [ARGS...]    run a program (arguments are passed verbatim)
#   tools/rig/run-vm.sh [options] -c 'SHELL SNIPPET'        run a busybox-sh snippet
#   tools/rig/run-vm.sh [options] --shell                   interactive shell on the console (poweroff -f)
#
# The guest sees the host's / read-only at /host (9p, tag host9p), prepared as a chroot (proc, sys, dev, tmp
# mounted over it), /dev/iommu, and the edu device bound to vfio-pci (/dev/vfio/devices/vfio0). Guest helpers
# are in /guest (on PATH): /guest/java runs the host JDK in the chroot, cd'ed to the host's current directory:
#   tools/rig/run-vm.sh -- /guest/java -cp target/classes org.example.Main arg1
#
# Options (environment variable in brackets):
#   --timeout SEC   wall-clock limit, then QEMU is killed and the exit status is 124   [RIG_TIMEOUT, 300]
#   --mem SIZE      guest RAM                                                          [RIG_MEM, 1G]
#   --smp N         guest CPUs (TCG threads)                                           [RIG_SMP, 1]
#   --env K=V       export K=V in the guest before the command (repeatable)
#   --out DIR       share host directory DIR read-write: /mnt inside the chroot (/guest/java), /host/mnt outside
#   --no-share      do not share the host's / (the command then travels on the kernel command line, <1.5 KB)
#   --no-vfio       leave edu unbound (no /dev/vfio/devices/vfio0)
#   --no-edu        no edu device at all
#   --iommu DEV     QEMU IOMMU device  [RIG_IOMMU, intel-iommu,intremap=on,caching-mode=on,x-scalable-mode=on]
#   --qemu ARG      extra QEMU argument (repeatable)                                  [RIG_QEMU_EXTRA, split on spaces]
#   --append ARGS   extra kernel command line
#   --loglevel N    guest console log level (4 shows errors incl. DMAR faults; 1 = quiet) [RIG_LOGLEVEL, 4]
#   --quiet         do not echo the console while running; print it only if the run fails
#   --log FILE      where the serial log goes   [default $CACHE/logs/vm-<time>-<pid>.log; the newest 50 are kept]
#   --kernel F / --initrd F    instead of the ones setup.sh built ($CACHE/bzImage, $CACHE/initrd.cpio.gz)
#
# Exit status: the guest command's status (from the "RIG: exit=N" line /init prints); 124 timeout;
# 125 the guest ended without a status (kernel panic, QEMU error); 126 the rig is not set up.
# The last line on stderr is a summary: "[rig-vm] exit=N wall=S.Ss log=FILE".
set -Euo pipefail
RIG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$RIG_DIR/lib.sh"
C=$RIG_CACHE

TIMEOUT=${RIG_TIMEOUT:-300} MEM=${RIG_MEM:-1G} SMP=${RIG_SMP:-1} LOGLEVEL=${RIG_LOGLEVEL:-4}
IOMMU=${RIG_IOMMU:-intel-iommu,intremap=on,caching-mode=on,x-scalable-mode=on}
SHARE=1 VFIO=1 EDU=1 QUIET=0 SHELL_MODE=0 SNIPPET="" LOG="" APPEND="" OUTDIR=""
KERNEL=$C/bzImage INITRD=$C/initrd.cpio.gz
ENVS=() QEXTRA=()
# shellcheck disable=SC2206
[ -n "${RIG_QEMU_EXTRA:-}" ] && QEXTRA=(${RIG_QEMU_EXTRA})
usage() { sed -n '2,33p' "$0" >&2; exit "${1:-126}"; }
while [ $# -gt 0 ]; do
  case $1 in
    --timeout) TIMEOUT=$2; shift 2 ;;
    --mem) MEM=$2; shift 2 ;;
    --smp) SMP=$2; shift 2 ;;
    --env) [[ $2 == *=* ]] || rig_die "--env needs K=V"; ENVS+=("$2"); shift 2 ;;
    --no-share) SHARE=0; shift ;;
    --out) OUTDIR=$2; shift 2 ;;
    --no-vfio) VFIO=0; shift ;;
    --no-edu) EDU=0; shift ;;
    --iommu) IOMMU=$2; shift 2 ;;
    --qemu) QEXTRA+=("$2"); shift 2 ;;
    --append) APPEND="$APPEND $2"; shift 2 ;;
    --loglevel) LOGLEVEL=$2; shift 2 ;;
    --quiet) QUIET=1; shift ;;
    --log) LOG=$2; shift 2 ;;
    --kernel) KERNEL=$2; shift 2 ;;
    --initrd) INITRD=$2; shift 2 ;;
    --shell) SHELL_MODE=1; shift ;;
    -c) SNIPPET=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    --) shift; break ;;
    -*) rig_say "unknown option $1"; usage ;;
    *) break ;;
  esac
done
if [ $SHELL_MODE = 0 ] && [ -z "$SNIPPET" ] && [ $# -eq 0 ]; then rig_say "no guest command given"; usage; fi

QEMU=$C/qemu10/qemu.sh
for f in "$QEMU" "$KERNEL" "$INITRD"; do
  [ -e "$f" ] || { rig_say "ERROR: $f is missing: run tools/rig/setup.sh first"; exit 126; }
done
KERNEL=$(readlink -f "$KERNEL") INITRD=$(readlink -f "$INITRD")

mkdir -p "$C/logs" "$C/run"
[ -n "$LOG" ] || LOG=$C/logs/vm-$(date +%Y%m%d-%H%M%S)-$$.log
ls -1t "$C"/logs/vm-*.log 2>/dev/null | tail -n +51 | xargs -r rm -f

# The guest command, as a script: written to the cache (the guest reads it through the 9p share) or, without
# the share, base64-encoded onto the kernel command line.
SCRIPT_TEXT="export RIG_HOST_PWD=$(printf '%q' "$PWD")"$'\n'
for e in "${ENVS[@]}"; do SCRIPT_TEXT+="export ${e%%=*}=$(printf '%q' "${e#*=}")"$'\n'; done
if [ -n "$SNIPPET" ]; then
  SCRIPT_TEXT+="$SNIPPET"$'\n'
elif [ $# -gt 0 ]; then
  SCRIPT_TEXT+="$(printf '%q ' "$@")"$'\n'
fi
CMDFILE=""
cleanup() { [ -n "$CMDFILE" ] && rm -f "$CMDFILE"; }
trap cleanup EXIT
RIGARG=""
if [ $SHELL_MODE = 0 ]; then
  if [ $SHARE = 1 ]; then
    CMDFILE=$(mktemp "$C/run/cmd-XXXXXX.sh")
    printf '%s' "$SCRIPT_TEXT" > "$CMDFILE"
    RIGARG="rigscript=$CMDFILE"
  else
    B64=$(printf '%s' "$SCRIPT_TEXT" | base64 -w0)
    [ ${#B64} -le 1500 ] || { rig_say "ERROR: command too long for the kernel command line; use the share"; exit 126; }
    RIGARG="rigcmd64=$B64"
  fi
fi

CMDLINE="console=ttyS0 intel_iommu=on iommu=nopt panic=-1 quiet loglevel=$LOGLEVEL $RIGARG"
[ $VFIO = 1 ] || CMDLINE+=" rignovfio"
CMDLINE+="$APPEND"
Q=("$QEMU" -accel tcg,thread=multi -cpu max -machine q35 -m "$MEM" -smp "$SMP" -device "$IOMMU")
[ $EDU = 1 ] && Q+=(-device edu)
Q+=(-nographic -nic none -no-reboot -kernel "$KERNEL" -initrd "$INITRD" -append "$CMDLINE")
[ $SHARE = 1 ] && Q+=(-virtfs local,path=/,mount_tag=host9p,security_model=none,readonly=on,multidevs=remap)
if [ -n "$OUTDIR" ]; then
  [ $SHARE = 1 ] || { rig_say "ERROR: --out needs the host share"; exit 126; }
  mkdir -p "$OUTDIR" && OUTDIR=$(cd "$OUTDIR" && pwd) || { rig_say "ERROR: cannot create $OUTDIR"; exit 126; }
  [[ $OUTDIR != *,* ]] || { rig_say "ERROR: --out path must not contain a comma"; exit 126; }
  Q+=(-virtfs "local,path=$OUTDIR,mount_tag=rigout,security_model=none")
fi
Q+=("${QEXTRA[@]}")

# strip CRs and the terminal-reset escapes SeaBIOS/QEMU print
filter() { sed -u 's/\r//g; s/\x1b\[[0-9;?]*[a-zA-Z]//g; s/\x1bc//g'; }
T0=$(rig_now)
if [ $SHELL_MODE = 1 ]; then
  "${Q[@]}" 2>&1 | tee "$LOG"
  QRC=${PIPESTATUS[0]}
else
  if [ $QUIET = 1 ]; then
    timeout -k 5 "$TIMEOUT" "${Q[@]}" </dev/null >"$LOG" 2>&1
    QRC=$?
  else
    timeout -k 5 "$TIMEOUT" "${Q[@]}" </dev/null 2>&1 | tee "$LOG" | filter
    QRC=${PIPESTATUS[0]}
    [ -s "$LOG" ] && [ "$(tail -c1 "$LOG")" != "" ] && echo   # the console's last line has no newline
  fi
fi
WALL=$(rig_elapsed "$T0")
RC=$(tr -d '\r' < "$LOG" | grep -a -o 'RIG: exit=[0-9]*' | tail -1 | cut -d= -f2)
if [ $SHELL_MODE = 1 ]; then
  RC=$QRC
elif [ "$QRC" = 124 ] || [ "$QRC" = 137 ]; then
  RC=124; rig_say "guest timed out after ${TIMEOUT}s"
elif [ -z "$RC" ]; then
  RC=125
  reason=$(tr -d '\r' < "$LOG" | grep -a -m1 -E 'Kernel panic|qemu-system-x86_64: ' || true)
  rig_say "guest ended without an exit status (qemu rc=$QRC)${reason:+: $reason}"
fi
[ $QUIET = 1 ] && [ "$RC" != 0 ] && filter < "$LOG" >&2
printf '[rig-vm] exit=%s wall=%s log=%s\n' "$RC" "$WALL" "$LOG" >&2
exit "$RC"
