#!/usr/bin/python3
"""A small CRI (runtime.v1) client for the tests and the bench, on Debian's python3-grpcio and
python3-grpc-tools. Run it with /usr/bin/python3: those packages are not in a pyenv python.

    cri.py --endpoint SOCK [--stubs DIR] [--timeout S] COMMAND ARGS...

    version                               VersionResponse
    runp POD.json [HANDLER]               RunPodSandbox; prints the pod id
    inspectp POD_ID                       PodSandboxStatusResponse (verbose: with info)
    pods                                  ListPodSandbox items
    stopp POD_ID / rmp POD_ID             StopPodSandbox / RemovePodSandbox
    create POD_ID CTR.json POD.json       CreateContainer; prints the container id
    start ID / rm ID                      StartContainer / RemoveContainer
    stop ID [GRACE_S]                     StopContainer with that timeout (default 0)
    inspect ID                            ContainerStatusResponse (verbose: with info)
    ps [POD_ID]                           ListContainers, of one pod or all
    stats ID                              ContainerStatsResponse
    update ID RESOURCES.json              UpdateContainerResources (LinuxContainerResources)
    exec-sync [-t S] ID CMD...            ExecSync: the command's stdout and stderr on ours, its
                                          exit code as ours
    exec-many N ID CMD...                 N ExecSync of CMD at once (a thread each); prints one
                                          line "exit=<code>: <count>" per exit code, sorted

A JSON argument is a file or, when it starts with '{', the JSON itself, in protobuf's JSON
mapping of the message named (PodSandboxConfig, ContainerConfig, LinuxContainerResources).
Responses print as JSON with the proto field names and every field (defaults included). An RPC
error prints `rpc error: code = CODE desc = DETAILS` (the form crictl and kubelet print) on
stderr, and the exit status is 125 (for exec-sync too: no command of the tests exits 125).

The stubs are generated from api.proto beside this file into DIR (--stubs, or $CRI_STUBS_DIR,
or a temp dir removed at exit) on first use; nothing generated is kept in the source tree."""

import argparse
import atexit
import importlib
import json
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
RPC_ERROR_STATUS = 125


def load_stubs(stubs_dir):
    """Imports api_pb2 and api_pb2_grpc, generating them into stubs_dir first if needed."""
    if stubs_dir is None:
        stubs_dir = tempfile.mkdtemp(prefix="cri-stubs.")
        atexit.register(shutil.rmtree, stubs_dir, True)
    os.makedirs(stubs_dir, exist_ok=True)
    proto = os.path.join(HERE, "api.proto")
    gen = os.path.join(stubs_dir, "api_pb2_grpc.py")
    if not os.path.exists(gen) or os.path.getmtime(gen) < os.path.getmtime(proto):
        from grpc_tools import protoc
        # Into a private dir then renamed: bats files may generate at the same time.
        tmp = tempfile.mkdtemp(prefix=".gen.", dir=stubs_dir)
        rc = protoc.main(["protoc", "-I" + HERE, "--python_out=" + tmp,
                          "--grpc_python_out=" + tmp, proto])
        if rc != 0:
            sys.exit("cri.py: protoc failed on %s (status %d)" % (proto, rc))
        for name in ("api_pb2.py", "api_pb2_grpc.py"):
            os.replace(os.path.join(tmp, name), os.path.join(stubs_dir, name))
        shutil.rmtree(tmp, True)
    sys.path.insert(0, stubs_dir)
    return importlib.import_module("api_pb2"), importlib.import_module("api_pb2_grpc")


def json_arg(arg, message):
    """Parses a JSON file or inline JSON into a new message of that class."""
    from google.protobuf import json_format
    text = arg if arg.lstrip().startswith("{") else open(arg, encoding="utf-8").read()
    return json_format.Parse(text, message())


def print_message(msg):
    from google.protobuf import json_format
    print(json_format.MessageToJson(msg, preserving_proto_field_name=True,
                                    including_default_value_fields=True, sort_keys=True))


def main():
    ap = argparse.ArgumentParser(description="a small CRI client (see the module doc)")
    ap.add_argument("--endpoint", required=True, help="containerd's gRPC socket path")
    ap.add_argument("--stubs", default=os.environ.get("CRI_STUBS_DIR"))
    ap.add_argument("--timeout", type=float, default=120.0, help="RPC deadline, seconds")
    ap.add_argument("command")
    ap.add_argument("args", nargs=argparse.REMAINDER)
    opts = ap.parse_args()

    import grpc
    pb, pb_grpc = load_stubs(opts.stubs)
    channel = grpc.insecure_channel("unix://" + os.path.abspath(opts.endpoint))
    rt = pb_grpc.RuntimeServiceStub(channel)
    a = opts.args
    t = opts.timeout

    def need(n, usage):
        if len(a) < n:
            sys.exit("usage: cri.py %s %s" % (opts.command, usage))

    try:
        cmd = opts.command
        if cmd == "version":
            print_message(rt.Version(pb.VersionRequest(), timeout=t))
        elif cmd == "runp":
            need(1, "POD.json [HANDLER]")
            req = pb.RunPodSandboxRequest(config=json_arg(a[0], pb.PodSandboxConfig),
                                          runtime_handler=a[1] if len(a) > 1 else "")
            print(rt.RunPodSandbox(req, timeout=t).pod_sandbox_id)
        elif cmd == "inspectp":
            need(1, "POD_ID")
            print_message(rt.PodSandboxStatus(
                pb.PodSandboxStatusRequest(pod_sandbox_id=a[0], verbose=True), timeout=t))
        elif cmd == "pods":
            print_message(rt.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=t))
        elif cmd == "stopp":
            need(1, "POD_ID")
            rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=a[0]), timeout=t)
        elif cmd == "rmp":
            need(1, "POD_ID")
            rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=a[0]), timeout=t)
        elif cmd == "create":
            need(3, "POD_ID CTR.json POD.json")
            req = pb.CreateContainerRequest(pod_sandbox_id=a[0],
                                            config=json_arg(a[1], pb.ContainerConfig),
                                            sandbox_config=json_arg(a[2], pb.PodSandboxConfig))
            print(rt.CreateContainer(req, timeout=t).container_id)
        elif cmd == "start":
            need(1, "ID")
            rt.StartContainer(pb.StartContainerRequest(container_id=a[0]), timeout=t)
        elif cmd == "stop":
            need(1, "ID [GRACE_S]")
            grace = int(a[1]) if len(a) > 1 else 0
            rt.StopContainer(pb.StopContainerRequest(container_id=a[0], timeout=grace),
                             timeout=t + grace)
        elif cmd == "rm":
            need(1, "ID")
            rt.RemoveContainer(pb.RemoveContainerRequest(container_id=a[0]), timeout=t)
        elif cmd == "inspect":
            need(1, "ID")
            print_message(rt.ContainerStatus(
                pb.ContainerStatusRequest(container_id=a[0], verbose=True), timeout=t))
        elif cmd == "ps":
            flt = pb.ContainerFilter(pod_sandbox_id=a[0] if a else "")
            print_message(rt.ListContainers(pb.ListContainersRequest(filter=flt), timeout=t))
        elif cmd == "stats":
            need(1, "ID")
            print_message(rt.ContainerStats(pb.ContainerStatsRequest(container_id=a[0]),
                                            timeout=t))
        elif cmd == "update":
            need(2, "ID RESOURCES.json")
            rt.UpdateContainerResources(pb.UpdateContainerResourcesRequest(
                container_id=a[0], linux=json_arg(a[1], pb.LinuxContainerResources)), timeout=t)
        elif cmd == "exec-sync":
            secs = 0
            if a[:1] == ["-t"]:
                need(2, "[-t S] ID CMD...")
                secs = int(a[1])
                a = a[2:]
            need(2, "[-t S] ID CMD...")
            # Our deadline is later than the exec's own: its DeadlineExceeded must be the CRI
            # plugin's answer, not ours.
            resp = rt.ExecSync(pb.ExecSyncRequest(container_id=a[0], cmd=a[1:], timeout=secs),
                               timeout=t + secs)
            sys.stdout.buffer.write(resp.stdout)
            sys.stdout.flush()
            sys.stderr.buffer.write(resp.stderr)
            sys.stderr.flush()
            return resp.exit_code
        elif cmd == "exec-many":
            need(3, "N ID CMD...")
            codes = {}
            errors = []

            def one():
                try:
                    r = rt.ExecSync(pb.ExecSyncRequest(container_id=a[1], cmd=a[2:]), timeout=t)
                    codes[r.exit_code] = codes.get(r.exit_code, 0) + 1
                except grpc.RpcError as e:
                    errors.append(e)
            import threading
            ths = [threading.Thread(target=one) for _ in range(int(a[0]))]
            for th in ths:
                th.start()
            for th in ths:
                th.join()
            if errors:
                raise errors[0]
            for code in sorted(codes):
                print("exit=%d: %d" % (code, codes[code]))
        else:
            sys.exit("cri.py: unknown command %r (see the module doc)" % cmd)
    except grpc.RpcError as e:
        # grpc-go names codes in CamelCase (DeadlineExceeded); Python in UPPER_SNAKE.
        code = "".join(w.capitalize() for w in e.code().name.split("_"))
        print("rpc error: code = %s desc = %s" % (code, e.details()), file=sys.stderr)
        return RPC_ERROR_STATUS
    return 0


if __name__ == "__main__":
    sys.exit(main())
