#!/bin/bash
# fuzz/run.sh [-t SECONDS] [-j JOBS] FUZZ_BUILD [TARGET...]
#
# Runs each libFuzzer target of FUZZ_BUILD (a meson build with -Dfuzz=true, see fuzz/README.md)
# for SECONDS (default 20), starting from its committed seeds (fuzz/corpus/<target>/) in a scratch
# corpus, so the repository is never written. Prints TAP: one line per target with its
# executions and coverage, `not ok` with the crash file and the sanitizer's report when it found
# something. Crash files are kept in FUZZ_BUILD/fuzz-artifacts/<target>/ for replay:
#   FUZZ_BUILD/fuzz/fuzz_<target> FUZZ_BUILD/fuzz-artifacts/<target>/crash-...
set -uo pipefail

seconds=20
while getopts t: opt; do
  case $opt in
    t) seconds=$OPTARG ;;
    *) echo "usage: $0 [-t SECONDS] FUZZ_BUILD [TARGET...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-t SECONDS] FUZZ_BUILD [TARGET...]" >&2; exit 2; }
build=$(cd "$1" && pwd) || exit 2
shift
source_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

targets=("$@")
if [ ${#targets[@]} = 0 ]; then
  for f in "$source_root"/fuzz/fuzz_*.c; do
    t=$(basename "$f" .c)
    targets+=("${t#fuzz_}")
  done
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wedge-fuzz.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Leaks count as findings; UBSan stops at the first report instead of printing and going on.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# The targets' own scratch files go here too, removed with it.
export TMPDIR=$tmp

echo "1..${#targets[@]}"
n=0
status=0
for t in "${targets[@]}"; do
  n=$((n + 1))
  bin=$build/fuzz/fuzz_$t
  if [ ! -x "$bin" ]; then
    echo "not ok $n fuzz_$t # $bin is missing (meson setup with -Dfuzz=true)"
    status=1
    continue
  fi
  corpus=$tmp/$t
  artifacts=$build/fuzz-artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  log=$tmp/$t.log
  # -timeout: one input running this long is a hang (a finding); -rss_limit_mb: a runaway
  # allocation is a finding, not an OOM of the machine. The time bound is libFuzzer's own, with
  # `timeout` as a backstop for a target that hangs outside an input.
  timeout --kill-after=10 $((seconds + 60)) "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "$source_root/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
  units=$(find "$corpus" -type f | wc -l)
  summary="fuzz_$t: ${execs:-?} executions in ${seconds}s, ${cov:-no coverage line}, corpus $units"
  if [ $rc = 0 ]; then
    echo "ok $n $summary"
  else
    status=1
    echo "not ok $n $summary (exit status $rc)"
    crash=$(grep -oE "Test unit written to [^ ]+" "$log" | tail -n 1 | sed 's/Test unit written to //')
    [ -n "$crash" ] && echo "# replay: $bin $crash"
    grep -E "ERROR: |SUMMARY: |runtime error|    #[0-9]+ " "$log" | head -n 40 | sed 's/^/# /'
  fi
done
exit $status
