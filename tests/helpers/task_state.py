#!/usr/bin/env python3
"""Calls containerd.task.v2.Task/State on a shim socket and prints the StateResponse, one
`name=value` line per field, in field order, every field present (proto3 defaults filled in), so
that two shims' answers can be compared line by line:

    task_state.py SOCKET ID [EXEC_ID]

exited_at prints as `zero` (Go's zero time, unset), `epoch` (1970, a shim that forgot to set it)
or `set`; status prints its enum name. On an error reply it prints `error code=C message=M`.
Framing and decoding come from ttrpc_probe.py (docs/protocol.md, "ttrpc")."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ttrpc_probe as p  # noqa: E402

STATUS = {0: "UNKNOWN", 1: "CREATED", 2: "RUNNING", 3: "STOPPED", 4: "PAUSED", 5: "PAUSING"}
GO_ZERO_SECONDS = -62135596800


def signed64(v):
    return v - (1 << 64) if v >= 1 << 63 else v


def main():
    path, cid = sys.argv[1], sys.argv[2]
    exec_id = sys.argv[3] if len(sys.argv) > 3 else ""
    req = p.field(1, cid.encode())
    if exec_id:
        req += p.field(2, exec_id.encode())
    sock = p.dial(path)
    sock.sendall(p.frame(1, p.request(p.TASK, b"State", req)))
    header = p.recv_exact(sock, 10)
    length = int.from_bytes(header[:4], "big")
    resp = p.parse_fields(p.recv_exact(sock, length))
    if 1 in resp:
        status = p.parse_fields(resp[1][0])
        print("error code=%d message=%s" % (status.get(1, [0])[0], status.get(2, [b""])[0].decode()))
        return
    f = p.parse_fields(resp.get(2, [b""])[0])

    def s(num):
        return f.get(num, [b""])[0].decode()

    def n(num):
        return f.get(num, [0])[0]

    ts = p.parse_fields(f[10][0]) if 10 in f else {}
    secs = signed64(ts.get(1, [0])[0])
    exited = "zero" if secs == GO_ZERO_SECONDS else "epoch" if secs == 0 else "set"
    print("id=%s" % s(1))
    print("bundle=%s" % s(2))
    print("pid=%d" % n(3))
    print("status=%s" % STATUS.get(n(4), n(4)))
    print("stdin=%s" % s(5))
    print("stdout=%s" % s(6))
    print("stderr=%s" % s(7))
    print("terminal=%s" % ("true" if n(8) else "false"))
    print("exit_status=%d" % n(9))
    print("exited_at=%s" % exited)
    print("exec_id=%s" % s(11))


if __name__ == "__main__":
    main()
