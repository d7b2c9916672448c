#!/usr/bin/python3
"""inflight.py PID OUT: creates OUT.ready, then until OUT.stop exists counts the runtime calls the
shim PID has in flight (its children running the runtime: comm `runc`) every 2 ms, and writes
the largest count to OUT. A process of its own, so that the sampling does not share a GIL (or a
CPU slice) with the client it watches. Used by the podexec and podload sections."""
import glob
import os
import sys
import time


def in_flight(pid):
    n = 0
    for f in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            kids = open(f).read().split()
        except OSError:
            continue
        for k in kids:
            try:
                if open(f"/proc/{k}/comm").read().strip() == "runc":
                    n += 1
            except OSError:
                pass
    return n


def main():
    pid, out = sys.argv[1], sys.argv[2]
    peak = 0
    open(out + ".ready", "w").close()
    while not os.path.exists(out + ".stop"):
        peak = max(peak, in_flight(pid))
        time.sleep(0.002)
    with open(out, "w") as f:
        f.write(f"{peak}\n")


if __name__ == "__main__":
    main()
