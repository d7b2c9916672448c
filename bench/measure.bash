#!/bin/bash
# bench/measure.bash: the measurements of bench/run.sh. Not meant to be run by hand: run.sh starts
# it inside the private containerd's mount namespace (where /run is CTRD_DIR/run and
# /sys/fs/cgroup/unified is unmounted, so crun works), under tests/helpers/subreaper.pl (conmon
# daemonizes; pid 1 on the test machines does not reap orphans).
#
# Reads its settings from the environment run.sh exports (BENCH_*, CTRD_*), writes CSV rows
#   section,metric,shim,runtime,containers,run,value,unit
# to BENCH_CSV, and removes every container, conmon and runtime state entry it made, also on
# failure (the EXIT trap).
#
# Times are taken with bash's $EPOCHREALTIME around the command, in this namespace: no nsenter
# or extra shell sits inside a measured interval, so both shims pay exactly the same overhead.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../tests/helpers/containerd.bash
. "$here/../tests/helpers/containerd.bash"

: "${BENCH_CSV:?}" "${BENCH_WORK:?}" "${CTRD_PID:?}" "${CTRD_REAPER_PID:?}" "${CTRD_SOCK:?}" "${CTRD_NS:?}" "${CTRD_DIR:?}" "${CTRD_IMAGE:?}"
read -r -a SHIMS <<< "${BENCH_SHIMS:-wedge runc.v2}"
read -r -a SIZES <<< "${BENCH_SIZES:-1 10 50}"
read -r -a SECTIONS <<< "${BENCH_SECTIONS:-memory lifecycle phases exec podexec stdout density}"
RUNS=${BENCH_RUNS:-5}
MEM_RUNS=${BENCH_MEM_RUNS:-3}
IO_RUNS=${BENCH_IO_RUNS:-3}
DENSITY=${BENCH_DENSITY:-200}
DENSITY_RUNS=${BENCH_DENSITY_RUNS:-1}
DENSITY_TIMEOUT=${BENCH_DENSITY_TIMEOUT:-300}
PARALLEL=${BENCH_PARALLEL:-8}
STDOUT_MIB=${BENCH_STDOUT_MIB:-1024}
SETTLE=${BENCH_SETTLE:-2}
CTR_TIMEOUT=${CTR_TIMEOUT:-120}
RUNTIME_ROOT=$BENCH_WORK/runtime-root
CONMON_DIR=$BENCH_WORK/conmon
# The runtime both shims run: they look `runc` up in containerd's PATH, where CTRD_DIR/bin comes
# before /usr/sbin. Pointing this link at crun makes both shims drive crun in the same way
# (ctr only passes --runc-binary to io.containerd.runc.v2).
RUNC_LINK=$CTRD_DIR/bin/runc
RUNC_BIN=$(command -v runc)
HZ=$(getconf CLK_TCK)
CRUN_BIN=$(command -v crun)
ID_PREFIX=wb${CTRD_NS##*-}
mkdir -p "$RUNTIME_ROOT" "$CONMON_DIR"
export PARALLEL CTRD_SOCK CTRD_NS CTRD_IMAGE CTR_TIMEOUT

log() { printf '%s bench: %s\n' "$(date +%T)" "$*" >&2; }

emit() { # section metric shim runtime containers run value unit
  local IFS=,
  printf '%s\n' "$*" >> "$BENCH_CSV"
}

runtime_class() {
  case $1 in
    wedge) echo io.containerd.wedge.v2 ;;
    runc.v2) echo io.containerd.runc.v2 ;;
    *) echo "measure: unknown shim '$1'" >&2; return 2 ;;
  esac
}

ctrx() {
  timeout --kill-after=5 "$CTR_TIMEOUT" ctr --address "$CTRD_SOCK" --namespace "$CTRD_NS" "$@"
}

use_runtime() {
  case $1 in
    runc) ln -sfn "$RUNC_BIN" "$RUNC_LINK" ;;
    crun) ln -sfn "$CRUN_BIN" "$RUNC_LINK" ;;
  esac
}

# elapsed_ms START END: the difference of two $EPOCHREALTIME values, in ms with 3 decimals.
elapsed_ms() {
  awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) * 1000 }'
}

# mem_of PID...: "PSS_KiB RSS_KiB" summed over the pids, from smaps_rollup (the kernel sums
# every mapping; PSS divides each shared page by the number of processes mapping it).
mem_of() {
  local p pss=0 rss=0 k v _
  for p in "$@"; do
    while read -r k v _; do
      case $k in
        Pss:) pss=$((pss + v)) ;;
        Rss:) rss=$((rss + v)) ;;
      esac
    done 2>/dev/null < "/proc/$p/smaps_rollup" || true
  done
  echo "$pss $rss"
}

# wait_no_shims: a measurement starts only when every shim of the previous one has exited.
wait_no_shims() {
  local deadline=$((SECONDS + 20))
  while [ -n "$(containerd_shim_pids)" ]; do
    if [ $SECONDS -ge $deadline ]; then
      log "shims still running after 20s: $(containerd_shim_pids | tr '\n' ' ')"
      return 1
    fi
    sleep 0.1
  done
}

# ---- containers through containerd ----

ctr_start_detached() { # shim id
  ctrx run -d --runtime "$(runtime_class "$1")" "$CTRD_IMAGE" "$2" sleep 3600 >/dev/null
}

# remove_ctr ID: kill, delete the task, delete the container and its snapshot.
remove_ctr() {
  ctrx task delete --force "$1" >/dev/null 2>&1 || true
  ctrx container delete "$1" >/dev/null 2>&1 || true
}

remove_all_ctrs() {
  local ids
  ids=$( { ctrx task ls -q 2>/dev/null; ctrx container ls -q 2>/dev/null; } | sort -u)
  if [ -n "$ids" ]; then
    export -f remove_ctr ctrx
    printf '%s\n' "$ids" | xargs -r -P "$PARALLEL" -I{} bash -c 'remove_ctr "$1"' _ {}
  fi
  wait_no_shims
}

# start_many SHIM FIRST LAST PREFIX: starts containers PREFIX-FIRST..PREFIX-LAST, PARALLEL at a
# time. Returns non-zero when one failed.
start_many() {
  local shim=$1 first=$2 last=$3 prefix=$4
  [ "$last" -ge "$first" ] || return 0
  export -f ctr_start_detached ctrx runtime_class
  seq "$first" "$last" | xargs -P "$PARALLEL" -I{} bash -c 'ctr_start_detached "$1" "$2-$3"' _ "$shim" "$prefix" {}
}

running_tasks() {
  ctrx task ls 2>/dev/null | awk 'NR > 1 && $3 == "RUNNING"' | wc -l
}

# ---- conmon, standalone, for reference ----

# conmon_start ID: conmon with runc on the sleep bundle, as podman does (create through conmon,
# then `runc start`). conmon forks and its parent returns at once; the runtime writes the pid
# file when the create is done.
conmon_start() {
  local id=$1
  mkdir -p "$CONMON_DIR/exit" "$CONMON_DIR/sock"
  conmon --api-version 1 -c "$id" -u "$id" -n "$id" -r "$RUNC_BIN" -b "$BENCH_WORK/sleep-bundle" \
    -p "$CONMON_DIR/$id.pid" -P "$CONMON_DIR/$id.conmon-pid" -l "k8s-file:$CONMON_DIR/$id.log" \
    --exit-dir "$CONMON_DIR/exit" --socket-dir-path "$CONMON_DIR/sock" \
    --runtime-arg --root --runtime-arg "$RUNTIME_ROOT" </dev/null >"$CONMON_DIR/$id.out" 2>&1
  for _ in $(seq 200); do
    [ -s "$CONMON_DIR/$id.pid" ] && break
    sleep 0.05
  done
  if [ ! -s "$CONMON_DIR/$id.pid" ]; then
    log "conmon: $id was not created; conmon said: $(cat "$CONMON_DIR/$id.out" "$CONMON_DIR/$id.log" 2>/dev/null)"
    return 1
  fi
  "$RUNC_BIN" --root "$RUNTIME_ROOT" start "$id"
}

conmon_pids() {
  local f
  for f in "$CONMON_DIR"/*.conmon-pid; do
    # conmon writes its pid without a newline.
    [ -s "$f" ] && pid_alive "$(cat "$f")" && printf '%s\n' "$(cat "$f")"
  done
  return 0
}

remove_all_runtime_ctrs() {
  local id rt p
  for rt in "$RUNC_BIN" "$CRUN_BIN"; do
    for id in $("$rt" --root "$RUNTIME_ROOT" list -q 2>/dev/null); do
      "$rt" --root "$RUNTIME_ROOT" delete --force "$id" >/dev/null 2>&1 || true
    done
  done
  # shellcheck disable=SC2046
  kill_and_wait KILL $(conmon_pids) || true
  for p in $(conmon_pids); do log "conmon $p still running"; done
  rm -rf "${CONMON_DIR:?}"/*
}

cleanup() {
  local rc=$?
  trap - EXIT
  remove_all_ctrs || rc=1
  remove_all_runtime_ctrs || rc=1
  exit $rc
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# ---- 1. memory per idle container ----

memory_point() { # shim containers run pids...
  local shim=$1 n=$2 run=$3 pss rss
  shift 3
  read -r pss rss < <(mem_of "$@")
  emit memory pss_per_ctr "$shim" runc "$n" "$run" "$((pss / n))" KiB
  emit memory rss_per_ctr "$shim" runc "$n" "$run" "$((rss / n))" KiB
  emit memory pss_total "$shim" runc "$n" "$run" "$pss" KiB
  emit memory shim_procs "$shim" runc "$n" "$run" "$#" count
}

section_memory() {
  local run shim have n
  use_runtime runc
  for run in $(seq "$MEM_RUNS"); do
    for shim in "${SHIMS[@]}" conmon; do
      log "memory run $run/$MEM_RUNS: $shim"
      have=0
      for n in "${SIZES[@]}"; do
        if [ "$shim" = conmon ]; then
          while [ "$have" -lt "$n" ]; do
            have=$((have + 1))
            conmon_start "$ID_PREFIX-mc-$run-$have"
          done
          sleep "$SETTLE"
          # shellcheck disable=SC2046
          memory_point conmon "$n" "$run" $(conmon_pids)
        else
          start_many "$shim" "$((have + 1))" "$n" "$ID_PREFIX-m-$run"
          have=$n
          sleep "$SETTLE"
          # shellcheck disable=SC2046
          memory_point "$shim" "$n" "$run" $(containerd_shim_pids)
        fi
      done
      if [ "$shim" = conmon ]; then remove_all_runtime_ctrs; else remove_all_ctrs; fi
    done
  done
}

# ---- 2. lifecycle: ctr run --rm IMAGE ID true, and the runtime alone ----

# CPU times come from cpu_ticks (sys.bash). containerd's reaper (CTRD_REAPER_PID, subreaper.pl)
# reaps every shim once its task is deleted, and a shim reaps the runtime it ran, so the
# reaper's children time grows by the CPU of one shim plus its runtime invocations per
# `ctr run --rm`.
ticks_ms() { # ticks
  awk -v t="$1" -v hz="$HZ" 'BEGIN { printf "%.0f", t * 1000 / hz }'
}

# in_turn RUN: the shims in the order of run RUN, reversed every other run (A B, B A, A B, ...):
# whatever the run before leaves behind (a runtime's cgroup being torn down, containerd's
# garbage collection) then delays each shim as often as the other.
in_turn() {
  local i
  if [ $(($1 % 2)) = 1 ]; then
    printf '%s\n' "${SHIMS[@]}"
  else
    for ((i = ${#SHIMS[@]} - 1; i >= 0; i--)); do printf '%s\n' "${SHIMS[$i]}"; done
  fi
}

# warm_up RT TAG: points the runtime link at RT and runs one `ctr run --rm true` per shim, so
# that the first measured run does not pay for cold caches.
warm_up() {
  local shim
  use_runtime "$1"
  for shim in "${SHIMS[@]}"; do
    ctrx run --rm --runtime "$(runtime_class "$shim")" "$CTRD_IMAGE" "$ID_PREFIX-$2-$shim-$1" true >/dev/null
  done
}

section_lifecycle() {
  local rt run shim id class t0 t1 c0 c1 d0 d1 e0 e1
  for rt in runc crun; do
    warm_up "$rt" lw
    for run in $(seq "$RUNS"); do
      log "lifecycle $rt run $run/$RUNS"
      for shim in $(in_turn "$run"); do
        id=$ID_PREFIX-l-$shim-$rt-$run
        class=$(runtime_class "$shim")
        c0=$(cpu_ticks "$CTRD_REAPER_PID" children)
        d0=$(cpu_ticks "$CTRD_PID")
        e0=$(cpu_ticks $$ children)
        t0=$EPOCHREALTIME
        ctrx run --rm --runtime "$class" "$CTRD_IMAGE" "$id" true >/dev/null
        t1=$EPOCHREALTIME
        e1=$(cpu_ticks $$ children)
        emit lifecycle run_rm_true "$shim" "$rt" 1 "$run" "$(elapsed_ms "$t0" "$t1")" ms
        emit lifecycle cpu_ctr "$shim" "$rt" 1 "$run" "$(ticks_ms $((e1 - e0)))" ms
        # A shim that has exited is reaped (its time added) a moment later.
        wait_no_shims
        sleep 0.1
        c1=$(cpu_ticks "$CTRD_REAPER_PID" children)
        d1=$(cpu_ticks "$CTRD_PID")
        emit lifecycle cpu_shim_runtime "$shim" "$rt" 1 "$run" "$(ticks_ms $((c1 - c0)))" ms
        emit lifecycle cpu_containerd "$shim" "$rt" 1 "$run" "$(ticks_ms $((d1 - d0)))" ms
      done
      id=$ID_PREFIX-f-$rt-$run
      c0=$(cpu_ticks $$ children)
      t0=$EPOCHREALTIME
      "$rt" --root "$RUNTIME_ROOT" run -b "$BENCH_WORK/true-bundle" "$id" </dev/null >/dev/null
      t1=$EPOCHREALTIME
      c1=$(cpu_ticks $$ children)
      emit lifecycle run_rm_true "$rt-alone" "$rt" 1 "$run" "$(elapsed_ms "$t0" "$t1")" ms
      emit lifecycle cpu_shim_runtime "$rt-alone" "$rt" 1 "$run" "$(ticks_ms $((c1 - c0)))" ms
      "$rt" --root "$RUNTIME_ROOT" delete --force "$id" >/dev/null 2>&1 || true
    done
    wait_no_shims
  done
  use_runtime runc
}

# ---- 2b. lifecycle phases ----

# The same `ctr run --rm IMAGE ID true`, each run recorded system-wide by perf (process exec and
# exit, and connect; nothing that slows a program down) and cut into phases by bench/phases.awk:
# which process holds the critical path when, for both shims, with runc and with crun. The
# phases the shim cannot touch (ctr's start-up, containerd's snapshot and metadata work, the
# runtime's own create, start and delete, the teardown after the shim) bound the ratio any shim
# can reach; docs/performance.md reads the table that way.
section_phases() {
  local rt run shim id rec
  if ! perf_ok; then
    log "phases: perf cannot record here (install linux-perf; kernel.perf_event_paranoid): skipped"
    return 0
  fi
  rec=$BENCH_WORK/phases.data
  for rt in runc crun; do
    warm_up "$rt" pw
    for run in $(seq "$RUNS"); do
      log "phases $rt run $run/$RUNS"
      for shim in $(in_turn "$run"); do
        id=$ID_PREFIX-p-$shim-$rt-$run
        perf record -q -o "$rec" -a \
          -e sched:sched_process_fork,sched:sched_process_exec,sched:sched_process_exit,sched:sched_stat_runtime \
          -e syscalls:sys_enter_connect -- \
          sh -c 'echo $$ > "$1"; shift; exec "$@"' _ "$rec.pid" \
          timeout --kill-after=5 "$CTR_TIMEOUT" ctr --address "$CTRD_SOCK" --namespace "$CTRD_NS" \
          run --rm --runtime "$(runtime_class "$shim")" "$CTRD_IMAGE" "$id" true >/dev/null 2>&1
        # perf forks its workload before it records: the workload's pid comes from the workload.
        perf script -i "$rec" -F comm,pid,tid,time,event,trace 2>/dev/null |
          awk -v containerd="$CTRD_PID" -v workload="$(cat "$rec.pid")" -f "$here/phases.awk" |
          while read -r phase value; do
            emit phases "$phase" "$shim" "$rt" 1 "$run" "$value" ms
          done
        rm -f "$rec" "$rec.pid"
        wait_no_shims
      done
    done
  done
  use_runtime runc
}

perf_ok() {
  command -v perf >/dev/null &&
    perf record -q -o "$BENCH_WORK/perf-probe.data" -a -e sched:sched_process_exit -- true >/dev/null 2>&1 &&
    rm -f "$BENCH_WORK/perf-probe.data"
}

# ---- 3. exec latency ----

section_exec() {
  local run shim t0 t1
  use_runtime runc
  for shim in "${SHIMS[@]}"; do
    ctr_start_detached "$shim" "$ID_PREFIX-x-$shim"
    ctrx task exec --exec-id warm "$ID_PREFIX-x-$shim" true
  done
  for run in $(seq "$RUNS"); do
    log "exec run $run/$RUNS"
    for shim in $(in_turn "$run"); do
      t0=$EPOCHREALTIME
      ctrx task exec --exec-id "e$run" "$ID_PREFIX-x-$shim" true
      t1=$EPOCHREALTIME
      emit exec exec_true "$shim" runc 1 "$run" "$(elapsed_ms "$t0" "$t1")" ms
    done
  done
  remove_all_ctrs
}

# ---- 3b. a pod's execs at once: one shim for 4 containers, 8 `ctr task exec` together ----

# The CRI sandbox annotation groups a pod's containers into one shim, as under Kubernetes (both
# shims read it). ctr stands in for kubelet here; the podload section (bench/podload.bash) drives
# the same load over CRI.
POD_CTRS=4
POD_EXECS=8

# inflight_sampler PID OUT: the runtime calls PID has in flight, sampled until OUT.stop exists
# (bench/inflight.py).
inflight_sampler() {
  python3 "$here/inflight.py" "$1" "$2"
}

section_podexec() {
  local run shim i t0 t1 pid sampler peak execs
  use_runtime runc
  for shim in "${SHIMS[@]}"; do
    for i in $(seq "$POD_CTRS"); do
      ctrx run -d --runtime "$(runtime_class "$shim")" --annotation "io.kubernetes.cri.sandbox-id=$ID_PREFIX-pod-$shim" \
        "$CTRD_IMAGE" "$ID_PREFIX-p-$shim-$i" sleep 3600 >/dev/null
    done
    ctrx task exec --exec-id warm "$ID_PREFIX-p-$shim-1" true
  done
  for run in $(seq "$RUNS"); do
    log "podexec run $run/$RUNS"
    for shim in $(in_turn "$run"); do
      pid=$(containerd_shim_pid "$ID_PREFIX-p-$shim-1")
      t0=$EPOCHREALTIME
      ctrx task exec --exec-id "s$run" "$ID_PREFIX-p-$shim-1" true
      t1=$EPOCHREALTIME
      emit podexec exec1_wall "$shim" runc "$POD_CTRS" "$run" "$(elapsed_ms "$t0" "$t1")" ms

      rm -f "$BENCH_WORK/inflight" "$BENCH_WORK/inflight.stop" "$BENCH_WORK/inflight.ready"
      inflight_sampler "$pid" "$BENCH_WORK/inflight" &
      sampler=$!
      # Python may take longer to start than the whole burst.
      while [ ! -e "$BENCH_WORK/inflight.ready" ]; do sleep 0.01; done
      t0=$EPOCHREALTIME
      execs=()
      for i in $(seq "$POD_EXECS"); do
        ctrx task exec --exec-id "b$run-$i" "$ID_PREFIX-p-$shim-$(((i - 1) % POD_CTRS + 1))" true &
        execs+=($!)
      done
      wait "${execs[@]}"
      t1=$EPOCHREALTIME
      touch "$BENCH_WORK/inflight.stop"
      wait "$sampler"
      peak=$(cat "$BENCH_WORK/inflight")
      emit podexec exec8_wall "$shim" runc "$POD_CTRS" "$run" "$(elapsed_ms "$t0" "$t1")" ms
      emit podexec exec8_inflight "$shim" runc "$POD_CTRS" "$run" "$peak" count
    done
  done
  remove_all_ctrs
}

# ---- 4. stdout throughput ----

# sample_shim ID OUT: waits for the shim of container ID, then until it exits writes
# "TICKS HWM_KiB" (utime+stime of the whole process, VmHWM) to OUT every 50 ms. The last line
# written before the shim exits is what it used: the task is deleted right after its output
# is drained, so the few ticks after the last sample are the delete itself.
sample_shim() {
  local id=$1 out=$2 pid="" deadline=$((SECONDS + 60)) s k v _ hwm
  while ! pid=$(containerd_shim_pid "$id"); do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.02
  done
  while read -r s 2>/dev/null < "/proc/$pid/stat"; do
    s=${s##*) }
    # shellcheck disable=SC2086
    set -- $s
    hwm=0
    while read -r k v _; do
      [ "$k" = VmHWM: ] && { hwm=$v; break; }
    done 2>/dev/null < "/proc/$pid/status" || true
    printf '%s %s %s\n' "$((${12} + ${13}))" "$hwm" "$pid" > "$out"
    sleep 0.05
  done
}

section_stdout() {
  local run shim id t0 t1 ms ticks hwm sampler
  use_runtime runc
  for run in $(seq "$IO_RUNS"); do
    for shim in $(in_turn "$run"); do
      log "stdout run $run/$IO_RUNS: $shim, $STDOUT_MIB MiB"
      id=$ID_PREFIX-o-$shim-$run
      rm -f "$BENCH_WORK/sample"
      sample_shim "$id" "$BENCH_WORK/sample" &
      sampler=$!
      t0=$EPOCHREALTIME
      ctrx run --rm --runtime "$(runtime_class "$shim")" "$CTRD_IMAGE" "$id" \
        dd if=/dev/zero bs=1M count="$STDOUT_MIB" >/dev/null 2>&1
      t1=$EPOCHREALTIME
      wait "$sampler" || log "stdout: no shim found for $id"
      ms=$(elapsed_ms "$t0" "$t1")
      read -r ticks hwm _ < "$BENCH_WORK/sample" || { ticks=0; hwm=0; }
      emit stdout wall_per_gib "$shim" runc 1 "$run" \
        "$(awk -v ms="$ms" -v mib="$STDOUT_MIB" 'BEGIN { printf "%.3f", ms / 1000 * 1024 / mib }')" s
      emit stdout throughput "$shim" runc 1 "$run" \
        "$(awk -v ms="$ms" -v mib="$STDOUT_MIB" 'BEGIN { printf "%.1f", mib / (ms / 1000) }')" MiB/s
      emit stdout shim_cpu_per_gib "$shim" runc 1 "$run" \
        "$(awk -v t="$ticks" -v hz="$HZ" -v mib="$STDOUT_MIB" 'BEGIN { printf "%.3f", t / hz * 1024 / mib }')" s
      emit stdout peak_rss "$shim" runc 1 "$run" "$hwm" KiB
    done
  done
  wait_no_shims
}

# ---- 5. density ----

section_density() {
  local run shim t0 t1 started pss rss rc
  use_runtime runc
  for run in $(seq "$DENSITY_RUNS"); do
    for shim in "${SHIMS[@]}"; do
      log "density run $run/$DENSITY_RUNS: $shim, $DENSITY containers, $PARALLEL at a time"
      t0=$EPOCHREALTIME
      rc=0
      timeout --kill-after=10 "$DENSITY_TIMEOUT" \
        bash -c "$(declare -f start_many ctr_start_detached ctrx runtime_class); start_many \"\$@\"" \
        _ "$shim" 1 "$DENSITY" "$ID_PREFIX-d-$run" || rc=$?
      t1=$EPOCHREALTIME
      started=$(running_tasks)
      [ "$rc" = 0 ] || log "density: start ended with status $rc, $started of $DENSITY running"
      emit density start_all "$shim" runc "$DENSITY" "$run" "$(elapsed_ms "$t0" "$t1" | awk '{ printf "%.3f", $1 / 1000 }')" s
      emit density started "$shim" runc "$DENSITY" "$run" "$started" count
      sleep "$SETTLE"
      # shellcheck disable=SC2046
      read -r pss rss < <(mem_of $(containerd_shim_pids))
      emit density pss_total "$shim" runc "$DENSITY" "$run" "$(awk -v k="$pss" 'BEGIN { printf "%.1f", k / 1024 }')" MiB
      emit density rss_total "$shim" runc "$DENSITY" "$run" "$(awk -v k="$rss" 'BEGIN { printf "%.1f", k / 1024 }')" MiB
      [ "$started" -gt 0 ] && emit density pss_per_ctr "$shim" runc "$DENSITY" "$run" "$((pss / started))" KiB
      remove_all_ctrs
    done
  done
}

for section in "${SECTIONS[@]}"; do
  case $section in
    memory | lifecycle | phases | exec | podexec | stdout | density) "section_$section" ;;
    *) echo "measure: unknown section '$section'" >&2; exit 2 ;;
  esac
done
