# Helpers for every bats file: load with `load ../helpers/common`. Usable from scripts too.
#
#   common_setup_file / common_teardown_file   a temp dir per test file (WEDGE_TEST_DIR), with a
#                                              leak check of it at the end
#   run_timeout SECS CMD...                    bats' `run`, with CMD killed after SECS
#   wait_for COND DEADLINE                     polls the shell condition COND for DEADLINE s
#   in_crun_ns CMD... / crun_ ARGS...          run in a private mount namespace crun accepts
#   WEDGE / WEDGE_BUILD / WEDGE_SOURCE         the wedge binary, its build dir, the source tree
#
# Commands always run under a timeout: a hung runtime must fail a test, not the whole CI job.

COMMON_HELPERS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=sys.bash
. "$COMMON_HELPERS/sys.bash"

WEDGE_SOURCE=${WEDGE_SOURCE:-$(cd "$COMMON_HELPERS/../.." && pwd)}
WEDGE_BUILD=${WEDGE_BUILD:-$WEDGE_SOURCE/build}
WEDGE=${WEDGE:-$WEDGE_BUILD/src/wedge}
export WEDGE_SOURCE WEDGE_BUILD WEDGE

# The default for each command a test runs; tests pass their own where they need longer.
COMMON_TIMEOUT=${COMMON_TIMEOUT:-60}

# run_timeout SECS CMD...: as bats' `run` (sets $status, $output, $lines), but CMD is sent
# SIGTERM after SECS and SIGKILL 5 s later; a timeout shows as status 124 (or 137). CMD may be
# a shell function: it then runs in a bash that is given this shell's function definitions.
run_timeout() {
  local secs=$1
  shift
  if [ "$(type -t "$1")" = function ]; then
    run timeout --kill-after=5 "$secs" bash -c "$(declare -f); \"\$@\"" run_timeout "$@"
  else
    run timeout --kill-after=5 "$secs" "$@"
  fi
}

# wait_for COND DEADLINE: evaluates the shell condition COND every 0.1 s until it succeeds
# (returns 0) or DEADLINE seconds have passed (prints what it waited for, returns 1).
wait_for() {
  local cond=$1 deadline=$((SECONDS + ${2:-$COMMON_TIMEOUT}))
  while ! eval "$cond"; do
    if [ $SECONDS -ge "$deadline" ]; then
      echo "wait_for: '$cond' still false after ${2:-$COMMON_TIMEOUT}s" >&2
      return 1
    fi
    sleep 0.1
  done
}

# in_crun_ns CMD...: runs CMD in a new private mount namespace without /sys/fs/cgroup/unified.
# crun 1.8.1 refuses the hybrid cgroup layout of the test machines (v1 controllers plus an
# empty cgroup2 at /sys/fs/cgroup/unified): "cgroups in hybrid mode not supported, drop all
# controllers from cgroupv2". runc 1.1.5 accepts it. Unmounting the cgroup2 mount in a private
# namespace makes crun see plain cgroup v1 and leaves the host untouched. Everything that must
# see the same view (a crun create and the later start, kill, delete of that container; wedge
# driving crun) runs inside one such namespace, or each in its own: the view is the same.
in_crun_ns() {
  unshare -m --propagation private -- /bin/sh -c \
    'if mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified || exit 125; fi; exec "$@"' \
    in_crun_ns "$@"
}

# crun_ ARGS...: crun in such a namespace.
crun_() {
  in_crun_ns crun "$@"
}

# runtime_ RUNTIME ARGS...: runc as is, crun through crun_.
runtime_() {
  local rt=$1
  shift
  case $rt in
    crun) crun_ "$@" ;;
    *) "$rt" "$@" ;;
  esac
}

# common_setup_file: fails the file loudly when the environment is broken, and makes
# WEDGE_TEST_DIR, a temp dir for this file (under WEDGE_TEST_TMPDIR, which setup_suite makes).
common_setup_file() {
  local tool
  if [ "$(id -u)" != 0 ]; then
    echo "the integration tests run as root" >&2
    return 1
  fi
  for tool in runc crun jq unshare nsenter timeout mountpoint; do
    command -v "$tool" >/dev/null || { echo "$tool not found: run scripts/install-deps.sh" >&2; return 1; }
  done
  local base=${WEDGE_TEST_TMPDIR:-${TMPDIR:-/tmp}}
  mkdir -p "$base"
  WEDGE_TEST_DIR=$(mktemp -d "$base/$(basename "${BATS_TEST_FILENAME:-test}" .bats).XXXXXX")
  export WEDGE_TEST_DIR
}

# common_teardown_file: fails when a mount below WEDGE_TEST_DIR, a process mentioning it or an
# entry in one of the runtime roots given remains; removes the dir either way.
common_teardown_file() {
  local rc=0
  [ -n "${WEDGE_TEST_DIR:-}" ] && [ -d "$WEDGE_TEST_DIR" ] || return 0
  leak_check "$WEDGE_TEST_DIR" "$@" || rc=1
  umount_under "$WEDGE_TEST_DIR" || rc=1
  rm -rf "$WEDGE_TEST_DIR"
  return $rc
}

# require_wedge: fails (never skips) when the build has no wedge binary.
require_wedge() {
  if [ ! -x "$WEDGE" ]; then
    echo "$WEDGE missing: build first (ninja -C $WEDGE_BUILD) or set WEDGE_BUILD" >&2
    return 1
  fi
}
