#!/usr/bin/env bats
# containerd-shim-wedge-v2 driving crun 1.8.1, side by side with io.containerd.runc.v2 driving
# crun, under a private containerd started by `containerd_start crun` (its own mount namespace
# without the cgroup2 mount crun refuses in hybrid mode; see tests/helpers/containerd.bash for
# how each shim is pointed at crun). The same user-visible checks as shim.bats, on the paths
# where the runtime matters: create/start/exit codes, output, exec, pause/resume, kill, delete,
# events, the idmap refusal.

load ../helpers/common
load ../helpers/containerd
load ../helpers/shim-suite
load ../helpers/tty

setup_file() {
  shim_suite_setup_file crun
  tty_setup
}

teardown() {
  tty_teardown
  containerd_leak_check
}

# crun leaves its state in <root>/<id>/status; the runc shim's root is <root>/<ns>.
crun_state_of() {
  [ -e "$CTRD_DIR/run/containerd/runc/$CTRD_NS/$1/status" ]
}

@test "crun: ctr run --rm echo hi, exit codes and output match runc.v2" {
  local rt
  for rt in $RUNC_RT $WEDGE_RT; do
    run_timeout 60 ctr_ run --rm --runtime "$rt" "$CTRD_IMAGE" "hi-${rt//./-}" echo hi
    echo "$rt: $status $output"
    [ "$status" -eq 0 ]
    [ "$output" = hi ]

    run_timeout 60 ctr_ run --rm --runtime "$rt" "$CTRD_IMAGE" "exit-${rt//./-}" sh -c 'seq 1 50000; exit 5'
    [ "$status" -eq 5 ]
    [ "$(wc -l <<<"$output")" -eq 50000 ]
  done
}

@test "crun: run -d, exec, pause/resume, kill, delete through wedge" {
  local rt id
  for rt in $RUNC_RT $WEDGE_RT; do
    id=detach-${rt//./-}
    run_timeout 60 ctr_ run -d --runtime "$rt" "$CTRD_IMAGE" "$id" sleep 600
    [ "$status" -eq 0 ]
    [ "$(task_status "$id")" = RUNNING ]
    # It really is crun that runs it: crun's state file, which runc does not write.
    crun_state_of "$id"

    run_timeout 30 ctr_ task exec --exec-id e1 "$id" sh -c 'echo in-exec; exit 4'
    [ "$status" -eq 4 ]
    [ "$output" = in-exec ]

    run_timeout 30 ctr_ task pause "$id"
    [ "$status" -eq 0 ]
    [ "$(task_status "$id")" = PAUSED ]
    run_timeout 30 ctr_ task resume "$id"
    [ "$status" -eq 0 ]
    [ "$(task_status "$id")" = RUNNING ]

    stop_and_remove "$id"
  done
}

@test "crun: an idmapped mount is refused as crun 1.8.1 cannot say it supports it" {
  local cfg=$WEDGE_TEST_DIR/idmap-config.json
  "$WEDGE_SOURCE/tests/helpers/make-bundle.sh" "$WEDGE_TEST_DIR/idmap-bundle" /bin/true >/dev/null
  jq --arg root "$WEDGE_TEST_DIR/idmap-bundle/rootfs" '
      .root.path = $root
      | .mounts += [{"destination": "/mnt", "type": "bind", "source": "/tmp",
                     "options": ["rbind"],
                     "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
                     "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}]' \
    "$WEDGE_TEST_DIR/idmap-bundle/config.json" >"$cfg"
  run_timeout 60 ctr_ run --rm --runtime "$WEDGE_RT" --config "$cfg" idmap-crun
  echo "$status $output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"runtime runc would silently ignore what config.json asks for"* ]] ||
    [[ "$output" == *"too old"* ]]
  [[ "$output" == *"mounts["*"].uidMappings (/mnt)"* ]]
  run_timeout 30 ctr_ container rm idmap-crun
}

# crun sends the pty master with a one-space payload where runc sends "/dev/ptmx" (crun 1.8.1
# src/libcrun/utils.c `send_fd_to_socket_with_payload`, runc 1.1.5 libcontainer/utils/cmsg.go
# `SendFd`); the same shell session as parity-tty.bats, and the fds of a tty exec.
@test "crun: run -t and exec -t in a terminal, as with runc.v2" {
  local rt short binary
  for rt in $RUNC_RT $WEDGE_RT; do
    short=crun-$(tr . - <<<"$rt")
    # ctr passes a runtime binary to runc.v2 only; wedge finds crun as `runc` on its PATH.
    binary=()
    [ "$rt" = "$RUNC_RT" ] && binary=(--runc-binary crun)
    tty_ctr "run-$short" 100 30 run "${binary[@]}" -t --rm --runtime "$rt" "$CTRD_IMAGE" "tty-$short" sh
    tty_shell_session "run-$short" 3
    run tty_ctr_status "run-$short" 30
    echo "$rt: run -t exit status $output"
    [ "$output" = 3 ]

    run_timeout 60 ctr_ run -d --runtime "$rt" "$CTRD_IMAGE" "ttyx-$short" sleep 600
    [ "$status" -eq 0 ]
    crun_state_of "ttyx-$short"
    tty_ctr "exec-$short" 120 30 task exec -t --exec-id ls1 "ttyx-$short" ls -l /proc/self/fd
    run tty_ctr_status "exec-$short" 60
    [ "$output" = 0 ]
    run tty_fd_lines "exec-$short"
    echo "$rt: exec -t fds:"$'\n'"$output"
    [ "$output" = "$TTY_FDS_EXPECTED" ]
    run_timeout 30 ctr_ task kill -s SIGKILL "ttyx-$short"
    wait_for "[ \"\$(task_status ttyx-$short)\" = STOPPED ]" 20
    run_timeout 30 ctr_ task delete "ttyx-$short"
    run_timeout 30 ctr_ container rm "ttyx-$short"
    [ "$status" -eq 0 ]
  done
}
