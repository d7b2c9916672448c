#!/usr/bin/env bats
# containerd-shim-wedge-v2 `start` and `delete` as containerd 1.6.20 runs them (runtime/v2/binary.go
# `binary.Start`, `binary.Delete`; docs/protocol.md).
# No containerd is needed: the tests play its part (bundle, log FIFO held O_RDWR, argv, stdin).
# Sockets go to a private directory through WEDGE_SHIM_SOCKET_DIR, never /run/containerd.

load ../helpers/shim

setup_file() {
  shim_setup_file sha256sum protoc timeout
}

setup() {
  shim_setup
}

teardown() {
  shim_teardown
}

wait_until() { # seconds command...
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.05
  done
}

@test "start prints only the sha256-named address, writes it, and leaves a listening 0600 socket" {
  make_bundle c1; b=$BUNDLE
  run shim_start "$b" c1 -debug
  [ "$status" -eq 0 ]
  [ "$output" = "$(expected_address c1)" ]
  [ "$(cat "$b/address")" = "$output" ]
  [ ! -e "$b/.address" ]

  sock=${output#unix://}
  [ -S "$sock" ]
  [ "$(stat -c %a "$sock")" = 600 ]
  is_listening "$sock"

  pids=$(daemon_pids)
  [ "$(echo "$pids" | wc -w)" -eq 1 ]
  # The daemon: own session, cwd = bundle, fds 0-1 on /dev/null (not the start pipe), the socket
  # as fd 3, the log FIFO as fd 4 and dup'ed over fd 2 as the runc shim does, nothing else.
  [ "$(ps -o sid= -p "$pids" | tr -d ' ')" = "$pids" ]
  [ "$(readlink /proc/$pids/cwd)" = "$b" ]
  for fd in 0 1; do [ "$(readlink /proc/$pids/fd/$fd)" = /dev/null ]; done
  [ "$(readlink /proc/$pids/fd/2)" = "$b/log" ]
  [ "$(readlink /proc/$pids/fd/4)" = "$b/log" ]
  [[ "$(readlink /proc/$pids/fd/3)" == socket:* ]]
  [ "$(ls /proc/$pids/fd | sort -n | tr '\n' ' ')" = "0 1 2 3 4 5 6 7 8 " ] # 5, 6 = the loop's epoll and signalfd; 7, 8 = the ttrpc server's epoll and spare fd
  [ "$(tr '\0' ' ' < /proc/$pids/cmdline)" = "$(realpath "$SHIM") -namespace $NS -id c1 -address $ADDR -debug " ]
  [ "$(cat /proc/$pids/oom_score_adj)" -eq $(( $(cat /proc/$$/oom_score_adj) + 1 )) ]
}

@test "a second start for the same id reuses the running daemon" {
  make_bundle c1; b=$BUNDLE
  run shim_start "$b" c1
  [ "$status" -eq 0 ]
  first=$output
  pid=$(daemon_pids)

  rm "$b/address"
  run shim_start "$b" c1
  [ "$status" -eq 0 ]
  [ "$output" = "$first" ]
  [ "$(cat "$b/address")" = "$first" ]
  [ "$(daemon_pids)" = "$pid" ]
}

@test "containers of one group share a daemon; each bundle gets its own address file" {
  make_bundle c1 '{"io.kubernetes.cri.sandbox-id":"pod1"}'; b1=$BUNDLE
  make_bundle c2 '{"io.containerd.runc.v2.group":"grp","io.kubernetes.cri.sandbox-id":"pod1"}'; b2=$BUNDLE
  make_bundle c3 '{"io.containerd.runc.v2.group":"grp"}'; b3=$BUNDLE
  run shim_start "$b1" c1
  [ "$status" -eq 0 ]
  [ "$output" = "$(expected_address pod1)" ]
  run shim_start "$b2" c2
  [ "$output" = "$(expected_address grp)" ]
  run shim_start "$b3" c3
  [ "$output" = "$(expected_address grp)" ]
  [ "$(cat "$b3/address")" = "$(expected_address grp)" ]
  [ "$(daemon_pids | wc -w)" -eq 2 ]
}

@test "a stale socket file without a listener is replaced" {
  make_bundle c1; b=$BUNDLE
  sock=$(expected_address c1)
  sock=${sock#unix://}
  mkdir -p "$(dirname "$sock")"
  python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$sock"
  [ -S "$sock" ]
  ! is_listening "$sock"

  run shim_start "$b" c1
  [ "$status" -eq 0 ]
  [ "$output" = "unix://$sock" ]
  is_listening "$sock"
  [ "$(daemon_pids | wc -w)" -eq 1 ]
}

@test "start keeps the raw stdin bytes for the daemon and does not judge them" {
  make_bundle c1; b=$BUNDLE
  # An options Any as ctr sends it: 0a 1a "containerd.runc.v1.Options".
  printf '\x0a\x1acontainerd.runc.v1.Options' > "$TMP/any.bin"
  run bash -c "cd '$b' && timeout 10 '$SHIM' -namespace '$NS' -address '$ADDR' -id c1 start < '$TMP/any.bin' 2>&1"
  [ "$status" -eq 0 ]
  [ "$output" = "$(expected_address c1)" ]
  cmp "$TMP/any.bin" "$b/start-stdin"
}

@test "start and the daemon go on with unknown flags" {
  make_bundle c1; b=$BUNDLE
  run shim_start "$b" c1 -future-flag value --other=1
  [ "$status" -eq 0 ]
  [ "$output" = "$(expected_address c1)" ]
}

@test "start fails with the runc shim's message when the namespace is empty" {
  make_bundle c1; b=$BUNDLE
  run bash -c "cd '$b' && timeout 10 '$SHIM' -namespace '' -address '$ADDR' -id c1 start 2>&1"
  [ "$status" -eq 1 ]
  [ "$output" = "io.containerd.wedge.v2: shim namespace cannot be empty" ]
  [ -z "$(daemon_pids)" ]
}

# The namespace names a directory (<runtime root>/<ns>) and goes into the socket's hash:
# containerd only passes ones its identifiers.Validate accepted, so anything else is refused.
@test "start refuses a namespace containerd would not accept, and starts nothing" {
  make_bundle c1; b=$BUNDLE
  run bash -c "cd '$b' && timeout 10 '$SHIM' -namespace '../../etc' -address '$ADDR' -id c1 start 2>&1"
  [ "$status" -eq 1 ]
  [[ "$output" == 'io.containerd.wedge.v2: namespace: identifier "../../etc" must match ^[A-Za-z0-9]+'* ]]
  [ -z "$(daemon_pids)" ]
  [ ! -e "$b/address" ]
  [ ! -e "$WEDGE_SHIM_SOCKET_DIR" ] || [ -z "$(ls -A "$WEDGE_SHIM_SOCKET_DIR")" ]
}

@test "start fails without config.json and leaves nothing behind" {
  make_bundle c1; b=$BUNDLE
  rm "$b/config.json"
  run shim_start "$b" c1
  [ "$status" -eq 1 ]
  [[ "$output" == "io.containerd.wedge.v2: read config.json: No such file or directory" ]]
  [ -z "$(daemon_pids)" ]
  [ ! -e "$b/address" ]
}

@test "delete prints a DeleteResponse with exit status 137 within 5 s and exits 0" {
  make_bundle c1; b=$BUNDLE
  run shim_start "$b" c1
  [ "$status" -eq 0 ]

  start=$SECONDS
  (cd "$b" && timeout 5 "$SHIM" -namespace "$NS" -address "$ADDR" -publish-binary /usr/bin/containerd \
      -id c1 -bundle "$b" delete > "$TMP/delete.out" 2> "$TMP/delete.err")
  [ $((SECONDS - start)) -le 5 ]
  run protoc --decode_raw < "$TMP/delete.out"
  [ "$status" -eq 0 ]
  echo "$output"
  [ "${lines[0]}" = "1: 4294967295" ] # no init.pid: -1 as uint32, as the runc shim
  # The runc shim's bytes up to exited_at, as observed (docs/protocol.md): 08 ffffffff0f 10 8901 1a.
  [ "$(head -c 10 "$TMP/delete.out" | od -An -tx1 | tr -d ' \n')" = 08ffffffff0f1089011a ]
  [ "${lines[1]}" = "2: 137" ]
  [ "${lines[2]}" = "3 {" ]
  secs=$(echo "$output" | awk '/^  1: / { print $2 }')
  [ $(( $(date +%s) - secs )) -le 5 ]
  grep -q 'level=warning msg="failed to read init pid file"' "$TMP/delete.err"

  # delete does not stop a daemon (it may serve other containers of its group).
  [ "$(daemon_pids | wc -w)" -eq 1 ]
}

@test "delete reports init.pid and runs the runtime's delete --force with --root <root>/<ns>" {
  make_bundle c1; b=$BUNDLE
  echo 4242 > "$b/init.pid"
  cat > "$TMP/fake-runtime" <<EOS
#!/bin/sh
echo "\$@" > "$TMP/runtime.args"
echo "container does not exist" >&2
exit 1
EOS
  chmod +x "$TMP/fake-runtime"
  printf '%s' "$TMP/fake-runtime" > "$b/runtime"
  printf '{"root":"%s/rt"}' "$TMP" > "$b/options.json"
  mkdir -p "$TMP/rt/$NS/c1"

  (cd "$b" && timeout 5 "$SHIM" -namespace "$NS" -address "$ADDR" -id c1 -bundle "$b" delete \
      > "$TMP/delete.out" 2> "$TMP/delete.err")
  run protoc --decode_raw < "$TMP/delete.out"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "1: 4242" ]
  [ "${lines[1]}" = "2: 137" ]
  [ "$(cat "$TMP/runtime.args")" = "--root $TMP/rt/$NS delete --force c1" ]
  grep -q 'container does not exist' "$TMP/delete.err"
  grep -q 'level=warning msg="failed to remove runc container" error="' "$TMP/delete.err"
}

@test "delete does not start the runtime when it keeps no state for the container" {
  make_bundle c1; b=$BUNDLE
  echo 4242 > "$b/init.pid"
  cat > "$TMP/fake-runtime" <<EOS
#!/bin/sh
echo "\$@" > "$TMP/runtime.args"
EOS
  chmod +x "$TMP/fake-runtime"
  printf '%s' "$TMP/fake-runtime" > "$b/runtime"
  printf '{"root":"%s/rt"}' "$TMP" > "$b/options.json"
  mkdir -p "$TMP/rt/$NS"

  (cd "$b" && timeout 5 "$SHIM" -namespace "$NS" -address "$ADDR" -id c1 -bundle "$b" -debug delete \
      > "$TMP/delete.out" 2> "$TMP/delete.err")
  run protoc --decode_raw < "$TMP/delete.out"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "1: 4242" ]
  [ "${lines[1]}" = "2: 137" ]
  [ ! -e "$TMP/runtime.args" ]
  ! grep -q 'level=warning' "$TMP/delete.err"
  grep -q 'the runtime has no state for c1' "$TMP/delete.err"
}

@test "delete unmounts everything stacked on rootfs" {
  make_bundle c1; b=$BUNDLE
  mount -t tmpfs none "$b/rootfs"
  mount -t tmpfs none "$b/rootfs"
  (cd "$b" && timeout 5 "$SHIM" -namespace "$NS" -address "$ADDR" -id c1 -bundle "$b" delete >/dev/null 2>&1) || {
    umount "$b/rootfs"; umount "$b/rootfs"; false; }
  ! mountpoint -q "$b/rootfs"
}

@test "the daemon logs to the bundle's log FIFO and removes its socket on SIGTERM" {
  make_bundle c1; b=$BUNDLE
  run shim_start "$b" c1 -debug
  [ "$status" -eq 0 ]
  sock=${output#unix://}
  pid=$(daemon_pids)
  kill -TERM "$pid"
  wait_until 5 bash -c "! kill -0 $pid 2>/dev/null"
  [ ! -e "$sock" ]
  timeout 2 dd if="$b/log" iflag=nonblock bs=64k count=1 2>/dev/null > "$TMP/log.txt" || true
  grep -q '^time="[0-9T:.-]*\(Z\|[+-][0-9][0-9]:[0-9][0-9]\)" level=info msg="serving api on socket" runtime=io.containerd.wedge.v2$' "$TMP/log.txt"
  grep -q 'level=info msg="shutting down on signal Terminated" runtime=io.containerd.wedge.v2' "$TMP/log.txt"
}
