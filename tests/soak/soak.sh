#!/bin/bash
# tests/soak/soak.sh [-n CYCLES] [-t SECONDS] [-w WARMUP]
#
# Soak of containerd-shim-wedge-v2 built with ASan+UBSan (LeakSanitizer) under a private
# containerd 1.6 (tests/helpers/containerd.bash), with runc. One container, "soak-long", lives
# for the whole run; each cycle then
#   1. runs a container (ctr run -d ... sleep), execs `echo` in it and checks the output,
#   2. kills it (SIGKILL), deletes the task once stopped and deletes the container,
#   3. execs `echo` in soak-long (the same shim every time) and samples that shim's open fds
#      (/proc/<pid>/fd) and VmRSS.
# It stops after CYCLES cycles (default 1000) or when SECONDS (default 3600) have passed, and
# fails when
#   - a ctr command fails or an exec prints something else;
#   - any shim process (daemon, `start`, `delete`) wrote a sanitizer report: ASAN_OPTIONS in
#     containerd's environment sends them to files under the soak dir (log_path), LeakSanitizer
#     runs when each shim exits;
#   - soak-long's shim holds more fds at the end than after WARMUP cycles (default: 10), or its
#     VmRSS grew by more than SOAK_RSS_SLACK_KB (default 2048) since then;
#   - a zombie is left under containerd, its reaper or a shim, or containerd_leak_check finds a
#     container, task, shim, mount, state entry or cgroup left at the end.
# The last line is "soak: PASS ..." or "soak: FAIL ...". Needs root; WEDGE_ASAN_BUILD (default
# <source>/build-asan) holds the ASan build. Not part of `make test` at this size:
# tests/integration/soak.bats runs 50 cycles.
set -uo pipefail

SOAK_DIR_HELPERS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../helpers" && pwd)
# shellcheck source=../helpers/common.bash
. "$SOAK_DIR_HELPERS/common.bash"
# shellcheck source=../helpers/containerd.bash
. "$SOAK_DIR_HELPERS/containerd.bash"

cycles=1000
max_seconds=3600
warmup=10
while getopts n:t:w: opt; do
  case $opt in
    n) cycles=$OPTARG ;;
    t) max_seconds=$OPTARG ;;
    w) warmup=$OPTARG ;;
    *) echo "usage: $0 [-n CYCLES] [-t SECONDS] [-w WARMUP]" >&2; exit 2 ;;
  esac
done
[ "$warmup" -lt "$cycles" ] || warmup=$((cycles / 2))
rss_slack_kb=${SOAK_RSS_SLACK_KB:-2048}
asan_build=$(cd "${WEDGE_ASAN_BUILD:-$WEDGE_SOURCE/build-asan}" && pwd) || exit 2
shim=$asan_build/src/containerd-shim-wedge-v2
[ -x "$shim" ] || { echo "soak: $shim is not built (ninja -C $asan_build)" >&2; exit 2; }
grep -q __asan_init < <(nm -D "$shim" 2>/dev/null) || { echo "soak: $shim is not an ASan build" >&2; exit 2; }

RT=io.containerd.wedge.v2
base=${WEDGE_TEST_TMPDIR:-${TMPDIR:-/tmp}}
mkdir -p "$base"
SOAK_DIR=$(mktemp -d "$base/soak.XXXXXX")
mkdir -p "$SOAK_DIR/asan"

# Inherited by containerd and so by every shim it starts (and ignored by ctr, containerd, runc:
# only the shim is built with ASan). A small quarantine keeps VmRSS meaningful; leaks are still
# found, use-after-free of recently freed memory too.
export ASAN_OPTIONS="log_path=$SOAK_DIR/asan/report:detect_leaks=1:halt_on_error=1:quarantine_size_mb=1:malloc_context_size=20"
export UBSAN_OPTIONS="log_path=$SOAK_DIR/asan/ubsan:halt_on_error=1:print_stacktrace=1"
# containerd_start puts $WEDGE_BUILD/src first in containerd's PATH: the ASan shim is the one run.
WEDGE_BUILD=$asan_build

failures=()
fail() {
  failures+=("$*")
  echo "soak: FAILURE: $*" >&2
}

finish() {
  local rc=0 f zombies
  if [ -n "${CTRD_PID:-}" ]; then
    if ctr_ task ls -q 2>/dev/null | grep -qx soak-long; then
      ctr_ task kill -s SIGKILL soak-long >/dev/null 2>&1
      wait_for 'ctr_ task delete soak-long >/dev/null 2>&1' 60 || fail "task soak-long cannot be deleted"
    fi
    ctr_ container delete soak-long >/dev/null 2>&1
    containerd_leak_check || fail "containerd_leak_check found leftovers"
    zombies=$(soak_zombies)
    [ -z "$zombies" ] || fail "zombies left: $zombies"
  fi
  containerd_teardown || fail "containerd_teardown failed"
  for f in "$SOAK_DIR"/asan/*; do
    [ -e "$f" ] || continue
    fail "sanitizer report $(basename "$f"):"$'\n'"$(head -n 40 "$f")"
  done
  echo "soak: $done_cycles cycles in $((SECONDS - start))s; soak-long shim: fds ${fds_warm:-?} after warm-up" \
    "(cycle $warmup), ${fds_end:-?} at the end; VmRSS ${rss_warm:-?} kB -> ${rss_end:-?} kB (peak ${rss_peak:-?} kB);" \
    "$((${#failures[@]})) failure(s); sanitizer reports: $(find "$SOAK_DIR/asan" -type f | wc -l)"
  rm -rf "$SOAK_DIR"
  if [ ${#failures[@]} -gt 0 ]; then
    echo "soak: FAIL"
    rc=1
  else
    echo "soak: PASS"
  fi
  exit $rc
}

# Zombies whose parent is containerd, its reaper or one of its shims (the shims reap their
# containers' processes as subreapers; a zombie there is an exit nobody collected).
soak_zombies() {
  local parents p
  parents=" ${CTRD_PID:-} ${CTRD_REAPER_PID:-} $(containerd_shim_pids | tr '\n' ' ') "
  ps -eo pid=,ppid=,stat= | while read -r p pp st; do
    [[ $st == Z* ]] && [[ $parents == *" $pp "* ]] && echo "$p(parent $pp)"
  done
}

shim_fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
shim_rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# exec_echo ID EXEC_ID TEXT: execs `echo TEXT` in ID and checks what it printed.
exec_echo() {
  local out
  out=$(ctr_ task exec --exec-id "$2" "$1" echo "$3" 2>&1)
  [ "$out" = "$3" ] || { fail "exec $2 in $1 printed '$out' (expected '$3')"; return 1; }
}

start=$SECONDS
done_cycles=0
trap finish EXIT
containerd_start runc || { fail "containerd_start failed"; exit 1; }

ctr_ run -d --runtime "$RT" "$CTRD_IMAGE" soak-long sleep 1000000 >/dev/null || { fail "run soak-long"; exit 1; }
long_shim=$(containerd_shim_pids)
[ "$(wc -w <<<"$long_shim")" = 1 ] || { fail "expected one shim, found: $long_shim"; exit 1; }
echo "soak: soak-long's shim is pid $long_shim ($(readlink "/proc/$long_shim/exe"))"

rss_peak=0
for ((i = 1; i <= cycles; i++)); do
  if [ $((SECONDS - start)) -ge "$max_seconds" ]; then
    echo "soak: time bound of ${max_seconds}s reached after $done_cycles cycles"
    break
  fi
  id=soak-$i
  ctr_ run -d --runtime "$RT" "$CTRD_IMAGE" "$id" sleep 1000000 >/dev/null || { fail "cycle $i: run -d $id"; break; }
  exec_echo "$id" x "cycle-$i" || break
  ctr_ task kill -s SIGKILL "$id" || { fail "cycle $i: kill $id"; break; }
  wait_for "ctr_ task delete $id >/dev/null 2>&1" 60 || { fail "cycle $i: task delete $id"; break; }
  ctr_ container delete "$id" || { fail "cycle $i: container delete $id"; break; }
  exec_echo soak-long "e$i" "long-$i" || break

  pid_alive "$long_shim" || { fail "cycle $i: soak-long's shim $long_shim is gone"; break; }
  fds=$(shim_fds "$long_shim")
  rss=$(shim_rss "$long_shim")
  [ "$rss" -gt "$rss_peak" ] && rss_peak=$rss
  if [ "$i" = "$warmup" ]; then
    fds_warm=$fds
    rss_warm=$rss
  fi
  done_cycles=$i
  if [ $((i % 50)) = 0 ] || [ "$i" = "$warmup" ]; then
    echo "soak: cycle $i: $((SECONDS - start))s, soak-long shim fds $fds, VmRSS $rss kB, zombies: $(soak_zombies | wc -l)"
  fi
done

if [ -n "${fds_warm:-}" ] && pid_alive "$long_shim"; then
  # An exec's fds are closed once ctr has deleted it; give the loop a moment to get there.
  wait_for '[ "$(shim_fds "$long_shim")" -le "$fds_warm" ]' 10 || true
  fds_end=$(shim_fds "$long_shim")
  rss_end=$(shim_rss "$long_shim")
  [ "$fds_end" -le "$fds_warm" ] || fail "soak-long's shim holds $fds_end fds, $fds_warm after warm-up"
  [ "$rss_end" -le $((rss_warm + rss_slack_kb)) ] \
    || fail "soak-long's shim VmRSS grew from $rss_warm kB to $rss_end kB (slack $rss_slack_kb kB)"
elif [ ${#failures[@]} = 0 ]; then
  fail "no fd/RSS figures: fewer than $warmup cycles ran"
fi
