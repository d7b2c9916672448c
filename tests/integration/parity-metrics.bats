#!/usr/bin/env bats
# Stats, Update and OOM of containerd-shim-wedge-v2 next to io.containerd.runc.v2 on one private
# containerd: `ctr task metrics` prints the same rows (values differ), `ctr task update` reaches
# the cgroup (ctr 1.6.20 has no `task update`: the request goes to the shim directly), and an OOM kill shows as /tasks/oom for both, before the task's exit.

load ../helpers/common
load ../helpers/containerd
load ../helpers/shim-suite

# Exported: run_timeout runs shell functions in a new bash.
PROBE_DIR=$(cd "$BATS_TEST_DIRNAME/../helpers" && pwd)
export PROBE_DIR

# A failed test leaves its containers: remove them so the next test starts clean, and still
# fail this one when any was left.
teardown() {
  local left x
  left=$(ctr_ container ls -q 2>/dev/null)
  for x in $left; do
    force_remove "$x"
  done
  containerd_leak_check
  [ -z "$left" ] || { echo "left behind: $left" >&2; return 1; }
}

short_name() {
  local s=${1#io.containerd.}
  echo "${s%.v2}"
}

task_pid() {
  ctr_ task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $2 }'
}

# The same assertions hold on a hybrid (v1) host and in the cgroup-v2 VM (tests/vm/suites): where
# the two name their files or rows differently, these say which.
cgroup_v2() {
  [ -f /sys/fs/cgroup/cgroup.controllers ]
}

# memory_dir PID: the memory cgroup directory of PID (v1: the memory hierarchy's; v2: the one
# cgroup of PID, line "0::<path>", where every controller's files are).
memory_dir() {
  local p
  if cgroup_v2; then
    p=$(awk -F: '$1 == "0" { print $3 }' "/proc/$1/cgroup")
    echo "/sys/fs/cgroup$p"
  else
    p=$(awk -F: '$2 == "memory" { print $3 }' "/proc/$1/cgroup")
    echo "/sys/fs/cgroup/memory$p"
  fi
}

# The memory limit's file, and its row in `ctr task metrics` (ctr prints v1.Metrics and
# v2.Metrics as different tables).
if cgroup_v2; then
  MEMORY_LIMIT_FILE=memory.max
  MEMORY_LIMIT_ROW=memory.usage_limit
  # A section only v2.Metrics has, which both shims fill.
  V_SECTION=memory_events
else
  MEMORY_LIMIT_FILE=memory.limit_in_bytes
  MEMORY_LIMIT_ROW=memory.limit_in_bytes
  V_SECTION=memory.kernel_tcp
fi

# metric_rows ID: the METRIC column of `ctr task metrics` (the ID/TIMESTAMP header left out).
metric_rows() {
  ctr_ task metrics "$1" | awk 'seen { print $1 } $1 == "METRIC" { seen = 1 }'
}

# shim_update ID JSON: UpdateTaskRequest{ID, resources: LinuxResources JSON} sent straight to the
# container's shim (ctr 1.6.20 has no `task update`), printing the probe's reply line.
shim_update() {
  local addr
  addr=$(cat "$CTRD_DIR/state/io.containerd.runtime.v2.task/$CTRD_NS/$1/address")
  addr=${addr#unix://}
  nsenter -t "$CTRD_PID" -m -- env PYTHONDONTWRITEBYTECODE=1 python3 -c '
import sys
sys.path.insert(0, sys.argv[1])
import ttrpc_probe as p
url = b"types.containerd.io/opencontainers/runtime-spec/1/LinuxResources"
resources = p.field(1, url) + p.field(2, sys.argv[4].encode())
s = p.dial(sys.argv[2])
s.sendall(p.frame(1, p.request(p.TASK, b"Update", p.field(1, sys.argv[3].encode()) + p.field(2, resources))))
p.read_frames(s, 1)' "$PROBE_DIR" "$addr" "$1" "$2"
}

# events_begin FILE: `ctr events` into FILE in the background (EVENTS_PID). It subscribes
# asynchronously and says nothing when it has (as in shim.bats): a second is given.
events_begin() {
  ctr_ events > "$1" 2>&1 &
  EVENTS_PID=$!
  sleep 1
}

events_end() {
  kill "$EVENTS_PID" 2>/dev/null || true
  wait "$EVENTS_PID" 2>/dev/null || true
}

# force_remove ID: stop_and_remove (shim-suite.bash) that takes whatever state the task is in
# (stopped by an OOM kill, or gone), for the tests' ends and teardown.
force_remove() {
  CTR_TIMEOUT=30 ctr_ task kill -s SIGKILL "$1" >/dev/null 2>&1 || true
  wait_for "[ \"\$(task_status $1)\" = STOPPED ] || [ -z \"\$(task_status $1)\" ]" 30
  CTR_TIMEOUT=30 ctr_ task delete "$1" >/dev/null 2>&1 || true
  CTR_TIMEOUT=30 ctr_ container rm "$1" >/dev/null 2>&1 || true
}

@test "ctr task metrics: the same rows and the same JSON sections for both shims" {
  local rt s
  for rt in $RUNC_RT $WEDGE_RT; do
    s=$(short_name "$rt")
    run_timeout 60 ctr_ run -d --runtime "$rt" "$CTRD_IMAGE" "metrics-$s" sleep 600
    [ "$status" -eq 0 ]
    run_timeout 30 ctr_ task metrics "metrics-$s"
    echo "$s: $output"
    [ "$status" -eq 0 ]
    printf -v "ROWS_$s" '%s' "$(metric_rows "metrics-$s")"
    run_timeout 30 ctr_ task metrics --format json "metrics-$s"
    [ "$status" -eq 0 ]
    printf -v "JSON_$s" '%s' "$output"
    # Every section and sub-section (objects are printed even when empty; zero scalars are not),
    # but for v2's io.usage entries: one per device the cgroup did IO on (io.stat), which
    # differs between two containers (the first reads the image's blocks from disk, the second
    # finds them cached). They are checked against io.stat below.
    printf -v "KEYS_$s" '%s' "$(jq -r '[paths(objects) | join(".") | select(test("^io[.]usage[.]") | not)] | sort | .[]' <<<"$output")"
    if cgroup_v2; then
      # One io.usage entry per line of the cgroup's io.stat (the container is idle: it is stable).
      [ "$(jq -r '.io.usage | length' <<<"$output")" = "$(grep -c . "$(memory_dir "$(task_pid "metrics-$s")")/io.stat")" ]
    fi
  done
  echo "rows runc: $ROWS_runc"
  echo "rows wedge: $ROWS_wedge"
  [ -n "$ROWS_wedge" ]
  [ "$ROWS_wedge" = "$ROWS_runc" ]
  echo "sections runc: $KEYS_runc / wedge: $KEYS_wedge"
  [ "$KEYS_wedge" = "$KEYS_runc" ]
  grep -qx "$V_SECTION" <<<"$KEYS_wedge"
  # One process (sleep) in the container's pids cgroup, by either shim.
  [ "$(jq -r '.pids.current' <<<"$JSON_wedge")" = 1 ]
  [ "$(jq -r '.pids.current' <<<"$JSON_runc")" = 1 ]
  # per-CPU usage has one entry per CPU for both (v2 has none).
  [ "$(jq -r '.cpu.usage.per_cpu | length' <<<"$JSON_wedge")" = "$(jq -r '.cpu.usage.per_cpu | length' <<<"$JSON_runc")" ]
  # At Start wedge enabled the root's controllers in the container's ancestors (v2) and started
  # its OOM watch without an error (lib/service/task.c logs them through containerd).
  ! grep -E 'enable controllers|add cg to OOM monitor' "$CTRD_DIR/containerd.log"
  for rt in $RUNC_RT $WEDGE_RT; do
    force_remove "metrics-$(short_name "$rt")"
  done
}

@test "ctr task metrics of a stopped task and of an unknown container: the same outcome" {
  local rt s
  for rt in $RUNC_RT $WEDGE_RT; do
    s=$(short_name "$rt")
    run_timeout 60 ctr_ run -d --runtime "$rt" "$CTRD_IMAGE" "stopped-$s" true
    [ "$status" -eq 0 ]
    wait_for "[ \"\$(task_status stopped-$s)\" = STOPPED ]" 30
    run_timeout 30 ctr_ task metrics "stopped-$s"
    printf -v "RC_$s" '%s' "$status"
    printf -v "ROWS_$s" '%s' "$(metric_rows "stopped-$s" 2>&1)"
    run_timeout 30 ctr_ task metrics "unknown-$s"
    printf -v "UNKNOWN_$s" '%s' "${output//unknown-$s/unknown-X}"
    printf -v "URC_$s" '%s' "$status"
    force_remove "stopped-$s"
  done
  echo "stopped: runc rc=$RC_runc rows=$ROWS_runc; wedge rc=$RC_wedge rows=$ROWS_wedge"
  [ "$RC_wedge" = "$RC_runc" ]
  [ "$ROWS_wedge" = "$ROWS_runc" ]
  echo "unknown: runc rc=$URC_runc $UNKNOWN_runc; wedge rc=$URC_wedge $UNKNOWN_wedge"
  [ "$URC_wedge" -ne 0 ]
  [ "$URC_wedge" = "$URC_runc" ]
  [ "$UNKNOWN_wedge" = "$UNKNOWN_runc" ]
}

@test "Update with a memory limit reaches the cgroup's limit file and the metrics for both shims" {
  local rt s pid dir
  for rt in $RUNC_RT $WEDGE_RT; do
    s=$(short_name "$rt")
    run_timeout 60 ctr_ run -d --runtime "$rt" "$CTRD_IMAGE" "update-$s" sleep 600
    [ "$status" -eq 0 ]
    pid=$(task_pid "update-$s")
    dir=$(memory_dir "$pid")
    [ -f "$dir/$MEMORY_LIMIT_FILE" ]
    run_timeout 30 shim_update "update-$s" '{"memory":{"limit":67108864}}'
    echo "$s: $output"
    [ "$status" -eq 0 ]
    [[ "$output" == "reply sid=1 type=2 code=0 message= payload=" ]]
    [ "$(cat "$dir/$MEMORY_LIMIT_FILE")" = 67108864 ]
    run_timeout 30 ctr_ task metrics "update-$s"
    echo "$output"
    [ "$status" -eq 0 ]
    awk -v row="$MEMORY_LIMIT_ROW" '$1 == row && $2 == 67108864 { found = 1 } END { exit !found }' <<<"$output"
    force_remove "update-$s"
  done
}

@test "Update of a stopped task: the same refusal from both shims" {
  local rt s
  for rt in $RUNC_RT $WEDGE_RT; do
    s=$(short_name "$rt")
    run_timeout 60 ctr_ run -d --runtime "$rt" "$CTRD_IMAGE" "upstop-$s" true
    [ "$status" -eq 0 ]
    wait_for "[ \"\$(task_status upstop-$s)\" = STOPPED ]" 30
    run_timeout 30 shim_update "upstop-$s" '{"memory":{"limit":67108864}}'
    printf -v "OUT_$s" '%s' "$output"
    force_remove "upstop-$s"
  done
  echo "runc: $OUT_runc"
  echo "wedge: $OUT_wedge"
  [[ "$OUT_wedge" != *code=0* ]]
  [[ "$OUT_runc" != *code=0* ]]
  # The same text and code: the runc shim's plain error becomes Unknown, as wedge's refusals.
  [ "${OUT_wedge#*code=}" = "${OUT_runc#*code=}" ]
  [[ "$OUT_wedge" == *code=2* ]]
}

@test "an OOM kill is published as /tasks/oom for both shims, before the task's exit" {
  local rt s ev
  for rt in $RUNC_RT $WEDGE_RT; do
    s=$(short_name "$rt")
    ev=$BATS_TEST_TMPDIR/events-$s
    events_begin "$ev"
    run_timeout 120 ctr_ run --rm --memory-limit 16777216 --runtime "$rt" "$CTRD_IMAGE" "oom-$s" \
      sh -c 'x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done'
    printf -v "RC_$s" '%s' "$status"
    wait_for "grep -q '/tasks/delete' '$ev'" 30
    events_end
    echo "$s: rc=$status"
    cat "$ev"
  done
  [ "$RC_wedge" = "$RC_runc" ]
  [ "$RC_wedge" -eq 137 ]
  grep -q "/tasks/oom.*oom-runc" "$BATS_TEST_TMPDIR/events-runc"
  grep -q "/tasks/oom.*oom-wedge" "$BATS_TEST_TMPDIR/events-wedge"
  # wedge reports the OOM before the exit (read once more at exit).
  [ "$(grep -n '/tasks/oom' "$BATS_TEST_TMPDIR/events-wedge" | head -1 | cut -d: -f1)" -lt \
    "$(grep -n '/tasks/exit' "$BATS_TEST_TMPDIR/events-wedge" | head -1 | cut -d: -f1)" ]
}

@test "an OOM kill of an exec is published as /tasks/oom for both shims; the init lives on" {
  local rt s ev
  for rt in $RUNC_RT $WEDGE_RT; do
    s=$(short_name "$rt")
    ev=$BATS_TEST_TMPDIR/events-$s
    events_begin "$ev"
    run_timeout 60 ctr_ run -d --memory-limit 16777216 --runtime "$rt" "$CTRD_IMAGE" "oomx-$s" sleep 600
    [ "$status" -eq 0 ]
    # The OOM killer takes the biggest process of the cgroup: the exec, not the init.
    run_timeout 120 ctr_ task exec --exec-id hog "oomx-$s" sh -c 'x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done'
    printf -v "RC_$s" '%s' "$status"
    echo "$s: exec rc=$status"
    wait_for "grep -q '/tasks/oom.*oomx-$s' '$ev'" 30 || true
    printf -v "STATE_$s" '%s' "$(task_status "oomx-$s")"
    force_remove "oomx-$s"
    events_end
    cat "$ev"
  done
  [ "$RC_wedge" = "$RC_runc" ]
  [ "$RC_wedge" -eq 137 ]
  [ "$STATE_runc" = RUNNING ]
  [ "$STATE_wedge" = RUNNING ]
  grep -q "/tasks/oom.*oomx-runc" "$BATS_TEST_TMPDIR/events-runc"
  grep -q "/tasks/oom.*oomx-wedge" "$BATS_TEST_TMPDIR/events-wedge"
}
