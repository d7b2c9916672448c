#!/usr/bin/env bats
# Exec, pause/resume and ps with io.containerd.wedge.v2 next to io.containerd.runc.v2 on the same
# private containerd (runc): what a user sees must be the same, apart from ids and pids.

load ../helpers/common
load ../helpers/containerd
load ../helpers/shim-suite

short_of() {
  local s=${1#io.containerd.}
  echo "${s%.v2}"
}

# events_start FILE: `ctr events` into FILE, in the background ($EVENTS_PID), and returns once
# it is subscribed: a namespace label change publishes /namespaces/update, which it must see.
events_start() {
  local file=$1 n=0
  ctr_ events > "$file" 2>&1 &
  EVENTS_PID=$!
  wait_for "n=\$((n + 1)); ctr_ namespaces label \"\$CTRD_NS\" wedge-sync=\$n >/dev/null; grep -q /namespaces/update '$file'" 20
}

events_stop() {
  kill "$EVENTS_PID" 2>/dev/null || true
  wait "$EVENTS_PID" 2>/dev/null || true
  ctr_ namespaces label "$CTRD_NS" wedge-sync= >/dev/null 2>&1 || true
}

@test "exec and pause/resume publish the same events in the same order" {
  local rt short id ev
  for rt in $RUNC_RT $WEDGE_RT; do
    short=$(short_of "$rt")
    id=evx-$short
    ev=$BATS_TEST_TMPDIR/events-$short
    events_start "$ev"
    run_timeout 60 ctr_ run -d --runtime "$rt" "$CTRD_IMAGE" "$id" sleep 600
    [ "$status" -eq 0 ]
    run_timeout 30 ctr_ task exec --exec-id e1 "$id" sh -c 'exit 3'
    [ "$status" -eq 3 ]
    run_timeout 30 ctr_ task pause "$id"
    [ "$status" -eq 0 ]
    run_timeout 30 ctr_ task resume "$id"
    [ "$status" -eq 0 ]
    stop_and_remove "$id"
    wait_for "grep -q '/containers/delete.*$id' '$ev'" 20
    events_stop
    # A line is "<date> <time> <zone> <topic> <event json>".
    grep -F "\"$id\"" "$ev" | awk '{ print $4 }' > "$ev.topics"
    echo "$rt:"
    cat "$ev.topics"
    # TaskExit names the process in "id": the exec id for an exec.
    grep ' /tasks/exit ' "$ev" | grep '"id":"e1"' | grep -q '"exit_status":3'
  done
  diff "$BATS_TEST_TMPDIR/events-runc.topics" "$BATS_TEST_TMPDIR/events-wedge.topics"
  [ "$(grep -c . "$BATS_TEST_TMPDIR/events-wedge.topics")" -ge 10 ]
}

@test "10 execs at once into one container, each with its own output and exit code" {
  local rt short id i rc pids
  for rt in $RUNC_RT $WEDGE_RT; do
    short=$(short_of "$rt")
    id=many-$short
    run_timeout 60 ctr_ run -d --runtime "$rt" "$CTRD_IMAGE" "$id" sleep 600
    [ "$status" -eq 0 ]
    pids=()
    for i in $(seq 0 9); do
      CTR_TIMEOUT=120 ctr_ task exec --exec-id "x$i" "$id" sh -c "echo exec$i; exit $((i + 20))" \
        > "$BATS_TEST_TMPDIR/$short-$i" 2>&1 &
      pids+=($!)
    done
    for i in $(seq 0 9); do
      rc=0
      wait "${pids[$i]}" || rc=$?
      echo "$rt x$i: rc=$rc output: $(cat "$BATS_TEST_TMPDIR/$short-$i")"
      [ "$rc" -eq $((i + 20)) ]
      [ "$(cat "$BATS_TEST_TMPDIR/$short-$i")" = "exec$i" ]
    done
    stop_and_remove "$id"
  done
}

# The refusal texts, with the container id made neutral.
@test "exec into a paused container, and into a stopped one, is refused as runc.v2 refuses it" {
  local rt short id
  for rt in $RUNC_RT $WEDGE_RT; do
    short=$(short_of "$rt")
    id=refx-$short
    run_timeout 60 ctr_ run -d --runtime "$rt" "$CTRD_IMAGE" "$id" sleep 600
    [ "$status" -eq 0 ]
    run_timeout 30 ctr_ task pause "$id"
    [ "$status" -eq 0 ]
    run_timeout 30 ctr_ task exec --exec-id p1 "$id" true
    echo "$rt paused: $status $output"
    [ "$status" -ne 0 ]
    printf '%s\n' "${output//$id/ID}" > "$BATS_TEST_TMPDIR/paused-$short"
    run_timeout 30 ctr_ task resume "$id"
    [ "$status" -eq 0 ]

    run_timeout 30 ctr_ task kill -s SIGKILL "$id"
    wait_for "[ \"\$(task_status $id)\" = STOPPED ]" 30
    run_timeout 30 ctr_ task exec --exec-id s1 "$id" true
    echo "$rt stopped: $status $output"
    [ "$status" -ne 0 ]
    printf '%s\n' "${output//$id/ID}" > "$BATS_TEST_TMPDIR/stopped-$short"
    stop_and_remove "$id"
  done
  diff "$BATS_TEST_TMPDIR/paused-runc" "$BATS_TEST_TMPDIR/paused-wedge"
  diff "$BATS_TEST_TMPDIR/stopped-runc" "$BATS_TEST_TMPDIR/stopped-wedge"
}

@test "task ps lists the init and each exec with its exec id, as runc.v2 does" {
  local rt short id pid
  for rt in $RUNC_RT $WEDGE_RT; do
    short=$(short_of "$rt")
    id=psx-$short
    run_timeout 60 ctr_ run -d --runtime "$rt" "$CTRD_IMAGE" "$id" sleep 600
    [ "$status" -eq 0 ]
    ctr_ task exec --exec-id ps-exec "$id" sleep 600 > /dev/null 2>&1 &
    wait_for "[ \$(ctr_ task ps $id | grep -c ps-exec) -eq 1 ]" 30
    run_timeout 30 ctr_ task ps "$id"
    [ "$status" -eq 0 ]
    echo "$rt:"
    printf '%s\n' "${lines[@]}"
    # PIDs differ between the two runs; the columns and the INFO text do not. ctr pads the PID
    # column to the longest pid, so a pid with one digit more widens it: spaces are squeezed.
    printf '%s\n' "${lines[@]}" | sed -E 's/^[0-9]+/PID/; s/[[:space:]]+/ /g' | sort > "$BATS_TEST_TMPDIR/ps-$short"
    stop_and_remove "$id"
    wait
  done
  diff "$BATS_TEST_TMPDIR/ps-runc" "$BATS_TEST_TMPDIR/ps-wedge"
  grep -q 'ps-exec' "$BATS_TEST_TMPDIR/ps-wedge"
}
