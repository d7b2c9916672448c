#!/usr/bin/env python3
"""Writes the generated seeds of fuzz/corpus/ (ttrpc frames and task request sequences, encoded by
hand with the field numbers of proto/*.proto), next to the copied ones (config.json, features,
log.json lines). Run from the repository root: fuzz/corpus/make-seeds.py"""
import json
import os
import shutil
import struct

METHODS = ["State", "Create", "Start", "Delete", "Pids", "Pause", "Resume", "Checkpoint", "Kill",
           "Exec", "ResizePty", "CloseIO", "Update", "Wait", "Stats", "Connect", "Shutdown"]


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def fld(num, value):
    if isinstance(value, bool):
        return varint(num << 3) + varint(int(value))
    if isinstance(value, int):
        return varint(num << 3) + varint(value & 0xFFFFFFFFFFFFFFFF)
    if isinstance(value, str):
        value = value.encode()
    return varint(num << 3 | 2) + varint(len(value)) + value


def msg(*fields):
    return b"".join(fld(n, v) for n, v in fields)


def any_(type_url, value):
    return msg((1, type_url), (2, value))


def frame(stream, typ, data, flags=0):
    return struct.pack(">IIBB", len(data), stream, typ, flags) + data


def request(service, method, payload, ns="default"):
    return msg((1, service), (2, method), (3, payload), (5, msg((1, "containerd-namespace-ttrpc"), (2, ns))))


def write(target, name, data):
    d = os.path.join("fuzz/corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


V2 = "containerd.task.v2.Task"
runc_opts = any_("containerd.runc.v1.Options", msg((6, "runc"), (7, "/run/containerd/runc"), (9, False)))
process = json.dumps({"args": ["/bin/sh", "-c", "echo hi"], "cwd": "/", "env": ["PATH=/bin"],
                      "user": {"uid": 0, "gid": 0}}).encode()
reqs = {
    "Connect": msg((1, "c1")),
    "Create": msg((1, "c1"), (2, "/run/containerd/io.containerd.runtime.v2.task/default/c1"),
                  (3, msg((1, "overlay"), (2, "overlay"), (4, "lowerdir=/a:/b"), (4, "upperdir=/u"), (4, "workdir=/w"))),
                  (5, "/run/containerd/fifo/1/c1-stdin"), (6, "/run/containerd/fifo/1/c1-stdout"),
                  (10, runc_opts)),
    "Start": msg((1, "c1")),
    "State": msg((1, "c1")),
    "Exec": msg((1, "c1"), (2, "e1"), (7, any_("types.containerd.io/opencontainers/runtime-spec/1/Process", process))),
    "StartExec": msg((1, "c1"), (2, "e1")),
    "KillExec": msg((1, "c1"), (2, "e1"), (3, 9)),
    "WaitExec": msg((1, "c1"), (2, "e1")),
    "DeleteExec": msg((1, "c1"), (2, "e1")),
    "Pids": msg((1, "c1")),
    "Pause": msg((1, "c1")),
    "Resume": msg((1, "c1")),
    "Update": msg((1, "c1"), (2, any_("types.containerd.io/opencontainers/runtime-spec/1/LinuxResources",
                                      b'{"memory":{"limit":1048576}}'))),
    "CloseIO": msg((1, "c1"), (3, True)),
    "ResizePty": msg((1, "c1"), (3, 80), (4, 24)),
    "Stats": msg((1, "c1")),
    "Checkpoint": msg((1, "c1"), (2, "/tmp/cp")),
    "Kill": msg((1, "c1"), (3, 9), (4, True)),
    "Delete": msg((1, "c1")),
    "Shutdown": msg((1, "c1")),
}

# ttrpc_frame: [chunk size byte] + frames.
frames = {
    "connect": frame(1, 1, request(V2, "Connect", reqs["Connect"])),
    "create": frame(3, 1, request(V2, "Create", reqs["Create"])),
    "pipelined": frame(1, 1, request(V2, "State", reqs["State"])) + frame(3, 1, request(V2, "Pids", reqs["Pids"])),
    "response-ok": frame(1, 2, msg((2, msg((1, 4242))))),
    "response-error": frame(5, 2, msg((1, msg((1, 5), (2, "container not created: not found"))))),
    "empty": frame(7, 1, b""),
    "oversized-header": struct.pack(">IIBB", 5 << 20, 1, 1, 0),
}
for name, data in frames.items():
    write("ttrpc_frame", name, b"\x00" + data)
    write("ttrpc_frame", name + "-bytewise", b"\x01" + data)


def rec(method, payload, v3=False, pipelined=False):
    idx = METHODS.index(method)
    return bytes([idx | (0x80 if v3 else 0)]) + struct.pack("<H", len(payload) | (0x8000 if pipelined else 0)) + payload


life = [rec("Connect", reqs["Connect"]), rec("Create", reqs["Create"]), rec("Start", reqs["Start"]),
        rec("State", reqs["State"]), rec("Exec", reqs["Exec"]), rec("Start", reqs["StartExec"]),
        rec("State", reqs["StartExec"]), rec("Kill", reqs["KillExec"]), rec("Wait", reqs["WaitExec"]),
        rec("Delete", reqs["DeleteExec"]), rec("Pids", reqs["Pids"]), rec("Pause", reqs["Pause"]),
        rec("Resume", reqs["Resume"]), rec("Update", reqs["Update"]), rec("CloseIO", reqs["CloseIO"]),
        rec("ResizePty", reqs["ResizePty"]), rec("Stats", reqs["Stats"]), rec("Checkpoint", reqs["Checkpoint"]),
        rec("Kill", reqs["Kill"]), rec("Delete", reqs["Delete"]), rec("Shutdown", reqs["Shutdown"])]
write("task_dispatch", "lifecycle", b"".join(life))
write("task_dispatch", "lifecycle-v3", b"".join(r[:1].replace(r[:1], bytes([r[0] | 0x80])) + r[1:] for r in life))
for m in METHODS:
    key = m if m in reqs else "State"
    write("task_dispatch", "one-" + m.lower(), rec(m, reqs[key]))
write("task_dispatch", "pipelined", b"".join(bytes([r[0]]) + bytes([r[1], r[2] | 0x80]) + r[3:] for r in life[:4])
      + b"".join(life[4:]))
write("task_dispatch", "create-twice", rec("Create", reqs["Create"]) * 2 + rec("Delete", reqs["Delete"]) * 2)
write("task_dispatch", "unknown-method", bytes([len(METHODS)]) + struct.pack("<H", 2) + msg((1, "x")))
write("task_dispatch", "raw-bytes", bytes([len(METHODS) + 1]) + struct.pack("<H", 12) + struct.pack(">IIBB", 2, 2, 1, 0) + b"\x0a\x00")

# spec_check: [features selector byte] + config.json (+ NUL + features for selector 3).
bundle_config = os.path.join("tests/fixtures/features")
idmap = {"ociVersion": "1.0.2", "process": {"args": ["sh"], "capabilities": {"bounding": ["CAP_CHOWN", "CAP_BPF"]}},
         "mounts": [{"destination": "/data", "type": "bind", "source": "/srv", "options": ["rbind", "idmap"],
                     "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}],
         "linux": {"namespaces": [{"type": "pid"}, {"type": "time"}],
                   "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "flags": ["SECCOMP_FILTER_FLAG_LOG"],
                               "architectures": ["SCMP_ARCH_X86_64"],
                               "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW",
                                             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]}]},
                   "intelRdt": {"closID": "x"}, "netDevices": {"eth0": {}}},
         "annotations": {"run.oci.keep_original_groups": "1"}, "hooks": {"createRuntime": [{"path": "/bin/true"}]}}
for sel in range(4):
    write("spec_check", "idmap-%d" % sel, bytes([sel]) + json.dumps(idmap).encode())
with open("tests/fixtures/features/runc-1.1.5.json", "rb") as f:
    write("spec_check", "own-features", bytes([3]) + json.dumps(idmap).encode() + b"\0" + f.read())
write("spec_check", "invalid", b"\x00{\"ociVersion\": ")
write("spec_check", "not-object", b"\x01[1,2]")

# runtime_output: log.json as runc and crun write it, state, ps and --version outputs.
logs = {
    "runc-log": b'{"level":"info","msg":"hello","time":"2023-01-01T00:00:00Z"}\n'
                b'{"level":"error","msg":"container_linux.go:380: starting container process caused: exec: \\"nope\\": executable file not found in $PATH","time":"2023-01-01T00:00:01Z"}\n',
    "crun-log": b'{"msg": "executable file `nope` not found in $PATH: No such file or directory", "level": "error", "time": "2023-01-01T00:00:00.000000Z"}\n',
    "youki-log": b'{"level":"ERROR","message":"failed","target":"youki"}',
    "state": b'{"ociVersion":"1.0.2-dev","id":"c1","pid":4242,"status":"running","bundle":"/b","rootfs":"/b/rootfs","created":"2023-01-01T00:00:00Z","owner":""}',
    "ps": b"[1,2,3]",
    "ps-null": b"null",
    "version-runc": b"runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+b1\nspec: 1.0.2-dev\ngo: go1.19.8\nlibseccomp: 2.5.4\n",
    "version-crun": b"crun version 1.8.1\ncommit: f8a096be060b22ccd3d5f3ebe44108517fbf6c30\nrundir: /run/crun\nspec: 1.0.0\n+SYSTEMD +SELINUX +APPARMOR +CAP +SECCOMP +EBPF +YAJL\n",
}
for name, data in logs.items():
    write("runtime_output", name, data)

# mount_options: NUL-separated option words, and mountinfo lines.
mounts = {
    "overlay": b"lowerdir=/var/lib/l1:/var/lib/l2\0upperdir=/var/lib/u\0workdir=/var/lib/w\0index=off",
    "bind-ro": b"rbind\0ro\0nosuid\0nodev\0rprivate",
    "flags": b"defaults\0rw\0suid\0dev\0exec\0async\0atime\0nodiratime\0relatime\0strictatime\0sync\0remount\0rslave",
    "mountinfo": b"36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n"
                 b"22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw\n",
}
for name, data in mounts.items():
    write("mount_options", name, data)

# shim_start: argv words as containerd 1.6.20 passes them, NUL-separated; "--config--" then config.json.
start_argv = [b"-namespace", b"default", b"-address", b"/run/containerd/containerd.sock", b"-publish-binary",
              b"/usr/bin/containerd", b"-id", b"c1", b"-debug", b"start"]
delete_argv = [b"--namespace=k8s.io", b"-address", b"/run/containerd/containerd.sock", b"-id", b"c2", b"-bundle",
               b"/run/containerd/io.containerd.runtime.v2.task/k8s.io/c2", b"delete"]
cri = json.dumps({"annotations": {"io.kubernetes.cri.sandbox-id": "sandbox1",
                                  "io.kubernetes.cri.container-type": "container"}}).encode()
write("shim_start", "start", b"\0".join(start_argv))
write("shim_start", "delete", b"\0".join(delete_argv))
write("shim_start", "daemon-grouped", b"\0".join([b"-namespace", b"k8s.io", b"-id", b"c3", b"-address",
                                                  b"/run/containerd/containerd.sock", b"--config--"]) + b"\0" + cri)
write("shim_start", "bad-flags", b"\0".join([b"---x", b"-debug=maybe", b"-unknown", b"v", b"-id"]))

# go_buildinfo: a .go.buildinfo section as Go 1.18+ writes it (lib/base/gobuildinfo.h), alone and in
# the smallest ELF file (64-bit little-endian: null section, .shstrtab, .go.buildinfo).
MODINFO_START = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6"


def buildinfo(main):
    info = MODINFO_START + b"path\t" + main + b"\nbuild\t-compiler=gc\n"
    go = b"go1.23.5"
    return b"\xff Go buildinf:" + bytes([8, 2]) + bytes(16) + varint(len(go)) + go + varint(len(info)) + info


def elf(section):
    names = b"\0.shstrtab\0.go.buildinfo\0"
    names_off = 64
    data_off = names_off + len(names)
    shoff = data_off + len(section)
    ehdr = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9) + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0, 0, shoff, 0, 64, 0, 0,
                                                                 64, 3, 1)
    shdr = bytes(64)
    shdr += struct.pack("<IIQQQQIIQQ", 1, 3, 0, 0, names_off, len(names), 0, 0, 1, 0)
    shdr += struct.pack("<IIQQQQIIQQ", 11, 1, 0, 0, data_off, len(section), 0, 0, 16, 0)
    return ehdr + names + section + shdr


write("go_buildinfo", "elf-containerd-2", elf(buildinfo(b"github.com/containerd/containerd/v2/cmd/containerd")))
write("go_buildinfo", "elf-containerd-1", elf(buildinfo(b"github.com/containerd/containerd/cmd/containerd")))
write("go_buildinfo", "section-containerd-2", buildinfo(b"github.com/containerd/containerd/v2/cmd/containerd"))
