#!/bin/bash
# bench/podload.bash: the podload section of bench/run.sh (issue 12): one pod of 4 containers in
# one shim, driven over CRI as kubelet does, wedge beside containerd-shim-runc-v2.
#
# Its own private containerd with the CRI plugin (tests/helpers/cri.bash: cri_start, handlers
# `wedge` and `runc`), not the crun instance of the other sections. Per shim one host-network pod
# of 4 `sleep 3600` containers; then BENCH_RUNS runs of bench/podload.py on each, the shims
# taking turns (A B, B A, ...). Appends rows to BENCH_CSV; removes the pods and checks, as the
# CRI suite does, that nothing is left (cri_leak_check), then stops its containerd.
# Environment: BENCH_CSV, WEDGE_BUILD (run.sh exports them), BENCH_SHIMS, BENCH_RUNS.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${BENCH_CSV:?}" "${WEDGE_BUILD:?}"
read -r -a SHIMS <<< "${BENCH_SHIMS:-wedge runc.v2}"
RUNS=${BENCH_RUNS:-3}
POD_CTRS=4

# shellcheck source=../tests/helpers/common.bash
. "$here/../tests/helpers/common.bash"
# shellcheck source=../tests/helpers/containerd.bash
. "$here/../tests/helpers/containerd.bash"
# shellcheck source=../tests/helpers/cri.bash
. "$here/../tests/helpers/cri.bash"

log() { printf '%s bench: %s\n' "$(date +%T)" "$*" >&2; }

handler_of() {
  case $1 in
    wedge) echo wedge ;;
    runc.v2) echo runc ;;
    *) echo "podload: unknown shim '$1'" >&2; return 2 ;;
  esac
}

WEDGE_TEST_TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/wedge-podload.XXXXXX")
export WEDGE_TEST_TMPDIR

finish() {
  local rc=$? pod
  trap - EXIT INT TERM
  set +e
  if [ -n "${CTRD_DIR:-}" ]; then
    for pod in "${PODS[@]}"; do
      CRI_TIMEOUT=60 cri_pod_rm "$pod" > /dev/null || rc=1
    done
    cri_leak_check || rc=1
    cri_teardown || rc=1
  fi
  rm -rf "$WEDGE_TEST_TMPDIR"
  [ $rc = 0 ] || echo "podload: failed (exit status $rc; leaks, if any, are listed above)" >&2
  exit $rc
}
declare -a PODS=()
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "podload: starting a containerd with the CRI plugin"
export CTRD_TMPFS=1 # bundles and /run on tmpfs, as on a real host (containerd.bash)
cri_start
cri_ctr_config podload 0 false 0 sleep 3600 > "$CRI_DIR/podload.ctr.json"

declare -A POD_OF SHIM_PID CTRS
for shim in "${SHIMS[@]}"; do
  name=podload-$(handler_of "$shim")
  pod=$(cri_pod "$name" "$(handler_of "$shim")")
  PODS+=("$pod")
  POD_OF[$shim]=$pod
  ids=()
  for i in $(seq "$POD_CTRS"); do
    ids+=("$(cri_ctr "$pod" "$name" "c$i" -- sleep 3600)")
  done
  CTRS[$shim]=${ids[*]}
  SHIM_PID[$shim]=$(containerd_shim_pid "$pod")
done

for run in $(seq "$RUNS"); do
  order=("${SHIMS[@]}")
  if [ $((run % 2)) = 0 ]; then
    order=()
    for ((i = ${#SHIMS[@]} - 1; i >= 0; i--)); do order+=("${SHIMS[i]}"); done
  fi
  for shim in "${order[@]}"; do
    log "podload run $run/$RUNS: $shim"
    name=podload-$(handler_of "$shim")
    # shellcheck disable=SC2086
    timeout --kill-after=5 300 "$CRI_PY" "$here/podload.py" --endpoint "$CTRD_SOCK" \
      --stubs "$CRI_STUBS_DIR" --csv "$BENCH_CSV" --shim "$shim" --run "$run" \
      --shim-pid "${SHIM_PID[$shim]}" --work "$CRI_DIR" --pod "${POD_OF[$shim]}" \
      --pod-config "$CRI_DIR/$name.pod.json" --ctr-config "$CRI_DIR/podload.ctr.json" \
      ${CTRS[$shim]}
  done
done
