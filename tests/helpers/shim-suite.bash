# The frame of a bats suite that runs containers through containerd-shim-wedge-v2 next to
# io.containerd.runc.v2 on a private containerd (shim.bats, shim-crun.bats). Load it after
# common and containerd.
#
#   shim_suite_setup_file runc|crun   the built shim must exist; starts that containerd flavour
#   shim_suite_teardown_file          stops it and everything it started
#   task_status ID                    RUNNING, PAUSED, STOPPED, ... as `ctr task ls` prints it
#   both NAME CMD...                  the same ctr command once per runtime (see below)
# Every test ends with the harness' leak check (teardown).

WEDGE_RT=io.containerd.wedge.v2
RUNC_RT=io.containerd.runc.v2

shim_suite_setup_file() {
  common_setup_file
  [ -x "$WEDGE_BUILD/src/containerd-shim-wedge-v2" ] || {
    echo "containerd-shim-wedge-v2 not built in $WEDGE_BUILD/src" >&2
    return 1
  }
  containerd_start "$1"
}

shim_suite_teardown_file() {
  containerd_teardown
  common_teardown_file
}

# The frame of a suite on runc: a bats file that loads this one needs no setup_file or
# teardown_file of its own unless it does more (or runs crun); one it defines replaces these.
setup_file() {
  shim_suite_setup_file runc
}

teardown_file() {
  shim_suite_teardown_file
}

teardown() {
  containerd_leak_check
}

task_status() {
  ctr_ task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }'
}

# stop_and_remove ID...: SIGKILL each task (one that already exited is fine), wait for STOPPED,
# delete the task and the container; every step must succeed.
stop_and_remove() {
  local id
  for id in "$@"; do
    run_timeout 30 ctr_ task kill -s SIGKILL "$id"
    [ "$status" -eq 0 ] || [[ "$output" == *"process already finished"* ]] || {
      echo "kill $id: $status $output" >&2
      return 1
    }
    wait_for "[ \"\$(task_status $id)\" = STOPPED ]" 30
    run_timeout 30 ctr_ task delete "$id"
    [ "$status" -eq 0 ]
    run_timeout 30 ctr_ container rm "$id"
    [ "$status" -eq 0 ]
  done
}

# both NAME CMD...: runs `ctr_ CMD` once per runtime; an argument that is exactly "RT" becomes the
# runtime and one that is exactly "ID" becomes NAME-<runc|wedge>. Whole arguments only: a path
# such as /tmp/wedge-tests.xIDx (mktemp picks the letters) must pass through untouched.
# Sets OUT_runc/OUT_wedge and RC_runc/RC_wedge.
both() {
  local name=$1 rt short args a
  shift
  for rt in $RUNC_RT $WEDGE_RT; do
    short=${rt#io.containerd.}
    short=${short%.v2}
    args=()
    for a in "$@"; do
      case $a in
        RT) args+=("$rt") ;;
        ID) args+=("$name-$short") ;;
        *) args+=("$a") ;;
      esac
    done
    run_timeout 60 ctr_ "${args[@]}"
    printf -v "OUT_$short" '%s' "$output"
    printf -v "RC_$short" '%s' "$status"
    echo "$short: rc=$status output: $output"
  done
}
