#!/usr/bin/env bats
# The State answer, field by field, of io.containerd.wedge.v2 and io.containerd.runc.v2 for the
# same container history on one private containerd: init and exec, running, paused, exited,
# unknown. ctr shows only part of State (task ls: pid and status), so the shim is asked directly
# on its socket (tests/helpers/task_state.py), from containerd's mount namespace where the
# socket lives. Ids, pids and fifo directories differ between the two runs and are made
# neutral; everything else must be identical.

load ../helpers/common
load ../helpers/containerd
load ../helpers/shim-suite

STATE="$BATS_TEST_DIRNAME/../helpers/task_state.py"

# state ID [EXEC]: the shim's State answer, normalised.
state() {
  local id=$1 address
  address=$(cat "$CTRD_DIR/state/io.containerd.runtime.v2.task/$CTRD_NS/$id/address")
  nsenter -t "$CTRD_PID" -m -- env PYTHONDONTWRITEBYTECODE=1 python3 "$STATE" "${address#unix://}" "$@" |
    sed -E -e "s/$id/ID/g" -e 's/^pid=[1-9][0-9]*$/pid=PID/' -e 's#/fifo/[^/]+/#/fifo/DIR/#'
}

@test "State of init and exec, running, paused, exited and unknown, is runc.v2's" {
  local rt short id out
  for rt in $RUNC_RT $WEDGE_RT; do
    short=${rt#io.containerd.}
    short=${short%.v2}
    id=state-$short
    out=$BATS_TEST_TMPDIR/state-$short
    run_timeout 60 ctr_ run -d --runtime "$rt" "$CTRD_IMAGE" "$id" sleep 600
    [ "$status" -eq 0 ]
    run_timeout 30 ctr_ task exec -d --exec-id long "$id" sleep 600
    [ "$status" -eq 0 ]
    run_timeout 30 ctr_ task exec -d --exec-id short "$id" sh -c 'exit 3'
    [ "$status" -eq 0 ]
    wait_for "state $id short | grep -q status=STOPPED" 30
    {
      echo "# init running"; state "$id"
      echo "# exec running"; state "$id" long
      echo "# exec exited"; state "$id" short
      echo "# unknown exec"; state "$id" nope
    } > "$out"
    run_timeout 30 ctr_ task pause "$id"
    [ "$status" -eq 0 ]
    {
      echo "# init paused"; state "$id"
      echo "# exec of a paused container"; state "$id" long
    } >> "$out"
    run_timeout 30 ctr_ task resume "$id"
    [ "$status" -eq 0 ]
    run_timeout 30 ctr_ task kill -s SIGKILL "$id"
    wait_for "[ \"\$(task_status $id)\" = STOPPED ]" 30
    {
      echo "# init killed"; state "$id"
    } >> "$out"
    run_timeout 30 ctr_ task delete "$id"
    [ "$status" -eq 0 ]
    run_timeout 30 ctr_ container rm "$id"
    [ "$status" -eq 0 ]
    echo "== $rt"
    cat "$out"
  done
  diff "$BATS_TEST_TMPDIR/state-runc" "$BATS_TEST_TMPDIR/state-wedge"
}
