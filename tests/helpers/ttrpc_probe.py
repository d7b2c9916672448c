#!/usr/bin/env python3
"""Sends one malformed or well-formed ttrpc exchange to a shim socket, on a connection of its own,
and prints what came back, one line per event:

    reply sid=N type=T code=C message=M payload=HEX   a frame from the server
    connect shim_pid=N task_pid=M                     a decoded ConnectResponse
    closed                                            the server closed the connection
    open                                              nothing more within the timeout

Usage: ttrpc_probe.py SOCKET CASE [ARG]
  truncated-header      5 bytes of a header, then our write side shut
  oversize              a header announcing 5 MiB (ttrpc's limit is 4 MiB), no body
  garbage SEED [N]      1000 random bytes (random.Random(SEED)), then our write side shut; N
                        connections with seeds SEED.. (default 1)
  garbage-frames SEED [N]
                        as garbage, but the bytes are frames with plausible headers (length
                        < 100, mostly odd ids, type 1, no flags) and random bodies, half
                        of them Requests for a read-only Task method with a junk payload, so
                        they get past the size check to the decoder, dispatcher and handlers
  even-sid ID           Connect{ID} on stream 2, then on stream 3 of the same connection
  unknown-method        containerd.task.v2.Task/NoSuchMethod
  unknown-service       no.such.Service/Connect
  bad-payload           containerd.task.v2.Task/State with a payload that is not a StateRequest
  bad-request           a Request frame whose body is not a ttrpc.Request
  connect ID            Connect{ID}, the bytes containerd 1.6.20 sends (docs/protocol.md)
  half-frame ID         half of a Connect frame, the connection held open; meanwhile Connect{ID}
                        on a second connection must be answered; then the first is closed
  in-flight N ID        N Connect{ID} requests (stream ids 1, 3, ...) written at once on one
                        connection before any reply is read; prints one line
                        "in-flight sent=N replies=R distinct=D errors=E" (replies in any order)
  create ID BUNDLE      Create{id=ID, bundle=BUNDLE} (no rootfs, no stdio, no options)
  exec ID EXEC_ID       Exec{id=ID, exec_id=EXEC_ID} without a process spec
  create-nul ID BUNDLE  as create, with the id ID + NUL + "/../x"
  delete-twice ID BUNDLE ROOT
                        Create{ID, BUNDLE, runc Options{root=ROOT}, no stdio}, Start, Wait
                        (pipelined; read until Wait answers), then Delete, Delete, Shutdown
                        pipelined in one write, and read until the server closes
When the socket cannot be dialled, prints "dial-error ERRNO-NAME" and exits 0.
Wire format: ttrpc v1.1.1 channel.go and types.go, docs/protocol.md "ttrpc" (10-byte big-endian
header: length, stream id, type, flags).
Only the standard library: socket and struct."""

import errno
import random
import socket
import struct
import sys
import threading

TIMEOUT = 5.0
TASK = b"containerd.task.v2.Task"
READ_ONLY = [b"State", b"Pids", b"Stats", b"Connect", b"Wait", b"NoSuchMethod"]


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data


def request(service, method, payload=b""):
    body = field(1, service) + field(2, method)
    if payload:
        body += field(3, payload)
    return body


def frame(sid, body, type_=1, flags=0, length=None):
    return struct.pack(">IIBB", len(body) if length is None else length, sid, type_, flags) + body


def parse_fields(data):
    """{field number: [values]}: ints for varints, bytes for length-delimited."""
    out, i = {}, 0
    while i < len(data):
        key, i = read_varint(data, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, i = read_varint(data, i)
        elif wire == 2:
            n, i = read_varint(data, i)
            v, i = data[i:i + n], i + n
        else:
            raise ValueError("wire type %d" % wire)
        out.setdefault(num, []).append(v)
    return out


def read_varint(data, i):
    shift = v = 0
    while True:
        b = data[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            if buf:
                raise ValueError("connection closed inside a frame")
            return None
        buf += chunk
    return buf


def read_frames(sock, want=None):
    """Prints replies until the server closes, `want` frames arrived, or the timeout. Returns
    the payloads of the Responses read."""
    payloads = []
    while want is None or len(payloads) < want:
        try:
            header = recv_exact(sock, 10)
        except socket.timeout:
            print("open")
            return payloads
        except ConnectionResetError:
            header = None
        if header is None:
            print("closed")
            return payloads
        length, sid, type_, _flags = struct.unpack(">IIBB", header)
        data = recv_exact(sock, length) if length else b""
        resp = parse_fields(data) if type_ == 2 else {}
        status = parse_fields(resp[1][0]) if 1 in resp else {}
        code = status.get(1, [0])[0]
        message = status.get(2, [b""])[0].decode(errors="replace")
        payload = resp.get(2, [b""])[0]
        print("reply sid=%d type=%d code=%d message=%s payload=%s" % (sid, type_, code, message, payload.hex()))
        payloads.append(payload)
    return payloads


def send_then_shut(sock, data):
    """The server may close while we are still sending (it stops at the first bad header)."""
    try:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
    except (BrokenPipeError, ConnectionResetError):
        pass


def garbage_frames(rng, size):
    out = b""
    while len(out) < size:
        junk = bytes(rng.getrandbits(8) for _ in range(rng.randrange(100)))
        # Half are Requests for read-only methods (never Create or Shutdown) with a junk payload.
        body = request(TASK, rng.choice(READ_ONLY), junk) if rng.getrandbits(1) else junk
        # Mostly odd ids, Requests and no flags, so that a connection is not closed at once.
        sid = rng.getrandbits(32) | (1 if rng.random() < 0.8 else 0)
        type_ = 1 if rng.random() < 0.9 else rng.randrange(2, 5)
        flags = 0 if rng.random() < 0.8 else rng.getrandbits(8)
        out += frame(sid, body, type_=type_, flags=flags)
    return out[:size]


def print_connect(payload):
    f = parse_fields(payload)
    print("connect shim_pid=%d task_pid=%d" % (f.get(1, [0])[0], f.get(2, [0])[0]))


def dial(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(TIMEOUT)
    sock.connect(path)
    return sock


def main():
    path, case = sys.argv[1], sys.argv[2]
    arg = sys.argv[3] if len(sys.argv) > 3 else ""
    if case in ("garbage", "garbage-frames"):
        count = int(sys.argv[4]) if len(sys.argv) > 4 else 1
        for seed in range(int(arg), int(arg) + count):
            rng = random.Random(seed)
            if case == "garbage":
                data = bytes(rng.getrandbits(8) for _ in range(1000))
            else:
                data = garbage_frames(rng, 1000)
            sock = dial(path)
            send_then_shut(sock, data)
            read_frames(sock)
            sock.close()
        return
    try:
        sock = dial(path)
    except OSError as e:
        print("dial-error %s" % errno.errorcode.get(e.errno, e.errno))
        return
    connect = request(TASK, b"Connect", field(1, arg.encode()))

    if case == "truncated-header":
        send_then_shut(sock, frame(1, b"", length=40)[:5])
        read_frames(sock)
    elif case == "oversize":
        sock.sendall(frame(1, b"", length=5 << 20))
        read_frames(sock)
    elif case == "even-sid":
        sock.sendall(frame(2, connect))
        read_frames(sock, 1)
        sock.sendall(frame(3, connect))
        for payload in read_frames(sock, 1):
            print_connect(payload)
    elif case == "unknown-method":
        sock.sendall(frame(1, request(TASK, b"NoSuchMethod")))
        read_frames(sock, 1)
    elif case == "unknown-service":
        sock.sendall(frame(1, request(b"no.such.Service", b"Connect")))
        read_frames(sock, 1)
    elif case == "bad-payload":
        sock.sendall(frame(1, request(TASK, b"State", b"\x0a\xff\xff\xff")))
        read_frames(sock, 1)
    elif case == "bad-request":
        sock.sendall(frame(1, b"\x0a\xff\xff\xff"))
        read_frames(sock, 1)
    elif case == "connect":
        # A server that refuses the peer (SO_PEERCRED) may close before the request is out.
        try:
            sock.sendall(frame(3, connect))
        except (BrokenPipeError, ConnectionResetError):
            pass
        for payload in read_frames(sock, 1):
            print_connect(payload)
    elif case == "half-frame":
        whole = frame(1, connect)
        sock.sendall(whole[:len(whole) // 2])
        other = dial(path)
        other.sendall(frame(3, connect))
        for payload in read_frames(other, 1):
            print_connect(payload)
        other.close()
    elif case == "in-flight":
        n = int(arg)
        connect = request(TASK, b"Connect", field(1, sys.argv[4].encode()))
        sock.settimeout(60)
        sent = b"".join(frame(2 * i + 1, connect) for i in range(n))
        replies, sids, errors = 0, set(), 0
        writer = threading.Thread(target=sock.sendall, args=(sent,))
        writer.start()
        while replies < n:
            header = recv_exact(sock, 10)
            if header is None:
                break
            length, sid, _type, _flags = struct.unpack(">IIBB", header)
            data = recv_exact(sock, length) if length else b""
            resp = parse_fields(data)
            status = parse_fields(resp[1][0]) if 1 in resp else {}
            if status.get(1, [0])[0] != 0:
                errors += 1
            replies += 1
            sids.add(sid)
        writer.join()
        print("in-flight sent=%d replies=%d distinct=%d errors=%d" % (n, replies, len(sids), errors))
    elif case == "create":
        sock.sendall(frame(1, request(TASK, b"Create", field(1, arg.encode()) + field(2, sys.argv[4].encode()))))
        read_frames(sock, 1)
    elif case == "create-nul":
        bad = arg.encode() + b"\0/../x"
        sock.sendall(frame(1, request(TASK, b"Create", field(1, bad) + field(2, sys.argv[4].encode()))))
        read_frames(sock, 1)
    elif case == "exec":
        sock.sendall(frame(1, request(TASK, b"Exec", field(1, arg.encode()) + field(2, sys.argv[4].encode()))))
        read_frames(sock, 1)
    elif case == "delete-twice":
        bundle, root = sys.argv[4].encode(), sys.argv[5].encode()
        sock.settimeout(60)
        options = field(1, b"containerd.runc.v1.Options") + field(2, field(7, root))
        ident = field(1, arg.encode())
        create = ident + field(2, bundle) + field(10, options)
        sock.sendall(frame(1, request(TASK, b"Create", create)) + frame(3, request(TASK, b"Start", ident))
                     + frame(5, request(TASK, b"Wait", ident)))
        read_frames(sock, 3)
        sock.sendall(frame(7, request(TASK, b"Delete", ident)) + frame(9, request(TASK, b"Delete", ident))
                     + frame(11, request(TASK, b"Shutdown", ident)))
        read_frames(sock)
    else:
        sys.exit("unknown case " + case)
    sock.close()


if __name__ == "__main__":
    main()
