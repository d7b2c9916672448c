#!/usr/bin/env bats
# Options.shim_cgroup (ShimCgroup): the daemon a `start` brings up runs in that cgroup, as
# containerd-shim-runc-v2's does, and a cgroup that cannot be joined fails `start` with the
# reason (containerd shows it). Given through the ConfigPath file (ctr --runtime-config-path), and
# as the options message on `start`'s stdin, run by hand for both shims side by side (ctr sends
# no shim_cgroup to either).
#
# Each test makes its cgroup /wedge-shimcg-<pid>-<n>: on cgroup v1 (and hybrid) in the hierarchies
# of SHIMCG_CONTROLLERS only (not cpuset: a new cpuset cgroup has no cpus, nobody can join it), on
# a v2-only host in the root. Nothing is created by the shims: the runc shim requires the cgroup
# to exist. teardown removes what the test made, once its processes are gone.

load ../helpers/common
load ../helpers/containerd
load ../helpers/shim-suite
load ../helpers/shim

SHIMCG_CONTROLLERS="cpu memory pids systemd"
RUNC_SHIM=/usr/bin/containerd-shim-runc-v2

setup() {
  shim_setup
  SHIMCG=wedge-shimcg-$$-$BATS_TEST_NUMBER
  SHIMCG_MADE=()
  n=0
}

teardown() {
  local rc=0 d i
  kill_and_wait KILL $(runc_daemon_pids) || rc=1
  shim_teardown
  # A failed test may leave its shim in the cgroup: only this test's processes can be there.
  for ((i = ${#SHIMCG_MADE[@]} - 1; i >= 0; i--)); do
    d=${SHIMCG_MADE[i]}
    wait_for "rmdir '$d' 2>/dev/null || [ ! -d '$d' ]" 10 && continue
    rc=1
    kill_and_wait KILL $(cat "$d/cgroup.procs")
    wait_for "rmdir '$d' 2>/dev/null || [ ! -d '$d' ]" 10
  done
  containerd_leak_check || rc=1
  return $rc
}

cgroup_v2_only() {
  [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]
}

# shimcg_make NAME [CONTROLLER...]: the cgroup /NAME in each v1 hierarchy named (default:
# SHIMCG_CONTROLLERS), or in the v2 root on a v2-only host; teardown removes it.
shimcg_make() {
  local name=$1 c
  shift
  if cgroup_v2_only; then
    mkdir "/sys/fs/cgroup/$name"
    SHIMCG_MADE+=("/sys/fs/cgroup/$name")
    return
  fi
  for c in ${@:-$SHIMCG_CONTROLLERS}; do
    mkdir "/sys/fs/cgroup/$c/$name"
    SHIMCG_MADE+=("/sys/fs/cgroup/$c/$name")
  done
}

# shimcg_expect PID NAME REFERENCE_PID: PID runs in /NAME where the test made it, and where it
# did not, in the same cgroup as REFERENCE_PID (the process that ran `start`).
shimcg_expect() {
  local pid=$1 name=$2 ref=$3 line ctrls path want
  cat "/proc/$pid/cgroup"
  while IFS=: read -r _ ctrls path; do
    want=$(awk -F: -v c="$ctrls" '$2 == c { print $3 }' "/proc/$ref/cgroup")
    if cgroup_v2_only || [[ " $SHIMCG_CONTROLLERS name=systemd " == *" ${ctrls} "* && -n "$ctrls" ]]; then
      want=/$name
    fi
    [ "$path" = "$want" ] || { echo "$ctrls: $path, want $want" >&2; return 1; }
  done < "/proc/$pid/cgroup"
}

# A containerd.runc.v1.Options Any with shim_cgroup = $1 (shorter than 126 bytes), as containerd
# writes it on `start`'s stdin.
runc_options_any() {
  printf "\\x0a\\x1acontainerd.runc.v1.Options\\x12\\x$(printf %02x $((${#1} + 2)))\\x1a\\x$(printf %02x ${#1})%s" "$1"
}

# hand_start SHIM ANY_FILE: `SHIM start` in bundle $BUNDLE as containerd runs it, in a private
# mount namespace with its own /run (the runc shim's socket goes to /run/containerd/s).
hand_start() {
  run_timeout 20 unshare -m --propagation private -- /bin/sh -c \
    'mount -t tmpfs tmpfs /run && cd "$1" && exec "$2" -namespace "$3" -address "$4" -publish-binary /usr/bin/containerd -id "$5" start < "$6" 2>&1' \
    hand_start "$BUNDLE" "$1" "$NS" "$ADDR" "${BUNDLE##*/}" "$2"
}

runc_daemon_pids() {
  pgrep -f -- "containerd-shim-runc-v2 -namespace $NS -id " || true
}

@test "ShimCgroup from --runtime-config-path: the daemon runs in it, the container does not" {
  shimcg_make "$SHIMCG"
  printf 'ShimCgroup = "/%s"\n' "$SHIMCG" > "$BATS_TEST_TMPDIR/wedge.toml"
  run_timeout 60 ctr_ run -d --runtime "$WEDGE_RT" --runtime-config-path "$BATS_TEST_TMPDIR/wedge.toml" \
    "$CTRD_IMAGE" shimcg sleep 600
  echo "$output"
  [ "$status" -eq 0 ]
  shim=$(containerd_shim_pid shimcg)
  shimcg_expect "$shim" "$SHIMCG" "$CTRD_PID"
  init=$(ctr_ task ls | awk '$1 == "shimcg" { print $2 }')
  ! grep -q "/$SHIMCG\$" "/proc/$init/cgroup"
  grep -q ":/$CTRD_NS/shimcg\$" "/proc/$init/cgroup"

  run_timeout 30 ctr_ task kill -s SIGKILL shimcg
  run_timeout 30 ctr_ task delete shimcg
  run_timeout 30 ctr_ container rm shimcg
  [ "$status" -eq 0 ]
}

@test "a ShimCgroup that does not exist fails the task with the reason and leaves no shim" {
  printf 'ShimCgroup = "/%s"\n' "$SHIMCG" > "$BATS_TEST_TMPDIR/wedge.toml"
  run_timeout 60 ctr_ run -d --runtime "$WEDGE_RT" --runtime-config-path "$BATS_TEST_TMPDIR/wedge.toml" \
    "$CTRD_IMAGE" shimcg-none sleep 600
  echo "$output"
  [ "$status" -ne 0 ]
  if cgroup_v2_only; then
    [[ "$output" == *"failed to join cgroup /$SHIMCG: open /sys/fs/cgroup/$SHIMCG/cgroup.procs: No such file or directory"* ]]
  else
    [[ "$output" == *"failed to load cgroup /$SHIMCG: it exists in no cgroup v1 hierarchy under /sys/fs/cgroup"* ]]
  fi
  [ ! -e "/sys/fs/cgroup/memory/$SHIMCG" ] && [ ! -e "/sys/fs/cgroup/$SHIMCG" ]
  run_timeout 30 ctr_ container rm shimcg-none
  [ "$status" -eq 0 ]
}

@test "shim_cgroup in the options message: both shims move their new daemon there alike" {
  shimcg_make "$SHIMCG"
  runc_options_any "/$SHIMCG" > "$TMP/any.bin"
  for shim in "$RUNC_SHIM" "$SHIM"; do
    make_bundle "c$((++n))"
    hand_start "$shim" "$TMP/any.bin"
    echo "$shim: $output"
    [ "$status" -eq 0 ]
    [[ "$output" == unix://* ]]
  done
  runc_pid=$(runc_daemon_pids)
  wedge_pid=$(daemon_pids)
  [ -n "$runc_pid" ] && [ -n "$wedge_pid" ]
  shimcg_expect "$runc_pid" "$SHIMCG" $$
  shimcg_expect "$wedge_pid" "$SHIMCG" $$
  [ "$(cat "/proc/$runc_pid/cgroup")" = "$(cat "/proc/$wedge_pid/cgroup")" ]
  kill_and_wait KILL "$runc_pid" "$wedge_pid"
}

# The runc shim's reasons are Go's ("cgroups: cgroup deleted", "no space left on device");
# wedge's say the same in its words. Both exit 1 and leave no daemon.
@test "a cgroup that cannot be joined fails start for both shims, and no daemon is left" {
  runc_options_any "/$SHIMCG" > "$TMP/any.bin"
  make_bundle c-runc
  hand_start "$RUNC_SHIM" "$TMP/any.bin"
  echo "runc: $output"
  [ "$status" -eq 1 ]
  make_bundle c-wedge
  hand_start "$SHIM" "$TMP/any.bin"
  echo "wedge: $output"
  [ "$status" -eq 1 ]
  if cgroup_v2_only; then
    [ "$output" = "io.containerd.wedge.v2: failed to join cgroup /$SHIMCG: open /sys/fs/cgroup/$SHIMCG/cgroup.procs: No such file or directory" ]
  else
    [ "$output" = "io.containerd.wedge.v2: failed to load cgroup /$SHIMCG: it exists in no cgroup v1 hierarchy under /sys/fs/cgroup (the shim joins a cgroup, it does not create one)" ]
  fi
  [ -z "$(runc_daemon_pids)" ] && [ -z "$(daemon_pids)" ]

  # One that exists but refuses the process: on v1 a cpuset cgroup without cpus (ENOSPC); on v2
  # a cgroup with a domain controller enabled for its children (no processes in inner nodes:
  # EBUSY; with threaded controllers alone, such as pids, it could still be a thread root).
  if cgroup_v2_only; then
    shimcg_make "$SHIMCG"
    shimcg_make "$SHIMCG/child"
    echo +memory > "/sys/fs/cgroup/$SHIMCG/cgroup.subtree_control"
    reason="Device or resource busy"
  else
    shimcg_make "$SHIMCG" cpuset
    reason="No space left on device"
  fi
  for shim in "$RUNC_SHIM" "$SHIM"; do
    make_bundle "d$((++n))"
    hand_start "$shim" "$TMP/any.bin"
    echo "$shim: $output"
    [ "$status" -eq 1 ]
    [[ "$output" == *": failed to join cgroup /$SHIMCG: "*"/$SHIMCG/cgroup.procs: "* ]]
    [[ "${output,,}" == *"${reason,,}" ]]
  done
  [ -z "$(runc_daemon_pids)" ] && [ -z "$(daemon_pids)" ]
}
