#!/bin/bash
# tests/run-all.sh [--unit-only|--integration-only|--vm-only] BUILD ASAN_BUILD [FUZZ_BUILD]
#
# What CI runs (through `make test`): every unit test binary of the meson build, in the plain
# build and in the ASan+UBSan build, then every tests/integration/*.bats file with
# `bats --tap`, then the cgroup-dependent ones in a cgroup-v2 VM (tests/vm/, `--vm-only` runs
# just those). Results are counted from the TAP lines: `ok` passes, `not ok` fails, a `# skip`
# directive (bats `ok N name # skip`, cmocka `not ok N # SKIP`) counts as passed and is also
# counted as skipped. A binary or bats file that crashes, exits non-zero without reporting a
# failure, reports fewer results than its plan, or runs past its timeout counts as a failure.
# The last line is exactly "N passed, N failed, N skipped"; the exit status is non-zero when
# anything failed or nothing ran at all. The integration tests need root; a broken environment
# fails them (setup_suite), it never skips them. With FUZZ_BUILD (a clang build with -Dfuzz=true,
# `make fuzz-build`), the unit half also runs each libFuzzer target for FUZZ_SECONDS (default 20)
# through fuzz/run.sh: one TAP result per target, a crash, leak or UB report is a failure.
set -uo pipefail

# Tests start with default signal dispositions whoever runs this (see default-signals.pl: under
# `make test`, signals 32 and 33 would arrive ignored).
if [ -z "${WEDGE_RUN_ALL_DEFAULT_SIGNALS:-}" ]; then
  export WEDGE_RUN_ALL_DEFAULT_SIGNALS=1
  exec "$(dirname "${BASH_SOURCE[0]}")/helpers/default-signals.pl" "$BASH" "${BASH_SOURCE[0]}" "$@"
fi

usage() {
  echo "usage: $0 [--unit-only|--integration-only|--vm-only] BUILD ASAN_BUILD [FUZZ_BUILD]" >&2
  exit 2
}

run_unit=1
run_integration=1
run_vm=1
case ${1:-} in
  --unit-only) run_integration=0; run_vm=0; shift ;;
  --integration-only) run_unit=0; shift ;;
  --vm-only) run_unit=0; run_integration=0; shift ;;
  -*) usage ;;
esac
[ $# -eq 2 ] || [ $# -eq 3 ] || usage

source_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
abspath() { (cd "$1" 2>/dev/null && pwd) || echo "$1"; }
build=$(abspath "$1")
asan_build=$(abspath "$2")
fuzz_build=${3:+$(abspath "$3")}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}

UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
BATS_FILE_TIMEOUT=${BATS_FILE_TIMEOUT:-1200}

passed=0
failed=0
skipped=0
failures=()

# count_tap NAME STATUS OUTPUT_FILE: adds the TAP results of one run to the totals and records
# each failure with the diagnostics that follow it.
count_tap() {
  local name=$1 rc=$2 out=$3 line plan=-1 seen=0 nok=0 in_failure=0 msg=""
  while IFS= read -r line; do
    if [[ $line =~ ^1\.\.([0-9]+) ]]; then
      plan=${BASH_REMATCH[1]}
      in_failure=0
    elif [[ $line =~ ^(not\ )?ok\  ]]; then
      seen=$((seen + 1))
      [ -n "$msg" ] && failures+=("$msg") && msg=""
      in_failure=0
      if [[ ${line,,} =~ \#\ *skip ]]; then
        passed=$((passed + 1))
        skipped=$((skipped + 1))
      elif [[ $line == ok\ * ]]; then
        passed=$((passed + 1))
      else
        failed=$((failed + 1))
        nok=$((nok + 1))
        in_failure=1
        msg="$name: $line"
      fi
    elif [ $in_failure = 1 ] && [[ $line == \#* ]]; then
      msg+=$'\n'"    $line"
    fi
  done < "$out"
  [ -n "$msg" ] && failures+=("$msg")

  local why=""
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    why="timed out (killed after its timeout)"
  elif [ "$plan" -ge 0 ] && [ "$seen" -lt "$plan" ]; then
    why="reported $seen of $plan results (exit status $rc)"
  elif [ "$plan" -lt 0 ] && [ "$seen" = 0 ]; then
    why="reported no TAP results (exit status $rc)"
  elif [ "$rc" != 0 ] && [ "$nok" = 0 ]; then
    why="exited with status $rc without reporting a failure"
  fi
  if [ -n "$why" ]; then
    failed=$((failed + 1))
    failures+=("$name: $why"$'\n'"$(tail -n 20 "$out" | sed 's/^/    /')")
  fi
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/run-all.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# unit_binaries BUILD: the test executables meson knows of, one a line.
unit_binaries() {
  meson introspect "$1" --tests | jq -r '.[] | .cmd[0]'
}

run_unit_suite() {
  local label=$1 dir=$2 bin out rc n=0
  shift 2
  if [ ! -f "$dir/build.ninja" ]; then
    failed=$((failed + 1))
    failures+=("$label: $dir is not a configured meson build")
    return
  fi
  if ! ninja -C "$dir" >"$tmp/ninja.log" 2>&1; then
    failed=$((failed + 1))
    failures+=("$label: ninja -C $dir failed"$'\n'"$(tail -n 30 "$tmp/ninja.log" | sed 's/^/    /')")
    return
  fi
  while IFS= read -r bin; do
    [ -n "$bin" ] || continue
    n=$((n + 1))
    out=$tmp/unit.out
    echo "== $label: $(basename "$bin")"
    env "$@" CMOCKA_MESSAGE_OUTPUT=TAP timeout --kill-after=10 "$UNIT_TIMEOUT" "$bin" >"$out" 2>&1
    rc=$?
    cat "$out"
    count_tap "$label $(basename "$bin")" "$rc" "$out"
  done < <(unit_binaries "$dir")
  if [ $n = 0 ]; then
    failed=$((failed + 1))
    failures+=("$label: meson lists no unit test in $dir")
  fi
}

# run_vm_suites: the cgroup-dependent suites (tests/vm/suites) once more, in a cgroup-v2-only VM
# (tests/vm/run.sh): the host is hybrid, which the shims treat as v1. Each counts as
# "v2/<file>". A machine that cannot run the VM (not root, no qemu, no image can be built) gets
# one skip line saying why; so does WEDGE_VM=0.
run_vm_suites() {
  local vmout=$tmp/vm rc file filter name vstart=$SECONDS
  echo "== integration on cgroup v2 (VM): tests/vm/run.sh"
  if [ "${WEDGE_VM:-1}" = 0 ]; then
    mkdir -p "$vmout"
    echo "WEDGE_VM=0" > "$vmout/skip"
    rc=77
  else
    "$source_root/tests/vm/run.sh" "$vmout" "$build" "$asan_build"
    rc=$?
  fi
  if [ $rc = 77 ]; then
    printf '1..1\nok 1 the cgroup v2 suites in a VM # skip %s\n' "$(cat "$vmout/skip")" > "$tmp/vm-skip.tap"
    cat "$tmp/vm-skip.tap"
    count_tap "v2 (VM)" 0 "$tmp/vm-skip.tap"
    return
  fi
  # shellcheck source=vm/suites.bash
  . "$source_root/tests/vm/suites.bash"
  while read -r file filter <&3; do
    name=v2/$file
    echo "== integration on cgroup v2 (VM): $file${filter:+ (--filter '$filter')}"
    if [ -f "$vmout/tap/$file.tap" ]; then
      cat "$vmout/tap/$file.tap"
      echo "== $name: $(cat "$vmout/tap/$file.secs" 2>/dev/null)s"
      count_tap "$name" "$(cat "$vmout/tap/$file.rc" 2>/dev/null || echo 1)" "$vmout/tap/$file.tap"
    else
      failed=$((failed + 1))
      failures+=("$name: did not run in the VM")
    fi
  done 3< <(vm_suites)
  if [ $rc != 0 ]; then
    failed=$((failed + 1))
    failures+=("v2 (VM): tests/vm/run.sh failed (status $rc; its console is above)")
  fi
  echo "== integration on cgroup v2 (VM): $((SECONDS - vstart))s in all"
}

if [ $run_unit = 1 ]; then
  run_unit_suite unit "$build"
  run_unit_suite unit-asan "$asan_build" \
    ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  if [ -n "$fuzz_build" ]; then
    echo "== fuzz: each target ${FUZZ_SECONDS}s"
    out=$tmp/fuzz.out
    if ! ninja -C "$fuzz_build" >"$tmp/ninja.log" 2>&1; then
      failed=$((failed + 1))
      failures+=("fuzz: ninja -C $fuzz_build failed"$'\n'"$(tail -n 30 "$tmp/ninja.log" | sed 's/^/    /')")
    else
      "$source_root/fuzz/run.sh" -t "$FUZZ_SECONDS" "$fuzz_build" >"$out" 2>&1
      rc=$?
      cat "$out"
      count_tap fuzz "$rc" "$out"
    fi
  fi
fi

if [ $run_integration = 1 ]; then
  if [ "$(id -u)" != 0 ]; then
    failed=$((failed + 1))
    failures+=("integration: must run as root")
  elif ! command -v bats >/dev/null; then
    failed=$((failed + 1))
    failures+=("integration: bats not found (run scripts/install-deps.sh)")
  else
    [ -f "$build/build.ninja" ] && ninja -C "$build" >/dev/null
    export WEDGE_BUILD=$build WEDGE_ASAN_BUILD=$asan_build WEDGE_SOURCE=$source_root
    start=$SECONDS
    for f in "$source_root"/tests/integration/*.bats; do
      [ -e "$f" ] || continue
      echo "== integration: $(basename "$f")"
      out=$tmp/bats.out
      fstart=$SECONDS
      timeout --kill-after=30 "$BATS_FILE_TIMEOUT" bats --tap "$f" >"$out" 2>&1
      rc=$?
      cat "$out"
      echo "== $(basename "$f"): $((SECONDS - fstart))s"
      count_tap "$(basename "$f")" "$rc" "$out"
    done
    echo "== integration: $((SECONDS - start))s in all"
  fi
fi

[ $run_vm = 1 ] && run_vm_suites

if [ ${#failures[@]} -gt 0 ]; then
  echo
  echo "FAILURES:"
  for f in "${failures[@]}"; do
    echo "  $f"
  done
fi
echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] && [ $((passed + failed)) -gt 0 ]
