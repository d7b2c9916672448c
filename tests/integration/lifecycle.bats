#!/usr/bin/env bats
# `wedge lifecycle` against the real runc 1.1.5 and crun 1.8.1: the library's process state
# machines, runtime client, reaper and features gate, driven through every step on the busybox
# bundle. crun runs in a private mount namespace without the cgroup2 mount (see in_crun_ns).
# Every test ends by checking that nothing is left: no process, state, cgroup or mount.

load ../helpers/common

setup_file() {
  common_setup_file
  require_wedge
}

teardown_file() {
  common_teardown_file
}

setup() {
  BUNDLE=$WEDGE_TEST_DIR/bundle-$BATS_TEST_NUMBER
  "$WEDGE_SOURCE/tests/helpers/make-bundle.sh" "$BUNDLE" sleep 600
}

teardown() {
  rm -rf "$BUNDLE"
}

stderr_to() {
  local file=$1
  shift
  "$@" 2>"$file"
}

# lc RUNTIME ID STEP...: wedge lifecycle on $BUNDLE with a runtime root of this file. $output
# and $lines hold its stdout (one line per step, and what exec'd processes print); its stderr
# (cleanup notes, the runtime's own stderr) is in $LC_STDERR.
lc() {
  local rt=$1 id=$2
  shift 2
  local args=(lifecycle --runtime "$rt" --root "$WEDGE_TEST_DIR/root-$rt" --timeout 30 "$BUNDLE" "$id" "$@")
  LC_STDERR=$BATS_TEST_TMPDIR/stderr
  : > "$LC_STDERR"
  if [ "$rt" = crun ]; then
    run_timeout 120 stderr_to "$LC_STDERR" in_crun_ns "$WEDGE" "${args[@]}"
  else
    run_timeout 120 stderr_to "$LC_STDERR" "$WEDGE" "${args[@]}"
  fi
  echo "$output"
  sed 's/^/stderr: /' "$LC_STDERR"
}

# no_leaks RUNTIME ID: the container's processes, runtime state and cgroups are gone, and
# nothing under the test dir is mounted or running.
no_leaks() {
  local rt=$1 id=$2 pid
  for pid in $(grep -o 'pid [0-9]*' <<<"$output" | cut -d' ' -f2); do
    if pid_alive "$pid"; then
      echo "leak: pid $pid still runs" >&2
      return 1
    fi
  done
  [ ! -e "$WEDGE_TEST_DIR/root-$rt/$id" ] || { echo "leak: state $WEDGE_TEST_DIR/root-$rt/$id" >&2; return 1; }
  local cg
  cg=$(find /sys/fs/cgroup -mindepth 1 -maxdepth 6 -type d -name "$id" 2>/dev/null)
  [ -z "$cg" ] || { echo "leak: cgroups $cg" >&2; return 1; }
  [ ! -e "$BUNDLE/init.pid" ] || { echo "leak: $BUNDLE/init.pid" >&2; return 1; }
  leak_check "$WEDGE_TEST_DIR" "$WEDGE_TEST_DIR/root-$rt"
}

# --- every step, in order ---------------------------------------------------------------------

every_step() {
  local rt=$1 id=every-$1
  lc "$rt" "$id" create start state pause state resume \
    exec:echo,hello 'exec:sh,-c,exit 3' ps kill:KILL wait state delete
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" =~ ^create:\ ok\ \(state\ created,\ pid\ [0-9]+\)$ ]]
  local pid=${lines[0]##*pid }
  pid=${pid%)}
  [ "${lines[1]}" = "start: ok (state running)" ]
  [ "${lines[2]}" = "state: ok (runtime running, state running, pid $pid)" ]
  [ "${lines[3]}" = "pause: ok (state paused)" ]
  [ "${lines[4]}" = "state: ok (runtime paused, state paused, pid $pid)" ]
  [ "${lines[5]}" = "resume: ok (state running)" ]
  [ "${lines[6]}" = "hello" ]
  [ "${lines[7]}" = "exec: ok (exit 0)" ]
  [ "${lines[8]}" = "exec: ok (exit 3)" ]
  [ "${lines[9]}" = "ps: ok (pids $pid)" ]
  [ "${lines[10]}" = "kill: ok (signal 9)" ]
  [ "${lines[11]}" = "wait: ok (exit status 137, state stopped)" ]
  [[ "${lines[12]}" == "state: ok (runtime stopped, state stopped, pid "* ]]
  [ "${lines[13]}" = "delete: ok (state deleted)" ]
  [ "${#lines[@]}" -eq 14 ]
  no_leaks "$rt" "$id"
}

@test "runc: create, start, state, pause, resume, exec, ps, kill, wait, delete" {
  every_step runc
}

@test "crun: create, start, state, pause, resume, exec, ps, kill, wait, delete" {
  every_step crun
}

# update hands linux.resources to the runtime on stdin (`update --resources -`).
update_resources() {
  local rt=$1 id=update-$1
  lc "$rt" "$id" create start 'update:{"pids":{"limit":100}}' \
    'exec:sh,-c,cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max' \
    kill:KILL wait delete
  [ "$status" -eq 0 ]
  [ "${lines[2]}" = "update: ok (state running)" ]
  # It reached the container's pids cgroup.
  [ "${lines[3]}" = "100" ]
  [ "${lines[4]}" = "exec: ok (exit 0)" ]
  no_leaks "$rt" "$id"
}

@test "runc: update sets the container's resources" {
  update_resources runc
}

@test "crun: update sets the container's resources" {
  update_resources crun
}

# A container's init that exits on its own: wait reports its status.
own_exit() {
  local rt=$1 id=exit-$1
  jq '.process.args = ["sh", "-c", "sleep 0.2; exit 7"]' "$BUNDLE/config.json" > "$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  lc "$rt" "$id" create start wait delete
  [ "$status" -eq 0 ]
  [ "${lines[2]}" = "wait: ok (exit status 7, state stopped)" ]
  [ "${lines[3]}" = "delete: ok (state deleted)" ]
  no_leaks "$rt" "$id"
}

@test "runc: an init that exits by itself is reaped with its status" {
  own_exit runc
}

@test "crun: an init that exits by itself is reaped with its status" {
  own_exit crun
}

# --- illegal transitions: refused with the runc shim's words, nothing run ---------------------

# refused RUNTIME ID EXPECTED_LAST_LINE STEP...
refused() {
  local rt=$1 id=$2 want=$3
  shift 3
  lc "$rt" "$id" "$@"
  [ "$status" -eq 1 ]
  [ "${lines[-1]}" = "$want" ]
  # The command stops at the refused step.
  [ "${#lines[@]}" -eq $# ]
  no_leaks "$rt" "$id"
}

illegal_transitions() {
  local rt=$1
  refused "$rt" twice-$rt "start: error: cannot start a running process" create start start
  refused "$rt" created-pause-$rt "pause: error: cannot pause task in created state" create pause
  refused "$rt" created-resume-$rt "resume: error: cannot resume task in created state" create resume
  refused "$rt" running-resume-$rt "resume: error: cannot resume a running process" create start resume
  refused "$rt" paused-pause-$rt "pause: error: cannot pause a paused container" create start pause pause
  refused "$rt" paused-delete-$rt "delete: error: cannot delete a paused process" create start pause delete
  refused "$rt" paused-exec-$rt "exec: error: cannot exec in a paused state" create start pause exec:true
  refused "$rt" running-delete-$rt "delete: error: cannot delete a running process" create start delete
  refused "$rt" stopped-start-$rt "start: error: cannot start a stopped process" create start kill:KILL wait start
  refused "$rt" stopped-exec-$rt "exec: error: cannot exec in a stopped state" create start kill:KILL wait exec:true
  refused "$rt" stopped-update-$rt "update: error: cannot update a stopped container" \
    create start kill:KILL wait 'update:{"pids":{"limit":10}}'
  refused "$rt" deleted-kill-$rt "kill: error: cannot kill a deleted process" create start kill:KILL wait delete kill
}

@test "runc: illegal transitions are refused with the runc shim's text, and cleaned up" {
  illegal_transitions runc
}

@test "crun: illegal transitions are refused with the runc shim's text, and cleaned up" {
  illegal_transitions crun
}

@test "a failing command leaves a paused container killed and deleted" {
  lc runc left-paused create start pause bogus-on-purpose:x 2>/dev/null || true
  # A usage error is found before anything runs.
  [ "$status" -eq 2 ]
  [ -z "$(grep -o 'create: ok' <<<"$output")" ]
  lc runc left-paused create start pause pause
  [ "$status" -eq 1 ]
  grep -q "cleanup: container left-paused killed and deleted" "$LC_STDERR"
  no_leaks runc left-paused
}

# --- runtime errors carry the runtime's own message --------------------------------------------

missing_binary() {
  local rt=$1 id=missing-$1 text=$2
  jq '.process.args = ["/bin/no-such-binary"]' "$BUNDLE/config.json" > "$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  lc "$rt" "$id" create start
  [ "$status" -eq 1 ]
  # runc fails at create, crun at create too (it looks the binary up before it forks).
  [[ "${lines[-1]}" == "create: error: "*"$text"* ]]
  no_leaks "$rt" "$id"
}

@test "runc: a missing binary fails create with runc's message" {
  missing_binary runc 'exec: "/bin/no-such-binary": stat /bin/no-such-binary: no such file or directory'
}

@test "crun: a missing binary fails create with crun's message" {
  missing_binary crun 'executable file `/bin/no-such-binary` not found'
}

@test "runc and crun: exec of a missing binary fails with the runtime's message" {
  lc runc exec-missing-runc create start exec:/bin/no-such-binary
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == "exec: error: "*"no such file or directory"* ]]
  no_leaks runc exec-missing-runc
  lc crun exec-missing-crun create start exec:/bin/no-such-binary
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == "exec: error: "*"/bin/no-such-binary"* ]]
  no_leaks crun exec-missing-crun
}

@test "a runtime that does not exist is named in the error" {
  lc /nonexistent/runtime no-runtime create
  [ "$status" -eq 1 ]
  [[ "${lines[-1]}" == "create: error: "*"/nonexistent/runtime"* ]]
  no_leaks /nonexistent/runtime no-runtime
}

# --- the features gate --------------------------------------------------------------------------

add_idmapped_mount() {
  jq '.mounts += [{"destination": "/data", "type": "bind", "source": "/tmp", "options": ["rbind"],
      "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
      "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}]' \
    "$BUNDLE/config.json" > "$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
}

@test "runc 1.1.5: an idmapped mount is refused before create" {
  add_idmapped_mount
  lc runc idmap-runc create start
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "${lines[0]}" == "create: error: mounts["*"] (/data) is an idmapped mount, but runtime runc does not support idmapped mounts"* ]]
  # The runtime was never asked to create it.
  [ ! -e "$WEDGE_TEST_DIR/root-runc/idmap-runc" ]
  no_leaks runc idmap-runc
}

@test "crun 1.8.1: an idmapped mount is refused before create (no features command)" {
  add_idmapped_mount
  lc crun idmap-crun create start
  [ "$status" -eq 1 ]
  [ "${#lines[@]}" -eq 1 ]
  [[ "${lines[0]}" == "create: error: mounts["*"] (/data) is an idmapped mount, but runtime crun is too old to support it"* ]]
  no_leaks crun idmap-crun
}

@test "without an idmapped mount the same bundle runs (the gate costs nothing)" {
  lc runc no-idmap create start state delete 2>/dev/null || true
  [ "$status" -eq 1 ]
  [ "${lines[-1]}" = "delete: error: cannot delete a running process" ]
  lc runc no-idmap create start kill:KILL wait delete
  [ "$status" -eq 0 ]
  no_leaks runc no-idmap
}

# --- the command line ---------------------------------------------------------------------------

@test "usage errors exit 2 and create nothing" {
  run_timeout 10 "$WEDGE" lifecycle "$BUNDLE" only-id
  [ "$status" -eq 2 ]
  run_timeout 10 "$WEDGE" lifecycle "$BUNDLE" usage create frobnicate
  [ "$status" -eq 2 ]
  [[ "$output" == *"unknown step 'frobnicate'"* ]]
  run_timeout 10 "$WEDGE" lifecycle "$BUNDLE" usage create kill:NOSUCHSIG
  [ "$status" -eq 2 ]
  [[ "$output" == *"unknown signal 'NOSUCHSIG'"* ]]
  run_timeout 10 "$WEDGE" lifecycle "$BUNDLE" usage create exec
  [ "$status" -eq 2 ]
  run_timeout 10 "$WEDGE" lifecycle --timeout zero "$BUNDLE" usage create
  [ "$status" -eq 2 ]
  run_timeout 10 "$WEDGE" lifecycle "$BUNDLE" bad/id create
  [ "$status" -eq 2 ]
  run_timeout 10 "$WEDGE" frobnicate
  [ "$status" -eq 2 ]
  [ ! -e "$BUNDLE/init.pid" ]
}

@test "wedge --version and --help" {
  run_timeout 10 "$WEDGE" --version
  [ "$status" -eq 0 ]
  [[ "$output" =~ ^wedge\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
  run_timeout 10 "$WEDGE" --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"lifecycle"* ]]
  run_timeout 10 "$WEDGE" lifecycle --help
  [ "$status" -eq 0 ]
  [[ "$output" == *"exec:CMD[,ARG...]"* ]]
}

@test "kill signals by name and number; TERM is the default" {
  jq '.process.args = ["sh", "-c", "trap \"exit 42\" TERM; while :; do sleep 0.1; done"]' \
    "$BUNDLE/config.json" > "$BUNDLE/c.json"
  mv "$BUNDLE/c.json" "$BUNDLE/config.json"
  lc runc sig-default create start exec:sleep,0.3 kill wait delete
  [ "$status" -eq 0 ]
  [ "${lines[3]}" = "kill: ok (signal 15)" ]
  [ "${lines[4]}" = "wait: ok (exit status 42, state stopped)" ]
  lc runc sig-number create start kill:9 wait delete
  [ "${lines[2]}" = "kill: ok (signal 9)" ]
  lc runc sig-name create start kill:SIGKILL wait delete
  [ "${lines[2]}" = "kill: ok (signal 9)" ]
  no_leaks runc sig-name
}
