#!/usr/bin/env bats
# The shim daemon's own lifetime, without containerd (helpers/shim.bash plays its part): a
# Create that never comes, and Delete answered twice and flushed before Shutdown closes the
# socket (docs/reliability.md, "Exits, restarts and kills").

load ../helpers/shim
load ../helpers/common

PROBE="$BATS_TEST_DIRNAME/../helpers/ttrpc_probe.py"

setup_file() {
  shim_setup_file python3 sha256sum timeout runc jq
}

setup() {
  shim_setup
}

teardown() {
  shim_teardown
}

@test "a daemon whose Create never comes exits after WEDGE_SHIM_CREATE_TIMEOUT and removes its socket" {
  make_bundle c1
  local address sock daemon
  address=$(WEDGE_SHIM_CREATE_TIMEOUT=2 shim_start "$BUNDLE" c1)
  [ "$address" = "$(expected_address c1)" ]
  sock=${address#unix://}
  daemon=$(daemon_pids)
  [ -n "$daemon" ]
  is_listening "$sock"
  # containerd died between `start` and Create: nobody will send Shutdown.
  wait_for '[ -z "$(daemon_pids)" ]' 60
  [ ! -e "$sock" ]
  run is_listening "$sock"
  [ "$status" -ne 0 ]
}

@test "a second Delete returns the stored exit; Delete, Delete, Shutdown pipelined all answered before the close" {
  make_bundle c1
  "$BATS_TEST_DIRNAME/../helpers/make-bundle.sh" "$BUNDLE" sh -c 'exit 3' >/dev/null
  local address sock root=$TMP/runc
  address=$(shim_start "$BUNDLE" c1)
  sock=${address#unix://}
  run timeout 90 python3 "$PROBE" "$sock" delete-twice c1 "$BUNDLE" "$root"
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -eq 7 ]
  [[ "${lines[0]}" == "reply sid=1 type=2 code=0 "* ]]
  [[ "${lines[1]}" == "reply sid=3 type=2 code=0 "* ]]
  # WaitResponse: exit_status (field 1) = 3.
  [[ "${lines[2]}" == "reply sid=5 type=2 code=0 message= payload=0803"* ]]
  # DeleteResponse: pid (1), exit_status (2) = 3, exited_at (3); the second is the first again.
  [[ "${lines[3]}" == "reply sid=7 type=2 code=0 message= payload=08"* ]]
  [[ "${lines[3]}" == *"1003"* ]]
  [ "${lines[4]#reply sid=9 }" = "${lines[3]#reply sid=7 }" ]
  [ "${lines[5]}" = "reply sid=11 type=2 code=0 message= payload=" ]
  [ "${lines[6]}" = closed ]
  wait_for '[ -z "$(daemon_pids)" ]' 30
  [ ! -e "$sock" ]
  [ ! -e "$BUNDLE/wedge-exit.json" ]
  leak_check "$TMP" "$root/$NS"
}
