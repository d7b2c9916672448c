#!/usr/bin/env bats
# containerd 2.x at the protocol level, against what a real containerd 2.1.4 exchanged with its
# runc shim and with wedge (tests/fixtures/containerd-2.1.4, README there). CI has only
# containerd 1.6.20: no containerd runs here, the tests play 2.x's part.
#
# `start` tells 2.x from 1.x by the Go build information of its parent (containerd itself):
# the parent here is a copy of timeout(1) given a .go.buildinfo section (objcopy) that names
# containerd 2.x's main package, or 1.x's.

load ../helpers/common
load ../helpers/shim

FIXTURES=$BATS_TEST_DIRNAME/../fixtures/containerd-2.1.4

setup_file() {
  shim_setup_file sha256sum protoc python3 jq objcopy unshare timeout runc
}

setup() {
  shim_setup
}

teardown() {
  shim_teardown
}

# fake_containerd OUT MAIN_PACKAGE: a copy of timeout(1) whose Go build information says it was
# built from MAIN_PACKAGE, in the layout of Go 1.18+ (see lib/base/gobuildinfo.h).
fake_containerd() {
  python3 - "$TMP/buildinfo" "$2" <<'PY'
import sys
out, main = sys.argv[1], sys.argv[2].encode()
info = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6path\t" + main + b"\nbuild\t-compiler=gc\n"
def uvarint(n):
    b = b""
    while True:
        low, n = n & 0x7f, n >> 7
        b += bytes([low | (0x80 if n else 0)])
        if not n:
            return b
go = b"go1.23.5"
with open(out, "wb") as f:
    f.write(b"\xff Go buildinf:" + bytes([8, 2]) + bytes(16) + uvarint(len(go)) + go + uvarint(len(info)) + info)
PY
  objcopy --add-section .go.buildinfo="$TMP/buildinfo" "$(command -v timeout)" "$1"
}

# start_as_recorded PARENT BUNDLE [NAME=VALUE | -u NAME]...: `start` with the argv and
# environment containerd 2.1.4 gave it (our namespace and address in place of the recorded ones),
# a variable more or less, run by PARENT.
start_as_recorded() {
  local parent=$1 b=$2 i
  shift 2
  local -a argv env
  mapfile -t argv < "$FIXTURES/start-argv"
  for ((i = 0; i < ${#argv[@]}; i++)); do
    case ${argv[i]} in
      -namespace) argv[i + 1]=$NS ;;
      -address) argv[i + 1]=$ADDR ;;
    esac
  done
  mapfile -t env < "$FIXTURES/start-env"
  env=("${env[@]/#NAMESPACE=*/NAMESPACE=$NS}")
  env=("${env[@]/#GRPC_ADDRESS=*/GRPC_ADDRESS=$ADDR}")
  env=("${env[@]/#TTRPC_ADDRESS=*/TTRPC_ADDRESS=$ADDR.ttrpc}")
  while [ $# -gt 0 ]; do
    if [ "$1" = -u ]; then
      mapfile -t env < <(printf '%s\n' "${env[@]}" | grep -v "^$2=")
      shift 2
    else
      env+=("$1")
      shift
    fi
  done
  (cd "$b" && env "${env[@]}" "$parent" 10 "$SHIM" "${argv[@]}" </dev/null 2>&1)
}

recorded_id() {
  sed -n '/^-id$/{n;p;q}' "$FIXTURES/start-argv"
}

@test "the fixtures are containerd 2.1.4's: its start argv and environment, its runc shim's answer" {
  [ "$(tr '\n' ' ' < "$FIXTURES/start-argv")" = "-namespace hand -address /tmp/c2d/containerd.sock -publish-binary /work/c2/bin/containerd -id w1 -debug start " ]
  grep -qx MAX_SHIM_VERSION=2 "$FIXTURES/start-env"
  jq -e '.version == 3 and .protocol == "ttrpc" and (.address | startswith("unix:///run/containerd/s/"))' "$FIXTURES/start-stdout-runc"
  [ "$(tail -c 1 "$FIXTURES/start-stdout-runc")" = "}" ] # no newline
}

@test "start answers containerd 2.x with its runc shim's JSON bootstrap params, version 3" {
  id=$(recorded_id)
  fake_containerd "$TMP/containerd" github.com/containerd/containerd/v2/cmd/containerd
  make_bundle "$id"; b=$BUNDLE
  run start_as_recorded "$TMP/containerd" "$b"
  [ "$status" -eq 0 ]
  # Byte for byte the runc shim's answer, with our address in it.
  [ "$output" = "$(jq -cj --arg a "$(expected_address "$id")" '.address = $a' "$FIXTURES/start-stdout-runc")" ]
  # The address file stays bare: containerd 1.x reads it after a restart, 2.x its bootstrap.json.
  [ "$(cat "$b/address")" = "$(expected_address "$id")" ]
  is_listening "${WEDGE_SHIM_SOCKET_DIR}/$(basename "$(expected_address "$id")")"

  # A second start finds the running daemon and answers the same.
  run start_as_recorded "$TMP/containerd" "$b"
  [ "$status" -eq 0 ]
  [ "$(echo "$output" | jq -r .version)" = 3 ]
  [ "$(daemon_pids | wc -w)" -eq 1 ]
}

@test "start gives containerd 1.x the bare address, with or without MAX_SHIM_VERSION" {
  id=$(recorded_id)
  fake_containerd "$TMP/containerd" github.com/containerd/containerd/cmd/containerd
  make_bundle "$id"; b=$BUNDLE
  # 1.7: the same argv and environment as 2.x; it refuses version 3.
  run start_as_recorded "$TMP/containerd" "$b"
  [ "$status" -eq 0 ]
  [ "$output" = "$(expected_address "$id")" ]
  # 1.6: no MAX_SHIM_VERSION; it takes any output whole as the address.
  run start_as_recorded "$TMP/containerd" "$b" -u MAX_SHIM_VERSION
  [ "$output" = "$(expected_address "$id")" ]
  # A parent that is not a Go program: the bare address, which every containerd reads.
  run start_as_recorded timeout "$b"
  [ "$output" = "$(expected_address "$id")" ]
}

@test "WEDGE_SHIM_VERSION chooses the answer; another value is refused before anything starts" {
  id=$(recorded_id)
  fake_containerd "$TMP/containerd" github.com/containerd/containerd/v2/cmd/containerd
  make_bundle "$id"; b=$BUNDLE
  run start_as_recorded "$TMP/containerd" "$b" WEDGE_SHIM_VERSION=2
  [ "$output" = "$(expected_address "$id")" ]
  run start_as_recorded timeout "$b" WEDGE_SHIM_VERSION=3
  [ "$(echo "$output" | jq -r .version)" = 3 ]
  [ "$(echo "$output" | jq -r .address)" = "$(expected_address "$id")" ]
  kill -KILL $(daemon_pids)
  rm -rf "$WEDGE_SHIM_SOCKET_DIR" "$b/address"

  run start_as_recorded "$TMP/containerd" "$b" WEDGE_SHIM_VERSION=4
  [ "$status" -eq 1 ]
  [ "$output" = "io.containerd.wedge.v2: WEDGE_SHIM_VERSION=4: want 2 (bare address) or 3 (JSON bootstrap params)" ]
  [ -z "$(daemon_pids)" ]
  [ ! -e "$WEDGE_SHIM_SOCKET_DIR" ]
  [ ! -e "$b/address" ]
}

# -info with the request containerd 2.1.4 sent its runc shim for an idmapped container (the
# runc options Any, empty), in a private /run: the default cache is /run/containerd/runc.
@test "-info answers containerd 2.1.4's request as its runc shim did, but for name and version" {
  [[ "$(runc --version | head -1)" == "runc version 1.1.5"* ]] || skip "the recorded reply is runc 1.1.5's features"
  run_timeout 30 unshare -m --propagation private -- /bin/sh -c '
    mount -t tmpfs tmpfs /run && mkdir -p /run/containerd && exec "$1" -info <"$2" >"$3"' \
    sh "$SHIM" "$FIXTURES/info-stdin-runc-options" "$TMP/out"
  [ "$status" -eq 0 ]
  protoc --decode_raw <"$FIXTURES/info-stdout-runc" >"$TMP/runc.txt"
  protoc --decode_raw <"$TMP/out" >"$TMP/wedge.txt"
  # 1 name, 2 {1 version, 2 revision}: each shim's own. Everything else (3 the options echoed,
  # 4 the features Any with runc's document) is the same, byte for byte once decoded.
  grep -qx '1: "io.containerd.runc.v2"' "$TMP/runc.txt"
  grep -qx '1: "io.containerd.wedge.v2"' "$TMP/wedge.txt"
  strip_identity() { sed '1d' "$1" | awk '/^2 \{$/ { skip = 1; next } skip && /^\}$/ { skip = 0; next } !skip'; }
  [ "$(strip_identity "$TMP/wedge.txt")" = "$(strip_identity "$TMP/runc.txt")" ]
  grep -q '^3 {' "$TMP/wedge.txt"
  grep -q '^4 {' "$TMP/wedge.txt"
  # No mountExtensions.idmap in runc 1.1.5's features: containerd 2.x refuses an idmapped
  # mount with "idmap mounts not supported: missing `mountExtensions.idmap` entry in
  # `features` command", through either shim.
  ! grep -q mountExtensions "$TMP/wedge.txt"
}
