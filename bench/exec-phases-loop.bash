#!/bin/bash
# bench/exec-phases-loop.bash OUT RUNS LABEL:ID:SHIM_PID...: the timed loop of
# bench/exec-phases.sh, run inside the private containerd's mount namespace (no nsenter inside a
# timed interval). Each round: one `ctr task exec --exec-id mN ID true` per shim, in turn, then
# `ctr version` and `runc exec` alone into the first container. Appends to OUT/times.txt:
#   exec LABEL RUN T0 T1 CTR_CPU_MS CONTAINERD_CPU_MS SHIM_CPU_MS REAPED_CPU_MS
#   version - RUN T0 T1 CTR_CPU_MS
#   runc-exec - RUN T0 T1 RUNC_CPU_MS
# (T0, T1: $EPOCHREALTIME; CPU at USER_HZ resolution.)
set -euo pipefail

# shellcheck source=../tests/helpers/sys.bash
. "$(dirname "${BASH_SOURCE[0]}")/../tests/helpers/sys.bash"

out=$1 runs=$2
shift 2
: "${CTRD_SOCK:?}" "${CTRD_NS:?}" "${CTRD_PID:?}"
ctr=(ctr --address "$CTRD_SOCK" --namespace "$CTRD_NS")
: > "$out/times.txt"

# The CPU time of this shell's waited-for children, in ms, into KIDS. `times` runs here, not in
# a command substitution, whose subshell would report its own (empty) children. The subshells
# of cpu_ticks are waited-for children too: they run before the first `kids` of a measure and
# after the second, so that they do not count.
kids() {
  local u s
  times > "$out/.times"
  { read -r _; read -r u s; } < "$out/.times"
  u=${u//[ms.]/ } s=${s//[ms.]/ }
  # shellcheck disable=SC2086
  set -- $u $s
  KIDS=$((10#$1 * 60000 + 10#$2 * 1000 + 10#$3 + 10#$4 * 60000 + 10#$5 * 1000 + 10#$6))
}

hz=$(getconf CLK_TCK)
for run in $(seq "$runs"); do
  for a in "$@"; do
    IFS=: read -r label id shim <<< "$a"
    d0=$(cpu_ticks "$CTRD_PID") s0=$(cpu_ticks "$shim") c0=$(cpu_ticks "$shim" children)
    kids; k0=$KIDS
    t0=$EPOCHREALTIME
    "${ctr[@]}" task exec --exec-id "m$run" "$id" true
    t1=$EPOCHREALTIME
    kids; k1=$KIDS
    d1=$(cpu_ticks "$CTRD_PID") s1=$(cpu_ticks "$shim") c1=$(cpu_ticks "$shim" children)
    echo "exec $label $run $t0 $t1 $((k1 - k0)) $(((d1 - d0) * 1000 / hz)) $(((s1 - s0) * 1000 / hz)) $(((c1 - c0) * 1000 / hz))" \
      >> "$out/times.txt"
  done
  kids; k0=$KIDS
  t0=$EPOCHREALTIME
  "${ctr[@]}" version > /dev/null
  t1=$EPOCHREALTIME
  kids
  echo "version - $run $t0 $t1 $((KIDS - k0))" >> "$out/times.txt"
  IFS=: read -r label id shim <<< "$1"
  kids; k0=$KIDS
  t0=$EPOCHREALTIME
  runc --root "/run/containerd/runc/$CTRD_NS" exec "$id" true
  t1=$EPOCHREALTIME
  kids
  echo "runc-exec - $run $t0 $t1 $((KIDS - k0))" >> "$out/times.txt"
done
rm -f "$out/.times"
