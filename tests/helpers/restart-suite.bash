# The tests of restart.bats (runc) and restart-crun.bats (crun): exits, restarts and kills
# (docs/reliability.md). Load after common, containerd and shim-suite; each restart_* function
# is the body of one test, on whichever containerd flavour the file started. Defines setup().

setup() {
  # A restart in an earlier test changed containerd's pid.
  containerd_refresh_pid
}

task_pid() {
  ctr_ task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $2 }'
}

task_bundle() {
  echo "$CTRD_DIR/state/io.containerd.runtime.v2.task/$CTRD_NS/$1"
}

# The wedge shim serving container $1 (one shim per container here).
shim_pid_of() {
  local p
  for p in $(containerd_shim_pids); do
    if tr '\0' '\n' < "/proc/$p/cmdline" 2>/dev/null | head -n 1 | grep -q '/containerd-shim-wedge-v2$' \
        && awk -v RS='\0' -v id="$1" 'prev == "-id" && $0 == id { found = 1 } { prev = $0 } END { exit !found }' \
          "/proc/$p/cmdline"; then
      echo "$p"
    fi
  done
}

# Events containerd took from shims ("event forwarded", debug level) with topic $1, in the log
# after byte offset $2.
forwarded_since() {
  tail -c "+$(($2 + 1))" "$CTRD_DIR/containerd.log" | grep 'msg="event forwarded"' | grep -c "topic=$1" || true
}

# ctr events in the background into $1; EVENTS_PID. Subscribed once a start event shows up.
events_start() {
  ctr_ events > "$1" 2>&1 &
  EVENTS_PID=$!
}

events_stop() {
  kill -TERM "$EVENTS_PID" 2>/dev/null || true
  wait "$EVENTS_PID" 2>/dev/null || true
}

restart_containerd_away() {
  run_timeout 60 ctr_ run -d --runtime "$WEDGE_RT" "$CTRD_IMAGE" keep sleep 1000
  [ "$status" -eq 0 ]
  # busybox sh as pid 1 ignores SIGTERM unless it traps it.
  run_timeout 60 ctr_ run -d --runtime "$WEDGE_RT" "$CTRD_IMAGE" away sh -c 'trap "exit 7" TERM; while :; do sleep 0.2; done'
  [ "$status" -eq 0 ]
  wait_for '[ "$(task_status away)" = RUNNING ] && [ "$(task_status keep)" = RUNNING ]' 30
  local pid bundle offset
  pid=$(task_pid away)
  bundle=$(task_bundle away)
  [ -n "$pid" ]

  containerd_kill
  kill -TERM "$pid"
  # The exit is on disk while nobody can take it.
  wait_for '[ -e "$bundle/wedge-exit.json" ]' 30
  [ "$(jq -r '"\(.container_id) \(.exec_id) \(.pid) \(.exit_status)"' "$bundle/wedge-exit.json")" = "away  $pid 7" ]
  # Deliberately longer than containerd 1.6's runc shim keeps an event (five retries, ~21 s):
  # what is tested is the time containerd stays away, not a wait for something.
  sleep 25
  [ -e "$bundle/wedge-exit.json" ]

  offset=$(stat -c %s "$CTRD_DIR/containerd.log")
  containerd_restart
  # Republished by the shim's backoff (at most 5 s apart) and taken: the record goes.
  wait_for '[ ! -e "$bundle/wedge-exit.json" ]' 30
  [ "$(forwarded_since /tasks/exit "$offset")" -eq 1 ]

  [ "$(task_status away)" = STOPPED ]
  [ "$(task_status keep)" = RUNNING ]
  run_timeout 30 ctr_ task exec --exec-id e1 keep sh -c 'echo in-exec; exit 4'
  [ "$status" -eq 4 ]
  [ "$output" = in-exec ]
  # ctr 1.6 exits 0 here and warns with the status.
  run_timeout 30 ctr_ task delete away
  echo "delete away: $status $output"
  [ "$status" -eq 0 ]
  [[ "$output" == *"task away exit with non-zero exit code 7"* ]]
  run_timeout 30 ctr_ task kill -s SIGKILL keep
  [ "$status" -eq 0 ]
  wait_for '[ "$(task_status keep)" = STOPPED ]' 30
  run_timeout 30 ctr_ task delete keep
  [[ "$output" == *"task keep exit with non-zero exit code 137"* ]]
  ctr_ container rm away keep
  # Exits of e1 and keep, and still one of away: nothing was sent twice.
  [ "$(forwarded_since /tasks/exit "$offset")" -eq 3 ]
}

restart_shim_killed() {
  local ev=$BATS_TEST_TMPDIR/events pid shim bundle
  events_start "$ev"
  run_timeout 60 ctr_ run -d --runtime "$WEDGE_RT" "$CTRD_IMAGE" victim sleep 1000
  [ "$status" -eq 0 ]
  wait_for '[ "$(task_status victim)" = RUNNING ] && grep -q "/tasks/start" "$ev"' 30
  pid=$(task_pid victim)
  shim=$(shim_pid_of victim)
  bundle=$(task_bundle victim)
  [ -n "$pid" ]
  [ -n "$shim" ]
  grep -q " $bundle/rootfs " "/proc/$CTRD_PID/mountinfo"

  kill -KILL "$shim"
  wait_for '! pid_alive "$pid"' 30
  wait_for 'grep "/tasks/exit" "$ev" | grep -q "\"container_id\":\"victim\""' 30
  events_stop
  cat "$ev"
  grep '/tasks/exit' "$ev" | grep '"container_id":"victim"' | grep -q '"exit_status":137'
  [ ! -e "$CTRD_DIR/run/containerd/runc/$CTRD_NS/victim" ]
  run grep -c " $bundle/rootfs " "/proc/$CTRD_PID/mountinfo"
  [ "$output" = 0 ]
  # containerd dropped the task with the shim; a STOPPED leftover must still delete.
  [ -z "$(task_status victim)" ] || ctr_ task delete victim
  ctr_ container rm victim
}

restart_exec_order() {
  local ev=$BATS_TEST_TMPDIR/events exec_line init_line
  events_start "$ev"
  run_timeout 60 ctr_ run -d --runtime "$WEDGE_RT" "$CTRD_IMAGE" order sleep 1000
  [ "$status" -eq 0 ]
  # The exec writes without end to a reader (ctr): when the kernel kills it with its init, its
  # output still has to drain, the init's has not; unless held, the init's exit goes first.
  ctr_ task exec --exec-id e1 order yes > /dev/null 2>&1 &
  local exec_ctr=$!
  wait_for 'grep -q "/tasks/exec-started" "$ev"' 30
  run_timeout 30 ctr_ task kill -s SIGKILL order
  [ "$status" -eq 0 ]
  wait_for 'grep "/tasks/exit" "$ev" | grep -q "\"id\":\"order\""' 30
  wait_for 'grep "/tasks/exit" "$ev" | grep -q "\"id\":\"e1\""' 30
  events_stop
  wait "$exec_ctr" || true
  cat "$ev"
  exec_line=$(grep -n '/tasks/exit' "$ev" | grep '"id":"e1"' | cut -d: -f1)
  init_line=$(grep -n '/tasks/exit' "$ev" | grep '"id":"order"' | cut -d: -f1)
  [ "$exec_line" -lt "$init_line" ]

  run_timeout 30 ctr_ task exec --exec-id e2 order echo never
  local wedge_out=$output wedge_rc=$status
  # The same refusal from containerd's own shim, word for word.
  run_timeout 60 ctr_ run -d --runtime "$RUNC_RT" "$CTRD_IMAGE" order-runc sleep 1000
  [ "$status" -eq 0 ]
  run_timeout 30 ctr_ task kill -s SIGKILL order-runc
  wait_for '[ "$(task_status order-runc)" = STOPPED ]' 30
  run_timeout 30 ctr_ task exec --exec-id e2 order-runc echo never
  echo "wedge: $wedge_rc $wedge_out"
  echo "runc: $status $output"
  ctr_ task delete order-runc || true
  ctr_ container rm order-runc
  [ "$wedge_rc" -ne 0 ]
  [[ "$wedge_out" == *"cannot exec in a stopped state"* ]]
  [ "$wedge_rc" = "$status" ]
  [ "$wedge_out" = "$output" ]
  run_timeout 30 ctr_ task delete order
  [[ "$output" == *"task order exit with non-zero exit code 137"* ]]
  ctr_ container rm order
}

restart_record_survives_shim() {
  run_timeout 60 ctr_ run -d --runtime "$WEDGE_RT" "$CTRD_IMAGE" lost sh -c 'trap "exit 9" TERM; while :; do sleep 0.2; done'
  [ "$status" -eq 0 ]
  wait_for '[ "$(task_status lost)" = RUNNING ]' 30
  local pid shim bundle offset
  pid=$(task_pid lost)
  shim=$(shim_pid_of lost)
  bundle=$(task_bundle lost)
  [ -n "$pid" ]
  [ -n "$shim" ]

  containerd_kill
  kill -TERM "$pid"
  wait_for '[ -e "$bundle/wedge-exit.json" ]' 30
  kill -KILL "$shim"
  wait_for '! pid_alive "$shim"' 30

  offset=$(stat -c %s "$CTRD_DIR/containerd.log")
  containerd_restart
  # containerd finds the shim gone, runs `delete`, and publishes the TaskExit from its answer.
  wait_for 'tail -c "+$((offset + 1))" "$CTRD_DIR/containerd.log" | grep -q "reporting the recorded exit status 9 of pid $pid"' 30
  wait_for '[ -z "$(task_status lost)" ]' 30
  ctr_ container rm lost
}
