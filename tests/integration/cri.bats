#!/usr/bin/env bats
# wedge under containerd's CRI plugin, as kubelet drives it: each case runs once per runtime
# handler (runc, wedge, wedge-runc-type; tests/helpers/cri.bash) on one private containerd, and
# what the CRI client sees is compared with what it sees of runc, apart from ids and times.
# Pods are host-network (no CNI here). One containerd for the file; every test ends with
# cri_leak_check.

load ../helpers/common
load ../helpers/containerd
load ../helpers/cri

setup_file() {
  common_setup_file
  cri_start
}

teardown_file() {
  cri_teardown
  common_teardown_file
}

teardown() {
  cri_leak_check
}

# obs H LINE...: records what the client saw with handler H, one line each.
obs() {
  local h=$1
  shift
  printf '%s\n' "$@" >> "$BATS_TEST_TMPDIR/obs.$h"
}

# compare: the observations of every handler are runc's (shown on failure).
compare() {
  local h rc=0
  for h in $CRI_HANDLERS; do
    echo "== $h"
    cat "$BATS_TEST_TMPDIR/obs.$h"
  done
  for h in $CRI_HANDLERS; do
    [ "$h" = runc ] && continue
    diff -u "$BATS_TEST_TMPDIR/obs.runc" "$BATS_TEST_TMPDIR/obs.$h" || rc=1
  done
  return $rc
}

# ids_out: 64-hex ids (pods, containers, exec ids) become <id>.
ids_out() {
  sed -E 's/[0-9a-f]{64}/<id>/g'
}

# expect_shim H PID: the shim serving handler H is the binary the handler names.
expect_shim() {
  local want=containerd-shim-wedge-v2
  [ "$1" = runc ] && want=containerd-shim-runc-v2
  [ "$(cri_shim_exe "$2")" = "$want" ] || {
    echo "handler $1: shim $2 runs $(cri_shim_exe "$2"), not $want" >&2
    return 1
  }
}

# wait_state ID STATE [SECS]
wait_state() {
  wait_for "[ \"\$(cri_state $1)\" = $2 ]" "${3:-30}"
}

# status_of ID: the fields of ContainerStatus a client reads, without ids and times.
status_of() {
  cri_ inspect "$1" | jq -r '.status | "state=\(.state) exit_code=\(.exit_code) reason=\(.reason) message=\(.message) name=\(.metadata.name) attempt=\(.metadata.attempt) log=\(.log_path | split("/") | last)"' | ids_out
}

# verbose_info NAME H: the verbose info of an inspect/inspectp answer on stdin (what crictl
# inspect shows: containerd's spec, snapshot, runtime) without what differs from run to run
# (pids, ids, times, the pod's name NAME-H becomes NAME-H, also inside containerd 2.x's
# "NAME-H_namespace_uid_attempt"), as JSON.
verbose_info() {
  jq -S --arg name "$1-$2" --arg norm "$1-H" '.info.info | fromjson | del(.pid) | walk(
      if type == "string" then
        gsub("/proc/[0-9]+/"; "/proc/PID/") | gsub("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z"; "TIME")
        | gsub("(?<![A-Za-z0-9])" + $name + "(?![A-Za-z0-9]|-runc-type)"; $norm)
      else . end)' | ids_out
}

# log_lines FILE: the CRI log without its timestamps ("<stream> <tag> <text>").
log_lines() {
  cut -d' ' -f2- "$1"
}

@test "host-network pod lifecycle: Run, Status, Stop, Remove" {
  local h pod shim
  for h in $CRI_HANDLERS; do
    pod=$(cri_pod "life-$h" "$h")
    run_timeout 30 cri_ inspectp "$pod"
    [ "$status" -eq 0 ]
    obs "$h" "$(jq -r '.status | "state=\(.state) name=\(.metadata.name | sub("-'"$h"'$"; "")) ns=\(.linux.namespaces.options) ip=\(.network.ip)"' <<< "$output")"
    [ "$(jq -r .status.runtime_handler <<< "$output")" = "$h" ]
    shim=$(containerd_shim_pid "$pod")
    expect_shim "$h" "$shim"
    run_timeout 60 cri_ stopp "$pod"
    [ "$status" -eq 0 ]
    obs "$h" "$(cri_ inspectp "$pod" | jq -r '"after stop: state=\(.status.state)"')"
    wait_for "! pid_alive $shim" 20
    run_timeout 60 cri_ rmp "$pod"
    [ "$status" -eq 0 ]
    run_timeout 30 cri_ inspectp "$pod"
    [ "$status" -eq 125 ]
    obs "$h" "after remove: $(ids_out <<< "$output")"
  done
  compare
}

@test "a pod's containers are served by the pod's one shim" {
  local h pod shim c1 c2 p want
  for h in $CRI_HANDLERS; do
    pod=$(cri_pod "group-$h" "$h")
    c1=$(cri_ctr "$pod" "group-$h" one -- sleep 600)
    c2=$(cri_ctr "$pod" "group-$h" two -- sleep 600)
    [ "$(containerd_shim_pids | wc -l)" -eq 1 ]
    shim=$(containerd_shim_pid "$pod")
    expect_shim "$h" "$shim"
    # Each container's init is the shim's child (it reaps them: a subreaper).
    for p in "$c1" "$c2"; do
      [ "$(ps -o ppid= -p "$(cri_ctr_pid "$p")" | tr -d ' ')" = "$shim" ]
    done
    # The handler's options reached the shim: runc's state is under the Root they name
    # (cri.bash: a ConfigPath file for wedge, the runc options table for wedge-runc-type).
    case $h in
      runc) [ -d "$CTRD_DIR/run/containerd/runc/$CRI_NS/$c1" ] ;;
      *) [ -d "$CTRD_DIR/runc-root/$h/$CRI_NS/$c1" ] && [ ! -e "$CTRD_DIR/run/containerd/runc/$CRI_NS/$c1" ] ;;
    esac
    obs "$h" "shims=$(containerd_shim_pids | wc -l)" "$(status_of "$c1")" "$(status_of "$c2")"
    # The handler's config (runtime_type, options) is in the verbose info; nothing else may
    # differ there.
    cri_ inspectp "$pod" | verbose_info group "$h" > "$BATS_TEST_TMPDIR/infop.$h"
    cri_ inspect "$c1" | verbose_info group "$h" > "$BATS_TEST_TMPDIR/info.$h"
    case $h in
      wedge) want=io.containerd.wedge.v2 ;;
      *) want=io.containerd.runc.v2 ;;
    esac
    [ "$(jq -r .runtimeType "$BATS_TEST_TMPDIR/infop.$h")" = "$want" ]
    [ "$(jq -r .runtimeType "$BATS_TEST_TMPDIR/info.$h")" = "$want" ]
    # containerd 2.x has the pod's handler in sandboxMetadata (its store's versioned record) only.
    [ "$(jq -r '.runtimeHandler // .sandboxMetadata.Metadata.RuntimeHandler' "$BATS_TEST_TMPDIR/infop.$h")" = "$h" ]
    # runtimeOptions: the handler's options table as containerd decoded it for that type.
    case $h in
      runc) want=null ;;
      wedge) want='{"config_path":"'$CTRD_DIR/wedge.toml'"}' ;;
      wedge-runc-type) want='{"root":"'$CTRD_DIR/runc-root/$h'"}' ;;
    esac
    [ "$(jq -c .runtimeOptions "$BATS_TEST_TMPDIR/infop.$h")" = "$want" ]
    [ "$(jq -c .runtimeOptions "$BATS_TEST_TMPDIR/info.$h")" = "$want" ]
    obs "$h" "$(jq -S 'del(.runtimeType, .runtimeHandler, .sandboxMetadata.Metadata.RuntimeHandler, .runtimeOptions)' "$BATS_TEST_TMPDIR/infop.$h")" \
      "$(jq -S 'del(.runtimeType, .runtimeOptions)' "$BATS_TEST_TMPDIR/info.$h")"
    obs "$h" "$(cri_ ps "$pod" | jq -r '[.containers[] | "\(.metadata.name)=\(.state)"] | sort | join(" ")')"
    cri_pod_rm "$pod"
  done
  compare
}

@test "ExecSync: output, exit code, 1 MiB intact, and a timeout that leaves nothing behind" {
  local h pod c start
  for h in $CRI_HANDLERS; do
    pod=$(cri_pod "exec-$h" "$h")
    c=$(cri_ctr "$pod" "exec-$h" main -- sleep 600)
    run_timeout 60 cri_ exec-sync "$c" sh -c 'echo to-out; echo to-err >&2; exit 7'
    obs "$h" "rc=$status" "$output"
    cri_ exec-sync "$c" sh -c 'head -c 1048576 /dev/zero | tr "\0" a; head -c 4096 /dev/zero | tr "\0" b >&2' \
      > "$BATS_TEST_TMPDIR/big.$h" 2> "$BATS_TEST_TMPDIR/big-err.$h"
    [ "$(stat -c %s "$BATS_TEST_TMPDIR/big.$h")" -eq 1048576 ]
    [ "$(tr -d a < "$BATS_TEST_TMPDIR/big.$h" | wc -c)" -eq 0 ]
    [ "$(stat -c %s "$BATS_TEST_TMPDIR/big-err.$h")" -eq 4096 ]
    start=$SECONDS
    run_timeout 60 cri_ exec-sync -t 2 "$c" sleep 3217
    [ "$status" -eq 125 ]
    [[ $output == *"code = DeadlineExceeded"* ]]
    [ $((SECONDS - start)) -lt 30 ]
    obs "$h" "timeout: $(ids_out <<< "$output")"
    # The timed-out exec is killed, not left running in the container.
    wait_for "! pgrep -f 'sleep 3217' >/dev/null" 20
    run_timeout 30 cri_ exec-sync "$c" echo still-fine
    obs "$h" "after: rc=$status $output"
    cri_pod_rm "$pod"
  done
  compare
}

@test "ExecSync: 80 long execs in one container do not hold up a short one" {
  # containerd keeps a Wait open on the shim for each exec until it exits: a shim that counted
  # those against a per-connection limit of requests in flight would stop answering the
  # container (wedge did, at 64, until issue 12's review: lib/ttrpc/ttrpc.h). Not compared with
  # runc: 1.6.20's runc shim stalls on exec bursts (containerd#8557) and once took more than the
  # 2 minutes allowed here to start the 80; when it does start them it answers as below.
  local h pod c bg n
  for h in $CRI_HANDLERS; do
    [ "$h" = runc ] && continue
    pod=$(cri_pod "many-$h" "$h")
    c=$(cri_ctr "$pod" "many-$h" main -- sleep 600)
    cri_ exec-many 80 "$c" sleep 4713 > "$BATS_TEST_TMPDIR/many.$h" 2>&1 &
    bg=$!
    if ! wait_for "[ \$(pgrep -xf 'sleep 4713' | wc -l) -ge 80 ]" 120; then
      n=$(pgrep -xf 'sleep 4713' | wc -l)
      pkill -xf 'sleep 4713' || true
      wait $bg || true
      echo "handler $h: $n of 80 execs started" >&2
      return 1
    fi
    run_timeout 30 cri_ exec-sync "$c" echo short
    [ "$status" -eq 0 ]
    [ "$output" = short ]
    pkill -xf 'sleep 4713'
    wait $bg
    [ "$(cat "$BATS_TEST_TMPDIR/many.$h")" = "exit=143: 80" ]
    cri_pod_rm "$pod"
  done
}

@test "CRI log files: stream tags, and a tty container" {
  local h pod c t dir
  for h in $CRI_HANDLERS; do
    pod=$(cri_pod "logs-$h" "$h")
    dir=$CRI_DIR/logs/logs-$h
    c=$(cri_ctr "$pod" "logs-$h" plain -- sh -c 'echo out1; echo err1 >&2; echo out2; printf no-newline')
    t=$(cri_ctr "$pod" "logs-$h" tty --tty -- sh -c 'echo tty-out; echo tty-err >&2')
    wait_state "$c" CONTAINER_EXITED
    wait_state "$t" CONTAINER_EXITED
    # stdout and stderr are two pipes: their relative order is not kept by any shim.
    obs "$h" "plain stdout:" "$(log_lines "$dir/plain_0.log" | grep '^stdout')"
    obs "$h" "plain stderr:" "$(log_lines "$dir/plain_0.log" | grep '^stderr')"
    obs "$h" "tty:" "$(log_lines "$dir/tty_0.log")"
    obs "$h" "$(status_of "$c")" "$(status_of "$t")"
    cri_pod_rm "$pod"
  done
  compare
}

@test "ContainerStats, and UpdateContainerResources reaching the cgroup" {
  local h pod c f
  for h in $CRI_HANDLERS; do
    pod=$(cri_pod "res-$h" "$h")
    c=$(cri_ctr "$pod" "res-$h" main -- sh -c 'while :; do sleep 1; done')
    run_timeout 30 cri_ stats "$c"
    [ "$status" -eq 0 ]
    [ "$(jq -r .stats.cpu.usage_core_nano_seconds.value <<< "$output")" -gt 0 ]
    [ "$(jq -r .stats.memory.working_set_bytes.value <<< "$output")" -gt 0 ]
    # Which fields carry a value (the values themselves differ from run to run).
    [ -n "$(jq -r .stats.writable_layer.fs_id.mountpoint <<< "$output")" ]
    # usage_nano_cores needs two samples of containerd's collector, major faults are rare, and
    # the writable layer's usage is filled in by a collector of its own, every 10 s.
    obs "$h" "$(jq -c '.stats | [paths(scalars) as $p | select(getpath($p) | tostring | test("^0?$") | not)
      | $p | map(tostring) | join(".") | select(test("^(cpu|memory)\\."))
      | select(test("usage_nano_cores|major_page_faults") | not)] | sort' <<< "$output")"
    run_timeout 30 cri_ update "$c" '{"memory_limit_in_bytes": 67108864, "cpu_period": 100000, "cpu_quota": 50000}'
    [ "$status" -eq 0 ]
    f=$(cri_cgroup_file "$c" memory memory.limit_in_bytes memory.max)
    [ "$(cat "$f")" = 67108864 ]
    if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
      [ "$(cat "$(cri_cgroup_file "$c" cpu - cpu.max)")" = "50000 100000" ]
    else
      [ "$(cat "$(cri_cgroup_file "$c" cpu cpu.cfs_quota_us -)")" = 50000 ]
      [ "$(cat "$(cri_cgroup_file "$c" cpu cpu.cfs_period_us -)")" = 100000 ]
    fi
    obs "$h" "$(cri_ inspect "$c" | jq -c .status.resources)"
    cri_pod_rm "$pod"
  done
  compare
}

@test "StopContainer with a grace period: TERM trapped gives 0, TERM ignored gives 137 after it" {
  local h pod a b start
  for h in $CRI_HANDLERS; do
    pod=$(cri_pod "stop-$h" "$h")
    a=$(cri_ctr "$pod" "stop-$h" trapped -- sh -c 'trap "exit 0" TERM; while :; do sleep 0.2; done')
    b=$(cri_ctr "$pod" "stop-$h" ignoring -- sh -c 'trap "" TERM; while :; do sleep 0.2; done')
    run_timeout 60 cri_ stop "$a" 20
    [ "$status" -eq 0 ]
    start=$SECONDS
    run_timeout 60 cri_ stop "$b" 3
    [ "$status" -eq 0 ]
    [ $((SECONDS - start)) -ge 2 ]
    obs "$h" "$(status_of "$a")" "$(status_of "$b")"
    cri_pod_rm "$pod"
  done
  compare
}

@test "a command that does not exist gives the same error text" {
  local h pod c
  for h in $CRI_HANDLERS; do
    pod=$(cri_pod "enoent-$h" "$h")
    c=$(cri_ctr_create "$pod" "enoent-$h" missing -- /no/such/command)
    run_timeout 60 cri_ start "$c"
    [ "$status" -eq 125 ]
    obs "$h" "start: $(ids_out <<< "$output")" "$(status_of "$c")"
    c=$(cri_ctr "$pod" "enoent-$h" main -- sleep 600)
    run_timeout 60 cri_ exec-sync "$c" /no/such/command
    obs "$h" "exec: rc=$status $(ids_out <<< "$output")"
    cri_pod_rm "$pod"
  done
  compare
}

@test "a container that exited is created again as attempt 1" {
  local h pod c0 c1 dir
  for h in $CRI_HANDLERS; do
    pod=$(cri_pod "again-$h" "$h")
    dir=$CRI_DIR/logs/again-$h
    c0=$(cri_ctr "$pod" "again-$h" job -- sh -c 'echo run; exit 3')
    wait_state "$c0" CONTAINER_EXITED
    c1=$(cri_ctr "$pod" "again-$h" job --attempt 1 -- sh -c 'echo run; exit 3')
    wait_state "$c1" CONTAINER_EXITED
    [ "$c0" != "$c1" ]
    obs "$h" "$(status_of "$c0")" "$(status_of "$c1")"
    obs "$h" "$(log_lines "$dir/job_0.log")" "$(log_lines "$dir/job_1.log")"
    obs "$h" "$(cri_ ps "$pod" | jq -r '[.containers[] | "\(.metadata.name).\(.metadata.attempt)=\(.state)"] | sort | join(" ")')"
    cri_pod_rm "$pod"
  done
  compare
}

@test "an OOM kill gives reason OOMKilled" {
  local h pod c
  for h in $CRI_HANDLERS; do
    pod=$(cri_pod "oom-$h" "$h")
    # A string that doubles until the 32 MiB limit stops it.
    c=$(cri_ctr "$pod" "oom-$h" hog --mem 33554432 -- awk 'BEGIN { s = "x"; while (1) s = s s }')
    wait_state "$c" CONTAINER_EXITED 60
    # CRI says OOMKilled when TaskOOM came before TaskExit. wedge publishes them in that order;
    # the runc shim of 1.6 races them (its OOM watcher is a goroutine of its own: containerd
    # issues 8180 and 12260) and gives Error now and then. docs/compat.md, "Stats, OOM and Update".
    case $h in
      runc) [[ $(status_of "$c") =~ reason=(OOMKilled|Error)\  ]] ;;
      *) [[ $(status_of "$c") == *" reason=OOMKilled "* ]] ;;
    esac
    obs "$h" "$(status_of "$c" | sed -E 's/ reason=(OOMKilled|Error) / reason=OOMKilled-or-Error /')"
    cri_pod_rm "$pod"
  done
  compare
}

@test "containerd killed and restarted with pods running: status, ExecSync, logs and stop work" {
  local h pod c n
  declare -A pods ctrs shims
  for h in $CRI_HANDLERS; do
    pod=$(cri_pod "crash-$h" "$h")
    pods[$h]=$pod
    ctrs[$h]=$(cri_ctr "$pod" "crash-$h" ticker -- \
      sh -c 'trap "exit 0" TERM; i=0; while :; do echo tick $i; i=$((i + 1)); sleep 0.2; done')
    shims[$h]=$(containerd_shim_pid "$pod")
  done
  containerd_kill KILL
  sleep 1
  containerd_restart
  for h in $CRI_HANDLERS; do
    c=${ctrs[$h]}
    # The same shim serves the pod: containerd reconnected to it.
    [ "$(containerd_shim_pid "${pods[$h]}")" = "${shims[$h]}" ]
    obs "$h" "$(cri_ inspectp "${pods[$h]}" | jq -r '"pod state=\(.status.state)"')" "$(status_of "$c")"
    run_timeout 60 cri_ exec-sync "$c" echo exec-after-restart
    obs "$h" "exec: rc=$status $output"
    # The log goes on: containerd reopened the container's output.
    n=$(wc -l < "$CRI_DIR/logs/crash-$h/ticker_0.log")
    wait_for "[ \$(wc -l < '$CRI_DIR/logs/crash-$h/ticker_0.log') -gt $((n + 3)) ]" 30
    run_timeout 60 cri_ stop "$c" 20
    [ "$status" -eq 0 ]
    obs "$h" "$(status_of "$c")"
    cri_pod_rm "${pods[$h]}"
  done
  compare
}

@test "nothing is left: no pod, shim, mount, cgroup or socket" {
  local h pod
  # A pod of each handler made and removed, then everything is looked at.
  for h in $CRI_HANDLERS; do
    pod=$(cri_pod "last-$h" "$h")
    cri_ctr "$pod" "last-$h" main -- sleep 600 >/dev/null
    cri_pod_rm "$pod"
  done
  [ "$(cri_ pods | jq '.items | length')" -eq 0 ]
  [ "$(cri_ ps | jq '.containers | length')" -eq 0 ]
  wait_for '[ -z "$(containerd_shim_pids)" ]' 10
  # The shims' sockets (/run/containerd/s in containerd's private /run).
  run ls -A "$CTRD_DIR/run/containerd/s"
  echo "$output"
  [ -z "$output" ]
  cri_leak_check
}
