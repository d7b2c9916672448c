#!/bin/bash
# bench/exec-phases.sh: where the time of one `ctr task exec ID true` goes, per shim (issue 7).
#
#   bench/exec-phases.sh [--build DIR] [--runs N] [--also LABEL=/abs/path/containerd-shim-...]
#                        [--out DIR]
#
# Starts one private containerd (tests/helpers/containerd.bash, runc flavour), one `sleep`
# container per shim (wedge from DIR/src, runc.v2, and each --also binary: containerd 1.6 takes an
# absolute path as --runtime, so an older build runs beside the new one), then RUNS rounds in
# which each shim serves one exec in turn, followed by the floors: `ctr version` and `runc exec`
# alone into the first container. Prints a table of phases, medians [min-max] in ms, and keeps the
# raw data in --out (default: a new bench/results/exec-phases-<stamp>).
#
# Timestamps come from places that do not slow the Go programs down: the kernel's
# sched_process_{exec,fork,exit} tracepoints (ctr, runc and the exec'd `true`), the shims' own
# read/write system calls on their ttrpc connection (tracepoints, `perf record -p`, not ptrace),
# containerd's debug log ("event forwarded") and bash's $EPOCHREALTIME around ctr. CPU times are
# per exec: ctr (the loop shell's children), containerd and the shim (utime+stime) and what the
# shim reaped (runc and the exec'd process), at USER_HZ resolution: read their means.
#
# Needs perf and python3. Not a test; while other jobs share the machine, keep --runs small.
set -euo pipefail

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_dir=$(cd "$bench_dir/.." && pwd)

usage() {
  sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

build=$source_dir/build
runs=10
out=""
also=()
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift ;;
    --runs) runs=$2; shift ;;
    --also) also+=("$2"); shift ;;
    --out) out=$2; shift ;;
    -h | --help) usage ;;
    *) echo "exec-phases: unknown argument '$1'" >&2; usage ;;
  esac
  shift
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "exec-phases: '$runs' is not a positive count" >&2; exit 2; }
for a in "${also[@]}"; do
  if ! [[ $a =~ ^[a-z0-9.-]+=/ ]] || ! [ -x "${a#*=}" ]; then
    echo "exec-phases: --also wants LABEL=/absolute/path/to/an/executable shim, not '$a'" >&2
    exit 2
  fi
done
[ "$(id -u)" = 0 ] || { echo "exec-phases: must run as root" >&2; exit 1; }
for tool in containerd ctr containerd-shim-runc-v2 runc perf python3 nsenter; do
  command -v "$tool" >/dev/null || { echo "exec-phases: $tool not found" >&2; exit 1; }
done
[ -x "$build/src/containerd-shim-wedge-v2" ] ||
  { echo "exec-phases: $build/src/containerd-shim-wedge-v2 missing: build first (make build)" >&2; exit 1; }

WEDGE_BUILD=$(cd "$build" && pwd)
export WEDGE_BUILD
# shellcheck source=../tests/helpers/common.bash
. "$source_dir/tests/helpers/common.bash"
# shellcheck source=../tests/helpers/containerd.bash
. "$source_dir/tests/helpers/containerd.bash"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=${out:-$bench_dir/results/exec-phases-$stamp}
mkdir -p "$out"
out=$(cd "$out" && pwd)
WEDGE_TEST_TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/wedge-phases.XXXXXX")
export WEDGE_TEST_TMPDIR
perf_pids=()

teardown() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  for p in "${perf_pids[@]}"; do
    kill -INT "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  rm -f "$out"/*.data "$out"/*.data.old
  if [ -n "${CTRD_DIR:-}" ]; then
    containerd_leak_check || rc=1
    containerd_teardown || rc=1
  fi
  leak_check "$WEDGE_TEST_TMPDIR" || rc=1
  rm -rf "$WEDGE_TEST_TMPDIR"
  [ $rc = 0 ] || echo "exec-phases: failed (exit status $rc)" >&2
  exit $rc
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "exec-phases: starting the private containerd" >&2
containerd_start runc
: "${CTRD_PID:?}"
prefix=ep${CTRD_NS##*-}
shims=("wedge=io.containerd.wedge.v2" "${also[@]}" "runc.v2=io.containerd.runc.v2")
: > "$out/shims.txt"
args=()
for s in "${shims[@]}"; do
  label=${s%%=*} runtime=${s#*=} id=$prefix-${s%%=*}
  ctr_ run -d --runtime "$runtime" "$CTRD_IMAGE" "$id" sleep 3600 >/dev/null
  ctr_ task exec --exec-id warm "$id" true
  pid=$(containerd_shim_pid "$id") || { echo "exec-phases: no shim found for $id" >&2; exit 1; }
  echo "$label $pid" >> "$out/shims.txt"
  args+=("$label:$id:$pid")
done

{
  echo "# $(date -u +%FT%TZ) $(uname -r), $(nproc) cpus; $(runc --version | head -n 1); $(containerd --version)"
  echo "# wedge: $(git -C "$source_dir" describe --always --dirty 2>/dev/null || echo unknown), build $WEDGE_BUILD"
  for a in "${also[@]}"; do echo "# also: $a"; done
  echo "# load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/env.txt"
# perf stamps with CLOCK_MONOTONIC (perf 6.1 refuses CLOCK_REALTIME); the log and bash use the
# wall clock: the offset between the two is taken once.
python3 -c 'import time; print(time.clock_gettime(time.CLOCK_REALTIME) - time.clock_gettime(time.CLOCK_MONOTONIC))' \
  > "$out/offset"
log_start=$(wc -l < "$CTRD_DIR/containerd.log")
perf record -q -k mono -a -o "$out/sched.data" \
  -e sched:sched_process_exec,sched:sched_process_exit,sched:sched_process_fork 2> "$out/perf-sched.err" &
perf_pids+=($!)
# --no-inherit: the runtimes the shims start are not traced (the tracepoints would slow them).
perf record -q -k mono --no-inherit -o "$out/sys.data" \
  -p "$(cut -d' ' -f2 "$out/shims.txt" | paste -sd,)" \
  -e syscalls:sys_enter_read,syscalls:sys_exit_read,syscalls:sys_enter_write,syscalls:sys_enter_sendto \
  2> "$out/perf-sys.err" &
perf_pids+=($!)
sleep 2

nsenter -t "$CTRD_PID" -m -- bash "$bench_dir/exec-phases-loop.bash" "$out" "$runs" "${args[@]}"

echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/env.txt"
sleep 0.5
for p in "${perf_pids[@]}"; do
  kill -INT "$p"
  wait "$p" || true
done
perf_pids=()
sed -n "$((log_start + 1)),\$p" "$CTRD_DIR/containerd.log" > "$out/containerd.log"
perf script -i "$out/sched.data" -F comm,pid,tid,time,event,trace > "$out/sched.txt" 2>/dev/null
perf script -i "$out/sys.data" -F comm,pid,tid,time,event,trace > "$out/sys.txt" 2>/dev/null
rm -f "$out"/*.data "$out"/*.data.old
for s in "${shims[@]}"; do
  ctr_ task delete --force "$prefix-${s%%=*}" >/dev/null
  ctr_ container delete "$prefix-${s%%=*}" >/dev/null
done
python3 "$bench_dir/exec-phases.py" "$out" | tee "$out/phases.md"
cat "$out/env.txt"
echo "exec-phases: raw data in $out" >&2
