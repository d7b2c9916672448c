#!/usr/bin/env bats
# The shim's socket file in /run/containerd/s (docs/reliability.md, "Sockets"): there while a
# daemon serves, gone once it exits, also when it was killed. /run/containerd/s here is the
# private containerd's own (tests/helpers/containerd.bash binds CTRD_DIR/run over /run), and
# the harness' leak check after every test fails on anything left in it.

load ../helpers/common
load ../helpers/containerd
load ../helpers/shim-suite

# The address the shim of task $1 printed, as the bundle keeps it: containerd 2.x writes the
# bootstrap params it read into bootstrap.json (and 2.1.4's runc shim writes no `address` file),
# 1.x reads the shim's `address` file.
task_address() {
  local bundle=$CTRD_DIR/state/io.containerd.runtime.v2.task/$CTRD_NS/$1
  if [ -f "$bundle/bootstrap.json" ]; then
    jq -er .address "$bundle/bootstrap.json"
  else
    cat "$bundle/address"
  fi
}

# runc_debug_socket ID: containerd 2.x's runc shim, started with -debug (as containerd starts
# its shims when its log level is debug, as here), also listens on a debug socket:
# /run/containerd/s/<sha256 of "<containerd address>/<namespace>/<ID or group>/debug"> (2.1.4
# pkg/shim SocketAddress). Its path as the host sees it.
runc_debug_socket() {
  echo "$CTRD_DIR/run/containerd/s/$(printf '%s' "$CTRD_SOCK/$CTRD_NS/$1/debug" | sha256sum | cut -d' ' -f1)"
}

# shim_sockets ID: containerd_shim_sockets without the runc shim's debug socket of ID.
shim_sockets() {
  containerd_shim_sockets | grep -vxF "$(runc_debug_socket "$1")"
}

# no_socket_left: once every shim has exited (containerd answers before its shim's loop ends,
# and the daemon removes its socket as its loop ends), nothing is in /run/containerd/s.
no_socket_left() {
  wait_for '[ -z "$(containerd_shim_pids)" ]' 10
  [ -z "$(containerd_shim_sockets)" ]
}

# run_grouped RT GROUP ID...: one container per ID on runtime RT, all in shim group GROUP
# (the io.containerd.runc.v2.group annotation, which both shims honour), one shim for them all.
run_grouped() {
  local rt=$1 group=$2 id
  shift 2
  for id in "$@"; do
    run_timeout 60 ctr_ run -d --runtime "$rt" --annotation "io.containerd.runc.v2.group=$group" \
      "$CTRD_IMAGE" "$id" sleep 600
    [ "$status" -eq 0 ]
  done
  [ "$(containerd_shim_pids | wc -w)" -eq 1 ]
}

@test "ctr run --rm leaves no socket, for either runtime" {
  both rm run --rm --runtime RT "$CTRD_IMAGE" ID echo hi
  [ "$RC_wedge" -eq 0 ]
  [ "$RC_runc" -eq 0 ]
  no_socket_left
}

@test "run -d: the socket is the printed address while the task runs; kill and delete remove it" {
  local rt short id address
  for rt in $RUNC_RT $WEDGE_RT; do
    short=${rt#io.containerd.}
    short=${short%.v2}
    id=sock-$short
    run_timeout 60 ctr_ run -d --runtime "$rt" "$CTRD_IMAGE" "$id" sleep 600
    [ "$status" -eq 0 ]
    address=$(task_address "$id")
    [[ "$address" == unix:///run/containerd/s/* ]]
    [ "$(shim_sockets "$id")" = "$CTRD_DIR${address#unix://}" ]
    [ -S "$CTRD_DIR${address#unix://}" ]
    stop_and_remove "$id"
    no_socket_left
  done
}

@test "a grouped shim keeps one socket while any of its containers is there, and removes it after the last" {
  local rt short a b address
  for rt in $RUNC_RT $WEDGE_RT; do
    short=${rt#io.containerd.}
    short=${short%.v2}
    a=grp-a-$short
    b=grp-b-$short
    run_grouped "$rt" "g-$short" "$a" "$b"
    address=$(task_address "$a")
    [ "$(task_address "$b")" = "$address" ]
    [ "$(shim_sockets "g-$short")" = "$CTRD_DIR${address#unix://}" ]

    # The first delete is followed by a Shutdown the shim declines and a `delete` of the shim
    # binary (containerd runs it after every disconnect): the socket must stay for the other.
    stop_and_remove "$a"
    [ "$(shim_sockets "g-$short")" = "$CTRD_DIR${address#unix://}" ]
    run_timeout 30 ctr_ task exec --exec-id still "$b" echo still-served
    [ "$status" -eq 0 ]
    [ "$output" = still-served ]

    stop_and_remove "$b"
    no_socket_left
  done
}

@test "a SIGKILLed grouped shim: containerd's cleanup (the shim's delete) removes its socket; runc's stays" {
  local rt short a b shim address
  for rt in $RUNC_RT $WEDGE_RT; do
    short=${rt#io.containerd.}
    short=${short%.v2}
    a=killed-a-$short
    b=killed-b-$short
    run_grouped "$rt" "k-$short" "$a" "$b"
    address=$(task_address "$a")
    shim=$(containerd_shim_pids)

    kill_and_wait KILL "$shim"
    # containerd notices the hang-up and, for each task of the shim, runs `<shim> delete` and
    # then drops the task from its list (1.6.20 runtime/v2/shim.go cleanupAfterDeadShim).
    wait_for "[ -z \"\$(task_status $a)\" ] && [ -z \"\$(task_status $b)\" ]" 60
    if [ "$rt" = "$WEDGE_RT" ]; then
      no_socket_left
    else
      # containerd-shim-runc-v2 1.6.20's delete (manager.Stop) leaves the file of a dead shim:
      # measured here, the difference docs/compat.md lists. Removed by hand so that the rest of
      # the check stays exact.
      # So does 2.1.4's with its debug socket.
      [ "$(shim_sockets "k-$short")" = "$CTRD_DIR${address#unix://}" ]
      rm -f "$CTRD_DIR${address#unix://}" "$(runc_debug_socket "k-$short")"
    fi
    run_timeout 30 ctr_ container delete "$a" "$b"
    [ "$status" -eq 0 ]
  done
}
