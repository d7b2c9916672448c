# bench/phases.awk: one `ctr run --rm IMAGE ID true`, recorded system-wide by
#   perf record -a -e sched:sched_process_fork,sched:sched_process_exec,sched:sched_process_exit,
#                     sched:sched_stat_runtime,syscalls:sys_enter_connect
# and printed by `perf script -F comm,pid,tid,time,event,trace`, cut into its phases along the
# processes that take turns on the critical path (bench/measure.bash, section phases). Prints
# "PHASE MS" lines. Process events cost nothing measurable, unlike strace, which slows the Go
# programs (ctr, containerd, runc) 3-10x.
#
# The boundaries, in order: ctr's exec, ctr's first connect (to containerd), the shim's `start`
# exec (the first exec of a containerd-shim-* binary), the runtime's create, start and delete
# (the first three execs of a binary named runc or crun: the bench links runc to either; crun's
# re-exec of itself through /dev/fd/N and runc's `init` through /proc/self/exe are not
# counted) and their exits, the shim's `delete` subcommand (the last containerd-shim-* exec)
# and its exit, and ctr's exit. What lies between two boundaries is named by who works then.
#
#   awk -v containerd=PID -v workload=PID -f bench/phases.awk
# Only containerd and the workload perf ran (it execs ctr) and their descendants count, so that
# other jobs' ctr, shims and runtimes on the machine are left out.
#
# It also sums the CPU time (sched_stat_runtime, ns exact) of each kind of process: ctr,
# containerd, the shim (its start, daemon and delete processes, and its children until they
# exec) and the runtime (runc or crun, what they re-exec, and the container's process). The
# shim's own CPU bounds what any cut in the shim could still save: its waits for the runtime
# and for containerd are other processes' time.

BEGIN { kind[containerd] = "containerd"; kind[workload] = "ctr" }

function ms(t) { return t * 1000 }

# Prints one phase; sums those no shim holds into `outside`.
function phase(seconds, name, held) {
  printf "%s %.3f\n", name, ms(seconds)
  if (!held) outside += seconds
}

{
  # "ctr 1234/1234 18703.740392: sched:sched_process_exec: filename=/usr/bin/ctr pid=..."
  pid = $2; sub(/\/.*/, "", pid)
  t = $3; sub(/:$/, "", t)
  event = $4; sub(/:$/, "", event)
  rest = substr($0, index($0, $4) + length($4))
  sub(/^ +/, "", rest)
}

event == "sched:sched_process_fork" {
  if (pid in kind) { c = rest; sub(/.*child_pid=/, "", c); sub(/ .*/, "", c); kind[c] = kind[pid] }
  next
}

!(pid in kind) { next }

event == "sched:sched_stat_runtime" {
  ns = rest; sub(/.*runtime=/, "", ns); sub(/ .*/, "", ns)
  cpu[kind[pid]] += ns
  next
}

event == "sched:sched_process_exec" {
  file = rest; sub(/^filename=/, "", file); sub(/ .*/, "", file)
  if (file ~ /\/ctr$/ && !ctr_exec) { ctr_exec = t; ctr_pid = pid }
  else if (file ~ /\/containerd-shim-[^\/]*$/) {
    kind[pid] = "shim"
    if (!shim_start) shim_start = t
    shim_last = t; shim_last_pid = pid
  }
  else if (file ~ /\/(runc|crun)$/) {
    kind[pid] = "runtime"
    if (nrt < 3) { nrt++; rt_exec[nrt] = t; rt_pid[nrt] = pid }
  }
  # else: crun's re-exec through /dev/fd/N, runc's init, the container's process: their parent's kind
  next
}

event == "syscalls:sys_enter_connect" && pid == ctr_pid && !ctr_connect { ctr_connect = t; next }

event == "sched:sched_process_exit" {
  # The exiting task's own pid: for the main thread, the process's.
  p = rest; sub(/.* pid=/, "", p); sub(/ .*/, "", p)
  if (p != pid) next
  exit_t[pid] = t
  next
}

END {
  if (!ctr_exec || !ctr_connect || !shim_start || nrt < 3 || !(ctr_pid in exit_t) || !(shim_last_pid in exit_t)) {
    print "phases.awk: incomplete record (ctr " (ctr_exec ? "yes" : "no") ", shim " (shim_start ? "yes" : "no") ", runtime execs " nrt ")" > "/dev/stderr"
    exit 1
  }
  for (i = 1; i <= 3; i++) if (!(rt_pid[i] in exit_t)) { print "phases.awk: runtime exec " i " did not exit" > "/dev/stderr"; exit 1 }
  # In order along the critical path; a 1 marks the phases a shim holds.
  phase(ctr_connect - ctr_exec, "ctr_startup")
  phase(shim_start - ctr_connect, "containerd_before_shim")
  phase(rt_exec[1] - shim_start, "shim_start_to_create", 1)
  phase(exit_t[rt_pid[1]] - rt_exec[1], "runtime_create")
  phase(rt_exec[2] - exit_t[rt_pid[1]], "create_to_start", 1)
  phase(exit_t[rt_pid[2]] - rt_exec[2], "runtime_start")
  phase(rt_exec[3] - exit_t[rt_pid[2]], "exit_to_delete", 1)
  phase(exit_t[rt_pid[3]] - rt_exec[3], "runtime_delete")
  phase(shim_last - exit_t[rt_pid[3]], "delete_to_shim_delete", 1)
  phase(exit_t[shim_last_pid] - shim_last, "shim_delete", 1)
  phase(exit_t[ctr_pid] - exit_t[shim_last_pid], "after_shim_delete")
  printf "outside_shim %.3f\n", ms(outside)
  printf "wall %.3f\n", ms(exit_t[ctr_pid] - ctr_exec)
  printf "cpu_ctr %.3f\ncpu_containerd %.3f\ncpu_shim %.3f\ncpu_runtime %.3f\n", cpu["ctr"] / 1e6, cpu["containerd"] / 1e6, cpu["shim"] / 1e6, cpu["runtime"] / 1e6
}
