#!/usr/bin/env python3
"""bench/exec-phases.py OUT: the phase table of bench/exec-phases.sh from the raw data in OUT.

Inputs (written by exec-phases.sh): times.txt (the loop's rounds), shims.txt (label pid),
offset (CLOCK_REALTIME - CLOCK_MONOTONIC), sched.txt and sys.txt (`perf script` of the sched
tracepoints, system-wide, and of the shims' read/write/sendto), containerd.log (its debug log).

How the marks are found, per exec (the window between the loop's two $EPOCHREALTIME stamps):
- ctr: the exec of /usr/bin/ctr and the exit of its thread group;
- runc: the shim's fork in the window, that child's exec and exit; `true`: the first exec of /bin/true
  after the fork, and its exit;
- the shim's ttrpc connection is the fd on which the Exec request arrives (the only read over
  500 bytes); requests are reads on it, replies writes. Start's request is the last read before
  the fork; replies are told apart by their size (ttrpc header 10 bytes + message): Start's
  carries a pid (13-16), Wait's a timestamp (20-27), Delete's both (28-31); Delete is the last
  request of the window;
- events: containerd's "event forwarded" lines (when containerd took them).
"""
import collections
import datetime
import re
import statistics
import sys

EVENT_RE = re.compile(r'time="([^"]+)".*msg="event forwarded".*topic=(\S+)')
PERF_RE = re.compile(r'^\s*(.*?)\s+(\d+)/(\d+)\s+([\d.]+):\s+(\S+):\s*(.*)$')

PHASES = [
    ("1 ctr start-up > Exec request (ctr, containerd)", "t0", "exec_req"),
    ("2 Exec RPC (shim)", "exec_req", "exec_rep"),
    ("3 Exec reply > Start request (ctr, containerd)", "exec_rep", "start_req"),
    ("4 Start request > fork of runc (shim)", "start_req", "fork"),
    ("5 runc exec --detach (fork > runc exit)", "fork", "runc_exit"),
    ("   fork > exec of runc (the shim's child until execve)", "fork", "runc_exec"),
    ("   fork > exec of `true`", "fork", "true_exec"),
    ("6 runc exit > Start reply (shim)", "runc_exit", "start_rep"),
    ("7 `true` exit > Wait reply (shim)", "true_exit", "wait_rep"),
    ("   the same, from the Start reply if later", "exit_seen", "wait_rep"),
    ("8 Wait reply > Delete request (containerd, ctr)", "wait_rep", "del_req"),
    ("9 Delete RPC (shim)", "del_req", "del_rep"),
    ("10 Delete reply > ctr exit (containerd, ctr)", "del_rep", "ctr_exit"),
    ("11 ctr exit > bash", "ctr_exit", "t1"),
    ("TaskExecAdded forwarded, after Exec reply", "exec_rep", "ev:exec-added"),
    ("TaskExecStarted forwarded, after Start reply", "start_rep", "ev:exec-started"),
    ("TaskExit forwarded, after `true` exit", "true_exit", "ev:exit"),
]
SHIM_OWN = [("exec_req", "exec_rep"), ("start_req", "fork"), ("runc_exit", "start_rep"),
            ("del_req", "del_rep"), ("exit_seen", "wait_rep")]
CPU = ["CPU: ctr (runc for the floor)", "CPU: containerd", "CPU: shim",
       "CPU: reaped by the shim (runc, `true`)"]


def perf_lines(path):
    out = []
    with open(path) as f:
        for line in f:
            m = PERF_RE.match(line)
            if m:
                out.append((float(m.group(4)), int(m.group(2)), int(m.group(3)), m.group(5), m.group(6)))
    return out


def fields(text):
    return dict(re.findall(r"(\w+)=(\S+)", text))


def group_exit(events, tgid):
    for t, pid, _, name, rest in events:
        if name == "sched:sched_process_exit" and pid == tgid and "group_dead=true" in rest:
            return t
    return None


def marks(t0, t1, shim, sched, sysc, events):
    m = {"t0": t0, "t1": t1}
    w = [e for e in sched if t0 <= e[0] <= t1 + 0.005]
    execs = [e for e in w if e[3] == "sched:sched_process_exec"]
    ctr = [e for e in execs if fields(e[4]).get("filename") == "/usr/bin/ctr"]
    if ctr:
        m["ctr_exec"] = ctr[0][0]
        m["ctr_exit"] = group_exit(w, ctr[0][1])
    forks = [e for e in w if e[3] == "sched:sched_process_fork" and e[1] == shim]
    if forks:
        m["fork"] = forks[0][0]
        child = int(fields(forks[0][4])["child_pid"])
        m["runc_exit"] = group_exit(w, child)
        runc = [e for e in execs if e[1] == child]
        if runc:
            m["runc_exec"] = runc[0][0]
        true = [e for e in execs if fields(e[4]).get("filename") == "/bin/true" and e[0] > m["fork"]]
        if true:
            m["true_exec"] = true[0][0]
            m["true_exit"] = group_exit(w, true[0][1])

    fd_of = {}
    reads, writes = [], []
    for t, pid, tid, name, rest in sysc:
        if pid != shim or not t0 <= t <= t1:
            continue
        if name == "syscalls:sys_enter_read":
            fd_of[tid] = int(re.search(r"fd: (0x[0-9a-f]+)", rest).group(1), 16)
        elif name == "syscalls:sys_exit_read":
            ret = int(rest.strip(), 16)
            fd = fd_of.pop(tid, None)
            if ret < 1 << 63 and ret > 0:
                reads.append((t, fd, ret))
        else:
            f = re.search(r"fd: (0x[0-9a-f]+).*?(?:count|len): (0x[0-9a-f]+)", rest)
            writes.append((t, int(f.group(1), 16), int(f.group(2), 16)))
    big = [r for r in reads if r[2] > 500]
    if big:
        conn = big[0][1]
        m["exec_req"] = big[0][0]
        creads = [r for r in reads if r[1] == conn]
        cwrites = [x for x in writes if x[1] == conn]
        after = [x for x in cwrites if x[0] > m["exec_req"]]
        if after:
            m["exec_rep"] = after[0][0]
        if "fork" in m:
            before = [r for r in creads if r[0] < m["fork"]]
            if before:
                m["start_req"] = before[-1][0]
        for key, lo, hi, pick in (("start_rep", 13, 16, 0), ("wait_rep", 20, 27, 0), ("del_rep", 28, 31, -1)):
            sized = [x for x in cwrites if lo <= x[2] <= hi]
            if sized:
                m[key] = sized[pick][0]
        m["del_req"] = creads[-1][0]
    # Phase 7 without what overlaps phase 6: `true` may exit before Start has been answered.
    if "true_exit" in m and "start_rep" in m:
        m["exit_seen"] = max(m["true_exit"], m["start_rep"])
    for t, topic in events:
        if t0 <= t <= t1:
            m.setdefault("ev:" + topic.replace("/tasks/", ""), t)
    return {k: v for k, v in m.items() if v is not None}


def main():
    out = sys.argv[1]
    offset = float(open(f"{out}/offset").read())
    shims = dict(line.split() for line in open(f"{out}/shims.txt"))
    sched = perf_lines(f"{out}/sched.txt")
    sysc = perf_lines(f"{out}/sys.txt")
    events = []
    for line in open(f"{out}/containerd.log"):
        e = EVENT_RE.search(line)
        if e:
            stamp = e.group(1)
            whole = datetime.datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S")
            t = whole.replace(tzinfo=datetime.timezone.utc).timestamp() + float("0." + stamp[20:].rstrip("Z"))
            events.append((t - offset, e.group(2)))

    cols = collections.OrderedDict()
    for line in open(f"{out}/times.txt"):
        f = line.split()
        kind, label = f[0], f[1]
        t0, t1 = float(f[3]) - offset, float(f[4]) - offset
        col = cols.setdefault(label if kind == "exec" else kind, collections.defaultdict(list))
        col["wall"].append((t1 - t0) * 1000)
        for name, v in zip(CPU, f[5:]):
            col[name].append(int(v))
        if kind != "exec":
            continue
        m = marks(t0, t1, int(shims[label]), sched, sysc, events)
        for name, a, b in PHASES:
            if a in m and b in m:
                col[name].append((m[b] - m[a]) * 1000)
        if all(a in m and b in m for a, b in SHIM_OWN):
            col["shim's own: 2 + 4 + 6 + 7 + 9"].append(sum(m[b] - m[a] for a, b in SHIM_OWN) * 1000)

    rows = ["wall"] + CPU + [p[0] for p in PHASES] + ["shim's own: 2 + 4 + 6 + 7 + 9"]
    print("| ms | " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for row in rows:
        cells = []
        for col in cols.values():
            v = col.get(row)
            if not v:
                cells.append("")
            elif row in CPU:
                cells.append(f"{statistics.mean(v):.0f} (mean)")
            else:
                cells.append(f"{statistics.median(v):.1f} [{min(v):.1f}-{max(v):.1f}]"
                             + (f" n={len(v)}" if len(v) != len(col['wall']) else ""))
        print(f"| {row} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
