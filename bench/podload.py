#!/usr/bin/python3
"""podload.py: one run of the podload figures against one pod (bench/podload.bash runs it).

    podload.py --endpoint SOCK --stubs DIR --csv FILE --shim NAME --run N --shim-pid PID
               --work DIR --pod ID --pod-config POD.json --ctr-config CTR.json CTR_ID...

The pod runs the containers CTR_ID... (4, `sleep`), all in the shim PID. Appends CSV rows
(section podload, bench/measure.bash's columns) to FILE:

  exec1_median, exec32_seq_sum   32 ExecSync `true` one after the other over the containers
  exec32_wall, exec32_median,    the same 32 at once (one thread each, released together):
  exec32_p95, exec32_over_seq    wall, latencies, the wall over the sum of the 32 singles
  exec32_seq_busy, exec32_busy   the machine's CPUs busy during the 32 singles, during the burst
                                 (% of all CPU time, from /proc/stat): how far the burst's wall
                                 can fall below the singles' on this machine
  exec32_inflight                the shim's runtime children at most (bench/inflight.py) in
                                 another burst of 32, not timed
  exec8_wall, exec8_inflight     8 at once: the wall, and the children in another 8, not timed
  create3_exec_median/_max       ExecSync latency on the first container, in a loop, while 3
                                 new containers of the pod are created and started at once
  create4_par_wall, create4_seq_wall, create4_par_over_seq
                                 4 new containers created and started at once, and one after
                                 the other (CreateContainer + StartContainer: the task, and so
                                 the runtime's create, comes with the start)

The containers a figure adds are stopped and removed before the next (not timed). The
concurrency is threads over one gRPC channel: grpc waits without the GIL."""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(BENCH, "..", "tests", "helpers", "cri"))
import cri  # noqa: E402  (tests/helpers/cri/cri.py: the stubs)

BURST = 32
INFLIGHT_EXECS = 8
TIMEOUT = 120.0


def p95(xs):
    """Nearest-rank 95th percentile."""
    s = sorted(xs)
    return s[max(0, -(-95 * len(s) // 100) - 1)]


def cpu_times():
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    idle = v[3] + v[4]  # idle, iowait
    return sum(v) - idle, sum(v)


def busy_since(t0):
    """The share of all the machine's CPU time that was busy since cpu_times() gave t0, in %."""
    b, t = cpu_times()
    return 100.0 * (b - t0[0]) / max(1, t - t0[1])


def main():
    ap = argparse.ArgumentParser()
    for a in ("endpoint", "stubs", "csv", "shim", "run", "shim-pid", "work", "pod",
              "pod-config", "ctr-config"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("ids", nargs="+")
    o = ap.parse_args()

    import grpc
    pb, pbg = cri.load_stubs(o.stubs)
    rt = pbg.RuntimeServiceStub(grpc.insecure_channel("unix://" + o.endpoint))
    pod_cfg = cri.json_arg(o.pod_config, pb.PodSandboxConfig)
    ctr_json = json.load(open(o.ctr_config, encoding="utf-8"))
    ids = o.ids
    csv = open(o.csv, "a", encoding="utf-8")

    def emit(metric, value, unit):
        csv.write(f"podload,{metric},{o.shim},runc,{len(ids)},{o.run},{value:.3f},{unit}\n")
        csv.flush()

    def exec_true(cid):
        t = time.monotonic()
        r = rt.ExecSync(pb.ExecSyncRequest(container_id=cid, cmd=["true"], timeout=60),
                        timeout=TIMEOUT)
        if r.exit_code != 0:
            raise SystemExit(f"podload: exec in {cid} exited {r.exit_code}: {r.stderr!r}")
        return (time.monotonic() - t) * 1000

    def at_once(fns):
        """Runs the functions in threads released together; their results and the wall (ms)."""
        res = [None] * len(fns)
        errs = []
        gate = threading.Barrier(len(fns) + 1)

        def body(i):
            gate.wait()
            try:
                res[i] = fns[i]()
            except Exception as e:  # noqa: BLE001  (reported below, after the join)
                errs.append(e)
        ths = [threading.Thread(target=body, args=(i,)) for i in range(len(fns))]
        for th in ths:
            th.start()
        gate.wait()
        t0 = time.monotonic()
        for th in ths:
            th.join()
        wall = (time.monotonic() - t0) * 1000
        if errs:
            raise errs[0]
        return res, wall

    serial = [0]

    def create_start(name):
        cfg = json.loads(json.dumps(ctr_json))
        cfg["metadata"]["name"] = name
        cfg["log_path"] = name + "_0.log"
        from google.protobuf import json_format
        msg = json_format.ParseDict(cfg, pb.ContainerConfig())
        t = time.monotonic()
        cid = rt.CreateContainer(pb.CreateContainerRequest(
            pod_sandbox_id=o.pod, config=msg, sandbox_config=pod_cfg), timeout=TIMEOUT).container_id
        rt.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=TIMEOUT)
        return cid, (time.monotonic() - t) * 1000

    def new_name():
        serial[0] += 1
        return f"load-{o.run}-{serial[0]}"

    def remove(cids):
        def rm(cid):
            rt.StopContainer(pb.StopContainerRequest(container_id=cid, timeout=0),
                             timeout=TIMEOUT)
            rt.RemoveContainer(pb.RemoveContainerRequest(container_id=cid), timeout=TIMEOUT)
        at_once([lambda c=c: rm(c) for c in cids])

    def sampled(fns):
        """at_once(fns) with inflight.py watching the shim."""
        out = os.path.join(o.work, "inflight")
        for f in (out, out + ".ready", out + ".stop"):
            if os.path.exists(f):
                os.unlink(f)
        sampler = subprocess.Popen([sys.executable, os.path.join(BENCH, "inflight.py"),
                                    o.shim_pid, out])
        while not os.path.exists(out + ".ready"):
            time.sleep(0.01)
        try:
            res, wall = at_once(fns)
        finally:
            open(out + ".stop", "w").close()
            sampler.wait()
        return res, wall, int(open(out).read())

    # Warm-up: each container's first exec.
    for cid in ids:
        exec_true(cid)

    # The burst against 32 singles.
    c0 = cpu_times()
    seq = [exec_true(ids[i % len(ids)]) for i in range(BURST)]
    emit("exec32_seq_busy", busy_since(c0), "%")
    emit("exec1_median", statistics.median(seq), "ms")
    emit("exec32_seq_sum", sum(seq), "ms")
    # Timed bursts run unwatched: the sampler polls /proc every 2 ms and, on a 2-CPU machine,
    # took CPU from the burst it timed (but not from the singles). The counts come from bursts
    # of their own, sampled and not timed.
    def burst(n):
        return [lambda i=i: exec_true(ids[i % len(ids)]) for i in range(n)]
    c0 = cpu_times()
    lat, wall = at_once(burst(BURST))
    emit("exec32_busy", busy_since(c0), "%")
    emit("exec32_wall", wall, "ms")
    emit("exec32_median", statistics.median(lat), "ms")
    emit("exec32_p95", p95(lat), "ms")
    emit("exec32_over_seq", wall / sum(seq), "ratio")
    _, _, peak = sampled(burst(BURST))
    emit("exec32_inflight", peak, "count")

    # Runtime calls in flight for 8 at once.
    _, wall = at_once(burst(INFLIGHT_EXECS))
    emit("exec8_wall", wall, "ms")
    _, _, peak = sampled(burst(INFLIGHT_EXECS))
    emit("exec8_inflight", peak, "count")

    # Exec latency on one container while 3 others are created.
    done = threading.Event()
    during = []

    def prober():
        while not done.is_set():
            during.append(exec_true(ids[0]))
    th = threading.Thread(target=prober)
    th.start()
    try:
        made, _ = at_once([lambda: create_start(new_name()) for _ in range(3)])
    finally:
        done.set()
        th.join()
    emit("create3_exec_median", statistics.median(during), "ms")
    emit("create3_exec_max", max(during), "ms")
    remove([cid for cid, _ in made])

    # 4 creates at once against 4 in sequence.
    made, par = at_once([lambda: create_start(new_name()) for _ in range(4)])
    remove([cid for cid, _ in made])
    made = [create_start(new_name()) for _ in range(4)]
    seq4 = sum(ms for _, ms in made)
    remove([cid for cid, _ in made])
    emit("create4_par_wall", par, "ms")
    emit("create4_seq_wall", seq4, "ms")
    emit("create4_par_over_seq", par / seq4, "ratio")


if __name__ == "__main__":
    main()
