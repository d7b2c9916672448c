#!/usr/bin/env bats
# Faulty runtimes, seen through ctr on a private containerd 1.6.20: the runtime wedge runs is
# tests/helpers/fake-runtime (as `runc` first in containerd's PATH), which breaks one command per
# mode and hands everything else to the real runc. Each fault must give ctr a clear error and
# leave nothing behind (the harness' leak check after every test: no container, task, shim,
# runtime state, mount or cgroup).

load ../helpers/common
load ../helpers/containerd
load ../helpers/shim-suite

setup_file() {
  # containerd passes its environment to the shims: every runtime call of theirs is bounded by
  # 10 s here instead of the default two minutes, so the hang test is short.
  export WEDGE_RUNTIME_TIMEOUT_MS=10000
  shim_suite_setup_file runc
  ln -s "$WEDGE_SOURCE/tests/helpers/fake-runtime" "$CTRD_DIR/bin/runc"
  command -v runc > "$CTRD_DIR/bin/fake-runtime.real"
}

setup() {
  fake_mode none
}

teardown() {
  fake_mode none
  containerd_leak_check
}

fake_mode() {
  echo "$1" > "$CTRD_DIR/bin/fake-runtime.mode"
}

# run_fault ID [CMD...]: ctr run --rm of a busybox container under wedge; sets status/output.
run_fault() {
  local id=$1
  shift
  run_timeout 90 ctr_ run --rm --runtime "$WEDGE_RT" "$CTRD_IMAGE" "$id" "${@:-true}"
  echo "status $status output: $output"
}

@test "the fake runtime passes through when no fault is set" {
  run_fault fault-none echo through
  [ "$status" -eq 0 ]
  [ "$output" = through ]
}

@test "a runtime that crashes in create: ctr says it crashed and by which signal" {
  fake_mode create-crash
  run_fault fault-crash
  [ "$status" -ne 0 ]
  [[ "$output" == *"OCI runtime create failed: runc crashed (killed by signal 11 (Segmentation fault))"* ]]
}

@test "a runtime that hangs in create is killed after the timeout and ctr says so" {
  fake_mode create-hang
  local start=$SECONDS
  run_fault fault-hang
  [ "$status" -ne 0 ]
  [[ "$output" == *"OCI runtime create failed"*"did not finish within 10000 ms"* ]]
  [ $((SECONDS - start)) -ge 9 ]
  # The hung runtime was killed, not left behind (it ran with containerd's environment).
  local p
  for p in $(pgrep -x sleep); do
    ! grep -qzF "WEDGE_RUNTIME_TIMEOUT_MS=" "/proc/$p/environ" 2>/dev/null
  done
}

@test "garbage in log.json: the create fails with the exit status, not the garbage" {
  fake_mode create-log-garbage
  run_fault fault-garbage
  [ "$status" -ne 0 ]
  [[ "$output" == *"OCI runtime create failed: exit status 1"* ]]
  [[ "$output" != *"not json"* ]]
}

@test "a create that exits 0 without a pid file fails clearly and the half-made container is deleted" {
  fake_mode create-no-pidfile
  run_fault fault-nopid
  [ "$status" -ne 0 ]
  [[ "$output" == *"failed to retrieve OCI runtime container pid"* ]]
}

# ctr run leaves a task whose Start failed (it is CREATED, as with io.containerd.runc.v2): the
# user deletes it (--force: containerd refuses to delete a task that is not stopped), and that
# must clean everything.
delete_created() { # id
  [ "$(task_status "$1")" = CREATED ]
  run_timeout 60 ctr_ task delete --force "$1"
  echo "task delete: $status $output"
  [ "$status" -eq 0 ]
  run_timeout 30 ctr_ container rm "$1"
  [ "$status" -eq 0 ]
}

@test "an error on the runtime's stderr only (log.json empty) is the error ctr shows" {
  fake_mode start-stderr
  run_fault fault-stderr
  [ "$status" -ne 0 ]
  [[ "$output" == *"OCI runtime start failed: fake-runtime: start refused by policy"* ]]
  fake_mode none
  delete_created fault-stderr
}

@test "a runtime that fails silently: the error is its exit status" {
  fake_mode start-silent
  run_fault fault-silent
  [ "$status" -ne 0 ]
  [[ "$output" == *"OCI runtime start failed: exit status 3"* ]]
  fake_mode none
  delete_created fault-silent
}

# A hung kill holds the requests of its own process for the timeout (docs/architecture.md), then
# the process is itself again.
@test "a runtime that hangs in kill: ctr gets the timeout, then kill and delete work" {
  run_timeout 60 ctr_ run -d --runtime "$WEDGE_RT" "$CTRD_IMAGE" fault-kill sleep 600
  [ "$status" -eq 0 ]
  fake_mode kill-hang
  run_timeout 90 ctr_ task kill -s SIGKILL fault-kill
  echo "kill: $status $output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"OCI runtime kill failed"*"did not finish within 10000 ms"* ]]
  fake_mode none
  [ "$(task_status fault-kill)" = RUNNING ]
  run_timeout 30 ctr_ task kill -s SIGKILL fault-kill
  [ "$status" -eq 0 ]
  wait_for '[ "$(task_status fault-kill)" = STOPPED ]' 30
  run_timeout 30 ctr_ task delete fault-kill
  [ "$status" -eq 0 ]
  run_timeout 30 ctr_ container rm fault-kill
  [ "$status" -eq 0 ]
}

@test "invalid JSON from features: an idmapped mount is refused with a clear error" {
  fake_mode features-garbage
  local cfg=$WEDGE_TEST_DIR/idmap.json
  "$WEDGE_SOURCE/tests/helpers/make-bundle.sh" "$WEDGE_TEST_DIR/bundle" /bin/echo idmapped >/dev/null
  jq '.mounts += [{"destination": "/mnt", "type": "bind", "source": "/tmp", "options": ["rbind", "ro"],
                   "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
                   "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}]' \
    "$WEDGE_TEST_DIR/bundle/config.json" > "$cfg"
  run_timeout 90 ctr_ run --rm --runtime "$WEDGE_RT" --config "$cfg" fault-features
  echo "status $status output: $output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"its \`features\` command failed (OCI runtime features failed: the runtime printed invalid JSON"* ]]
  [[ "$output" == *"refused (2): mounts[7].uidMappings (/mnt)"* ]]
  run_timeout 30 ctr_ container rm fault-features
}

# Two containers of one pod share a shim (the CRI sandbox annotation groups them). A runtime call
# that hangs for one of them holds up none of the other's requests: its exec, state, kill and
# exit go through while the hung exec is still waiting for the runtime timeout.
@test "a runtime that hangs for one container of a shim holds up none of the other's requests" {
  local pod=(--annotation io.kubernetes.cri.sandbox-id=fault-pod)
  run_timeout 60 ctr_ run -d --runtime "$WEDGE_RT" "${pod[@]}" "$CTRD_IMAGE" fault-held sleep 600
  [ "$status" -eq 0 ]
  run_timeout 60 ctr_ run -d --runtime "$WEDGE_RT" "${pod[@]}" "$CTRD_IMAGE" fault-free sleep 600
  [ "$status" -eq 0 ]
  # One shim for both: the daemon started for the first.
  local shim
  shim=$(containerd_shim_pid fault-held)
  [ "$(containerd_shim_pids)" = "$shim" ]

  fake_mode exec-hang-held
  # Bounded by the shim's runtime timeout (10 s here).
  ctr_ task exec --exec-id hung fault-held true > "$WEDGE_TEST_DIR/hung.out" 2>&1 &
  local hung=$!
  # The hung `runc exec` runs (the fake runtime became `sleep 3600`, a child of the shim).
  wait_for '[ -n "$(pgrep -P "$shim" -x sleep)" ]' 30
  local start=$SECONDS

  run_timeout 30 ctr_ task exec --exec-id quick fault-free echo through
  echo "exec: $status $output"
  [ "$status" -eq 0 ]
  [ "$output" = through ]
  [ "$(task_status fault-free)" = RUNNING ]
  run_timeout 30 ctr_ task kill -s SIGKILL fault-free
  [ "$status" -eq 0 ]
  wait_for '[ "$(task_status fault-free)" = STOPPED ]' 30
  # All of it while the other container's exec still waits for its runtime (10 s timeout).
  kill -0 "$hung"
  [ $((SECONDS - start)) -lt 9 ]

  wait "$hung" || true
  cat "$WEDGE_TEST_DIR/hung.out"
  grep -q "did not finish within 10000 ms" "$WEDGE_TEST_DIR/hung.out"
  fake_mode none
  [ "$(task_status fault-held)" = RUNNING ]
  for id in fault-held fault-free; do
    stop_and_remove "$id"
  done
}
