# Shared helpers for the viommu real-kernel rig. Sourced by setup.sh, run-vm.sh, smoke.sh, uapi-dump/build.sh.
# shellcheck shell=bash

RIG_DIR=${RIG_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
RIG_CACHE=${VIOMMU_RIG_CACHE:-$HOME/.cache/viommu-rig}
RIG_JDK=${VIOMMU_RIG_JDK:-/usr/lib/jvm/temurin-25-jdk-amd64}

# All progress/diagnostic output goes to stderr so that stdout stays usable for results (e.g. build.sh prints a path).
rig_say()  { printf '[rig %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
rig_warn() { printf '[rig %s] WARNING: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
rig_die()  { printf '[rig %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

# sha256 of the given files' contents (and names), first 12 hex digits
rig_hash_files() {
  local f
  for f in "$@"; do printf '%s\n' "$(basename "$f")"; cat "$f"; done | sha256sum | cut -c1-12
}

rig_now() { date +%s.%N; }
rig_elapsed() { awk -v a="$1" -v b="$(rig_now)" 'BEGIN{printf "%.1fs", b-a}'; }
