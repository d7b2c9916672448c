#!/usr/bin/env bats
# The real shim daemon's ttrpc server against malformed and hostile input (ttrpc v1.1.1 server.go
# `serverConn.run`, services.go `serviceSet.resolve`; docs/protocol.md): each
# probe runs on a connection of its own (tests/helpers/ttrpc_probe.py), gets the reply Go ttrpc
# would give or a closed connection, and afterwards a well-formed Connect on a fresh connection
# still gets the daemon's pid. No containerd is needed: `start` is run as shim-start.bats does.

load ../helpers/shim

PROBE="$BATS_TEST_DIRNAME/../helpers/ttrpc_probe.py"

setup_file() {
  shim_setup_file python3 sha256sum timeout
}

setup() {
  shim_setup
  make_bundle c1
  local address
  address=$(shim_start "$BUNDLE" c1)
  [ "$address" = "$(expected_address c1)" ]
  SOCK=${address#unix://}
  DAEMON=$(daemon_pids)
  [ "$(echo "$DAEMON" | wc -w)" -eq 1 ]
}

teardown() {
  shim_teardown
}

probe() { # case [arg]
  run timeout 30 python3 "$PROBE" "$SOCK" "$@"
  echo "probe $*: status $status"
  echo "$output"
}

# The daemon still serves a fresh connection and is the same process.
daemon_still_serves() {
  probe connect c1
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "reply sid=3 type=2 code=0 message= payload=$(printf '08%s' "$(pid_varint "$DAEMON")")" ]
  [ "${lines[1]}" = "connect shim_pid=$DAEMON task_pid=0" ]
  kill -0 "$DAEMON"
  [ "$(daemon_pids)" = "$DAEMON" ]
}

pid_varint() { # n: protobuf varint, hex
  python3 -c 'import sys
v = int(sys.argv[1]); out = ""
while True:
    b = v & 0x7f; v >>= 7
    out += "%02x" % (b | (0x80 if v else 0))
    if not v: break
print(out)' "$1"
}

@test "the probe's Connect request is containerd 1.6.20's bytes (task c2, docs/protocol.md)" {
  run env PYTHONDONTWRITEBYTECODE=1 python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import ttrpc_probe as p
print(p.frame(3, p.request(p.TASK, b"Connect", p.field(1, b"c2"))).hex())' "$(dirname "$PROBE")"
  [ "$status" -eq 0 ]
  [ "$output" = 000000280000000301000a17636f6e7461696e6572642e7461736b2e76322e5461736b1207436f6e6e6563741a040a026332 ]
}

@test "a truncated header closes the connection without a reply" {
  probe truncated-header
  [ "$status" -eq 0 ]
  [ "$output" = closed ]
  daemon_still_serves
}

@test "a header announcing 5 MiB closes the connection before any body is sent" {
  probe oversize
  [ "$status" -eq 0 ]
  [ "$output" = closed ]
  daemon_still_serves
}

# Every line is a reply with one of `codes` or "closed"; every connection ends closed.
replies_then_closed() { # connections codes-regex
  local line closed=0
  for line in "${lines[@]}"; do
    if [ "$line" = closed ]; then
      closed=$((closed + 1))
    else
      [[ "$line" =~ ^reply\ sid=[0-9]+\ type=2\ code=($2)\  ]] || { echo "unexpected: $line"; return 1; }
    fi
  done
  [ "$closed" -eq "$1" ]
}

@test "1000 bytes of garbage on each of 20 connections: each closed, the daemon unharmed" {
  probe garbage 1 20
  [ "$status" -eq 0 ]
  replies_then_closed 20 '3|12|13'
  daemon_still_serves
}

@test "garbage frames on each of 30 connections: only error replies, then closed" {
  probe garbage-frames 1 30
  [ "$status" -eq 0 ]
  # InvalidArgument (undecodable Request or payload, even id), Unimplemented (unknown method,
  # streaming flag), Internal (undecodable method payload); NotFound or OK only if a junk payload
  # happens to decode to a request for an unknown id or a Connect.
  replies_then_closed 30 '0|3|5|12|13'
  # The seeds are fixed: make sure the run reached past the frame reader.
  [[ "$output" == *" code=3 "* && "$output" == *" code=12 "* && "$output" == *" code=13 "* ]]
  daemon_still_serves
}

@test "an even stream id gets InvalidArgument and the connection stays usable" {
  probe even-sid c1
  [ "$status" -eq 0 ]
  [ "${lines[0]}" = "reply sid=2 type=2 code=3 message=StreamID must be odd for client initiated streams payload=" ]
  [ "${lines[2]}" = "connect shim_pid=$DAEMON task_pid=0" ]
  daemon_still_serves
}

# probe_replies CASE PATTERN: the probe's one reply on stream 1 has no payload and matches the
# glob PATTERN ("<code> <message>").
probe_replies() {
  probe "$1"
  [ "$status" -eq 0 ]
  [[ "$output" == "reply sid=1 type=2 code="$2" payload=" ]]
}

@test "an unknown method or service gets Unimplemented with Go ttrpc's text" {
  probe_replies unknown-method '12 message=method NoSuchMethod'
  probe_replies unknown-service '12 message=service no.such.Service'
  daemon_still_serves
}

@test "a Request that does not decode gets InvalidArgument, a State payload that does not, Internal" {
  probe_replies bad-request '3 message=unmarshal request error: invalid ttrpc.Request'
  # Go ttrpc's unmarshal wrapper: Internal "ttrpc: error unmarshalling payload: ...".
  probe_replies bad-payload '13 message=ttrpc: error unmarshalling payload: *'
  daemon_still_serves
}

@test "half a frame, the connection held open: other connections are still answered" {
  probe half-frame c1
  [ "$status" -eq 0 ]
  [ "${lines[1]}" = "connect shim_pid=$DAEMON task_pid=0" ]
  daemon_still_serves
}

@test "a thousand requests in flight on one connection: every one answered once" {
  probe in-flight 1000 c1
  [ "$status" -eq 0 ]
  [ "$output" = "in-flight sent=1000 replies=1000 distinct=1000 errors=0" ]
  daemon_still_serves
}

# The probe as another user: a copy it can read in a directory it can enter, run by the
# system python3 (root's PATH may lead to a python under /root).
probe_as_nobody() { # case [arg]
  local copy=$TMP/nobody/ttrpc_probe.py
  mkdir -p "$TMP/nobody"
  cp "$PROBE" "$copy"
  chmod 0755 "$TMP" "$TMP/nobody"
  chmod 0644 "$copy"
  run timeout 30 setpriv --reuid 65534 --regid 65534 --clear-groups /usr/bin/python3 "$copy" "$SOCK" "$@"
  echo "probe as 65534 $*: status $status"
  echo "$output"
}

# containerd's shims listen on a path (unix:///run/containerd/s/<sha256>) since 1.4.3 moved them
# off abstract sockets (CVE-2020-15257: any process in the host network namespace could dial
# one); wedge does the same, and ttrpc's same-user check stands behind the file modes.
@test "the socket is root's alone; a connection from another uid is refused and logged" {
  [[ "$(ls -l "$SOCK")" == srw-------* ]]
  [ "$(stat -c %a "${SOCK%/*}")" = 700 ]
  ! grep -q "@.*${SOCK##*/}" /proc/net/unix
  probe_as_nobody connect c1
  [ "$status" -eq 0 ]
  [ "$output" = "dial-error EACCES" ]

  # Past the modes (as if someone loosened them), SO_PEERCRED still refuses, and the log says who.
  chmod 0755 "${SOCK%/*}"
  chmod 0666 "$SOCK"
  probe_as_nobody connect c1
  [ "$status" -eq 0 ]
  [ "$output" = closed ]
  timeout 2 dd if="$BUNDLE/log" iflag=nonblock bs=64k count=1 2>/dev/null > "$TMP/log.txt" || true
  cat "$TMP/log.txt"
  grep -q 'level=warning msg="ttrpc: refusing connection from pid [0-9]*: uid 65534 gid 65534, expected uid 0 gid 0"' "$TMP/log.txt"
  daemon_still_serves
}

# ctr validates ids itself, so these come straight over ttrpc: containerd's identifier rules
# (ident.h), InvalidArgument, and nothing written or run.
@test "a bad container id, exec id or bundle gets InvalidArgument and creates nothing" {
  local before after
  before=$(ls -A "$BUNDLE")
  probe create ../evil "$BUNDLE"
  [ "$status" -eq 0 ]
  [ "$output" = 'reply sid=1 type=2 code=3 message=container id: identifier "../evil" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument payload=' ]
  probe create "$(printf 'x%.0s' $(seq 1 77))" "$BUNDLE"
  [[ "$output" == *" code=3 message=container id: identifier \"xxx"*"\" greater than maximum length (76 characters): invalid argument payload=" ]]
  probe create -h "$BUNDLE"
  [[ "$output" == "reply sid=1 type=2 code=3 "* ]]
  probe create c1 "$BUNDLE/../../etc"
  [[ "$output" == "reply sid=1 type=2 code=3 message=bundle path $BUNDLE/../../etc: has a \"..\" component: invalid argument payload=" ]]
  # protobuf-c would hand "c2\0/../x" over as "c2": refused on the raw bytes.
  probe create-nul c2 "$BUNDLE"
  [ "$output" = 'reply sid=1 type=2 code=3 message=containerd.task.v2.CreateTaskRequest: field id holds a NUL byte payload=' ]
  probe exec c1 ../../e1
  [[ "$output" == "reply sid=1 type=2 code=3 message=exec id: identifier \"../../e1\" must match "* ]]
  after=$(ls -A "$BUNDLE")
  [ "$before" = "$after" ]
  [ ! -e "$BUNDLE/options.json" ]
  daemon_still_serves
}
