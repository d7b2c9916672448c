#!/bin/bash
# bench/run.sh: wedge side by side with containerd-shim-runc-v2 and conmon (issue 7).
#
#   bench/run.sh [--build DIR] [--shims wedge,runc.v2] [--sections LIST] [--runs N]
#                [--mem-runs N] [--io-runs N] [--sizes 1,10,50] [--stdout-mib N]
#                [--density N] [--density-runs N] [--density-timeout S] [--podload-runs N]
#                [--quick] [--out DIR]
#
# Starts ONE private containerd (tests/helpers/containerd.bash, crun flavour: its mount namespace
# has no /sys/fs/cgroup/unified, so crun and runc both work there; DIR/src first in its PATH, so
# io.containerd.wedge.v2 finds the build's shim) and runs bench/measure.bash in that namespace.
# Sections: memory, lifecycle, phases (needs perf: where each `ctr run --rm` spends its wall
# time, process by process), exec, podexec (a pod's 4 containers in one shim, 8 execs at once:
# wall time and runtime calls in flight), stdout, density, podload (the same pod over CRI, as
# kubelet drives it: bench/podload.bash starts its own containerd with the CRI plugin; ~2 min).
# Every figure is measured over several runs with the shims taking turns (A B, B A, ...). Prints the
# table (median [min-max], ratio wedge / runc.v2, the issue's targets), and writes to --out
# (default bench/results): <stamp>.csv (raw rows), <stamp>.md (the table), <stamp>.png (chart).
# Everything it starts is removed at the end and checked for leaks.
#
# Benchmarks are never tests: nothing here is run by tests/run-all.sh. While other jobs share the
# machine, use --quick (or small counts): the full run loads both cores for ~13 minutes.
set -euo pipefail

bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_dir=$(cd "$bench_dir/.." && pwd)

usage() {
  sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

build=$source_dir/build
shims=wedge,runc.v2
sections=memory,lifecycle,phases,exec,podexec,stdout,density,podload
runs=10 mem_runs=3 io_runs=3 sizes=1,10,50 stdout_mib=1024
density=200 density_runs=1 density_timeout=300 podload_runs=3
out=$bench_dir/results
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift ;;
    --shims) shims=$2; shift ;;
    --sections) sections=$2; shift ;;
    --runs) runs=$2; shift ;;
    --mem-runs) mem_runs=$2; shift ;;
    --io-runs) io_runs=$2; shift ;;
    --sizes) sizes=$2; shift ;;
    --stdout-mib) stdout_mib=$2; shift ;;
    --density) density=$2; shift ;;
    --density-runs) density_runs=$2; shift ;;
    --density-timeout) density_timeout=$2; shift ;;
    --podload-runs) podload_runs=$2; shift ;;
    --out) out=$2; shift ;;
    --quick) runs=3 mem_runs=1 io_runs=1 sizes=1,4 stdout_mib=64 density=8 density_runs=1 podload_runs=1 ;;
    -h | --help) usage ;;
    *) echo "bench: unknown argument '$1'" >&2; usage ;;
  esac
  shift
done

for n in "$runs" "$mem_runs" "$io_runs" "$stdout_mib" "$density" "$density_runs" "$density_timeout" "$podload_runs" ${sizes//,/ }; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "bench: '$n' is not a positive count" >&2; exit 2; }
done
for s in ${shims//,/ }; do
  case $s in wedge | runc.v2) ;; *) echo "bench: unknown shim '$s' (wedge, runc.v2)" >&2; exit 2 ;; esac
done
[ "$(id -u)" = 0 ] || { echo "bench: must run as root" >&2; exit 1; }

if ! command -v gnuplot >/dev/null; then
  "$source_dir/scripts/install-deps.sh" --bench
fi
for tool in containerd ctr containerd-shim-runc-v2 runc crun conmon gnuplot jq awk nsenter perl; do
  command -v "$tool" >/dev/null || { echo "bench: $tool not found (scripts/install-deps.sh --bench)" >&2; exit 1; }
done
case ",$shims," in
  *,wedge,*)
    [ -x "$build/src/containerd-shim-wedge-v2" ] ||
      { echo "bench: $build/src/containerd-shim-wedge-v2 missing: build first (make build) or pass --shims runc.v2" >&2; exit 1; }
    ;;
esac

WEDGE_BUILD=$(cd "$build" && pwd)
export WEDGE_BUILD
# shellcheck source=../tests/helpers/common.bash
. "$source_dir/tests/helpers/common.bash"
# shellcheck source=../tests/helpers/containerd.bash
. "$source_dir/tests/helpers/containerd.bash"

mkdir -p "$out"
out=$(cd "$out" && pwd)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
csv=$out/$stamp.csv
WEDGE_TEST_TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/wedge-bench.XXXXXX")
export WEDGE_TEST_TMPDIR
work=$WEDGE_TEST_TMPDIR/work

teardown() {
  local rc=$? id
  trap - EXIT INT TERM
  set +e
  if [ -n "${CTRD_DIR:-}" ]; then
    containerd_leak_check || rc=1
    containerd_teardown || rc=1
  fi
  # What measure.bash would have removed had it been killed: runtime containers (the floor,
  # conmon's) and conmon itself.
  for id in $(runc --root "$work/runtime-root" list -q 2>/dev/null); do
    runc --root "$work/runtime-root" delete --force "$id" >/dev/null 2>&1
  done
  for id in $(crun_ --root "$work/runtime-root" list -q 2>/dev/null); do
    crun_ --root "$work/runtime-root" delete --force "$id" >/dev/null 2>&1
  done
  # shellcheck disable=SC2046
  kill_and_wait KILL $(pids_mentioning "$WEDGE_TEST_TMPDIR")
  leak_check "$WEDGE_TEST_TMPDIR" "$work/runtime-root" || rc=1
  umount_under "$WEDGE_TEST_TMPDIR" || rc=1
  rm -rf "$WEDGE_TEST_TMPDIR"
  [ $rc = 0 ] || echo "bench: failed (exit status $rc; leaks, if any, are listed above)" >&2
  exit $rc
}
trap teardown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "section,metric,shim,runtime,containers,run,value,unit" > "$csv"
# The environment is also what the raw CSV is read with: keep it next to it.
{
  echo "# $(date -u +%FT%TZ) $(uname -r), $(nproc) cpus, $(awk '/MemTotal/ { print $2 " kB" }' /proc/meminfo)"
  echo "# $(runc --version | head -n 1); $(crun --version | head -n 1); $(containerd --version)"
  echo "# wedge: $(git -C "$source_dir" describe --always --dirty 2>/dev/null || echo unknown), build $WEDGE_BUILD"
  echo "# load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# shims=$shims runs=$runs mem_runs=$mem_runs io_runs=$io_runs sizes=$sizes stdout_mib=$stdout_mib density=$density density_runs=$density_runs podload_runs=$podload_runs"
} > "$out/$stamp.env"

# podload has its own containerd (with the CRI plugin): run it before the crun instance starts.
case ",$sections," in
  *,podload,*)
    TMPDIR=$WEDGE_TEST_TMPDIR BENCH_CSV=$csv BENCH_SHIMS=${shims//,/ } BENCH_RUNS=$podload_runs \
      bash "$bench_dir/podload.bash"
    ;;
esac
ctrd_sections=$(echo ",$sections," | sed 's/,podload,/,/g; s/^,*//; s/,*$//')
if [ -n "$ctrd_sections" ]; then
  mkdir -p "$work"
  "$source_dir/tests/helpers/make-bundle.sh" "$work/sleep-bundle" sleep 3600 >/dev/null
  "$source_dir/tests/helpers/make-bundle.sh" "$work/true-bundle" true >/dev/null
  echo "bench: starting the private containerd" >&2
  export CTRD_TMPFS=1 # bundles and /run on tmpfs, as on a real host (containerd.bash)
  containerd_start crun
  ln -sfn "$(command -v runc)" "$CTRD_DIR/bin/runc"

  BENCH_CSV=$csv BENCH_WORK=$work BENCH_SHIMS=${shims//,/ } BENCH_SECTIONS=${ctrd_sections//,/ } \
    BENCH_RUNS=$runs BENCH_MEM_RUNS=$mem_runs BENCH_IO_RUNS=$io_runs BENCH_SIZES=${sizes//,/ } \
    BENCH_STDOUT_MIB=$stdout_mib BENCH_DENSITY=$density BENCH_DENSITY_RUNS=$density_runs \
    BENCH_DENSITY_TIMEOUT=$density_timeout \
    timeout --kill-after=30 "${BENCH_TIMEOUT:-3600}" \
    nsenter -t "$CTRD_PID" -m -- \
    perl "$source_dir/tests/helpers/subreaper.pl" "$work/measure.pid" \
    bash "$bench_dir/measure.bash"
fi
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/$stamp.env"
awk -F, -v ratios="$out/$stamp.ratios.dat" -v memory="$out/$stamp.memory.dat" \
  -v ctrd_version="$(containerd --version)" -f "$bench_dir/report.awk" "$csv" > "$out/$stamp.md"
if [ -s "$out/$stamp.ratios.dat" ] && grep -q '^[0-9]' "$out/$stamp.memory.dat"; then
  gnuplot -e "ratios='$out/$stamp.ratios.dat'; memory='$out/$stamp.memory.dat'; out='$out/$stamp.png'; subtitle='$(nproc) cpus, $stamp'" \
    "$bench_dir/chart.gnuplot"
else
  echo "bench: no chart (it needs both shims and the memory section)" >&2
fi
cat "$out/$stamp.env" "$out/$stamp.md"
echo "bench: results in $out/$stamp.{csv,md,env}$([ -s "$out/$stamp.png" ] && echo ', png')" >&2
