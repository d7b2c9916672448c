# The frame of the CRI suites: a private containerd (containerd.bash) with the cri plugin on,
# three runtime handlers, and a CRI client (cri/cri.py). Load after common and containerd.
#
#   cri_start                  containerd with cri, the busybox and pause images in k8s.io
#   cri_ ARGS...               cri/cri.py against it (see its doc), under a timeout
#   cri_pod NAME HANDLER       runs a host-network pod; prints its id (config in CRI_DIR/NAME.pod.json)
#   cri_ctr POD_ID POD_NAME NAME [--attempt N] [--tty] [--mem BYTES] -- CMD...
#                              creates and starts a container in that pod; prints its id
#   cri_pod_rm ID              stops and removes a pod (and its containers)
#   cri_leak_check             no pod, container, task, shim, mount, cgroup, state entry left
#   cri_cgroup_file ID CTRL V1FILE V2FILE   the path of a container's cgroup file
#   CRI_HANDLERS               runc wedge wedge-runc-type
#
# The handlers:
#   runc             io.containerd.runc.v2, containerd's own runc shim: what wedge is compared with
#   wedge            io.containerd.wedge.v2: containerd finds containerd-shim-wedge-v2 in its
#                    PATH (the build's src dir is first there, containerd.bash)
#   wedge-runc-type  runtime_type io.containerd.runc.v2 with runtime_path = the built shim:
#                    containerd starts that binary instead of containerd-shim-runc-v2 and, the
#                    type being runc's, sends it runc's options (runcoptions.Options).
#                    containerd 1.6.20 reads runtime_path but drops it: its client's NewTask
#                    never copies WithRuntimePath's value into the CreateTaskRequest (fixed in
#                    1.6.21 and 1.7.1, containerd commit "WithRuntimePath uses the
#                    TaskInfo.RuntimePath field"), so the handler would silently run
#                    containerd-shim-runc-v2. On such a containerd (cri_runtime_path_dropped)
#                    the suite stands in for the fix with a
#                    containerd-shim-runc-v2 first in containerd's PATH (CTRD_DIR/bin) that runs
#                    wedge for the pods of this handler (their names end in -wedge-runc-type,
#                    which CRI puts in every spec's io.kubernetes.cri.sandbox-name annotation;
#                    containerd runs a shim in the bundle dir) and the real runc shim for the
#                    others: what wedge receives is what runtime_path gives on later versions.
#                    On the others (2.x with WEDGE_CONTAINERD_BIN, containerd.bash) runtime_path
#                    itself does it.
# Each wedge form also gets a runc Root the way that form passes options (a ConfigPath file for
# wedge, the options table for wedge-runc-type); cri.bats checks runc's state lands there.
# Pods use the host network (no CNI here) and cgroup_parent /$CTRD_NS, so their cgroups are
# under the instance's own dirs that containerd_leak_check and containerd_teardown look at.
# restrict_oom_score_adj: root on the test machines lacks CAP_SYS_RESOURCE, and runc cannot
# give the sandbox the oom_score_adj -998 that CRI asks for; every RunPodSandbox fails
# without it, with either shim. stream_server_port 0: other containerds run on this machine.

CRI_HELPERS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CRI_PY=/usr/bin/python3
CRI_HANDLERS="runc wedge wedge-runc-type"
CRI_IMAGE=docker.io/library/busybox:wedge
CRI_PAUSE_IMAGE=docker.io/library/wedge-pause:1
CRI_NS=k8s.io
# run_timeout runs a function in a new bash: it sees exported variables only.
export CRI_HELPERS CRI_PY CRI_HANDLERS CRI_IMAGE CRI_PAUSE_IMAGE CRI_NS

# The sandbox's process, pid 1 of its pid namespace: it exits on TERM and INT as the real pause
# does (the kernel drops a signal pid 1 has no handler for). containerd 1.6's StopPodSandbox
# sends KILL anyway; a client or runtime that sends TERM first must not wait for nothing.
CRI_PAUSE_CMD='["sh","-c","trap \"exit 0\" TERM INT; while :; do sleep 3600 & wait; done"]'

# cri_config DIR: the cri plugin's tables (CTRD_CRI_CONFIG, containerd.bash), in the config
# version containerd_write_config writes for CTRD_VERSION.
cri_config() {
  local dir=$1 shim
  shim=$(cd "$WEDGE_BUILD/src" && pwd)/containerd-shim-wedge-v2
  mkdir -p "$dir/cni/bin" "$dir/cni/conf"
  # Each wedge form is given its runc state root (runc --root, per namespace below it) the way
  # that form passes options: a ConfigPath file, or the runc options table. The suite checks
  # the state lands there, i.e. that the options reached the shim.
  printf 'Root = "%s"\n' "$dir/runc-root/wedge" > "$dir/wedge.toml"
  if [ "$(containerd_major)" -ge 2 ]; then
    cri_config_v3 "$dir" "$shim"
  else
    cri_config_v2 "$dir" "$shim"
  fi
}

# cri_config_v2 DIR SHIM: containerd 1.x, one plugin, io.containerd.grpc.v1.cri.
cri_config_v2() {
  local dir=$1 shim=$2
  cat <<TOML
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "$CRI_PAUSE_IMAGE"
    restrict_oom_score_adj = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    enable_selinux = false
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "$dir/cni/bin"
      conf_dir = "$dir/cni/conf"
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
TOML
  cri_config_runtimes "plugins.\"io.containerd.grpc.v1.cri\".containerd" "$dir" "$shim"
}

# cri_config_v3 DIR SHIM: containerd 2.x, the same settings where 2.x's config version 3 has
# them (docs/cri/config.md of containerd 2.1): image settings (the sandbox image is a pinned
# image there, the snapshotter is the images plugin's) in io.containerd.cri.v1.images,
# runtime settings and handlers in io.containerd.cri.v1.runtime (CNI's bin_dir is bin_dirs),
# the stream server in io.containerd.grpc.v1.cri.
cri_config_v3() {
  local dir=$1 shim=$2
  cat <<TOML
  [plugins."io.containerd.cri.v1.images"]
    snapshotter = "overlayfs"
    [plugins."io.containerd.cri.v1.images".pinned_images]
      sandbox = "$CRI_PAUSE_IMAGE"
  [plugins."io.containerd.cri.v1.runtime"]
    restrict_oom_score_adj = true
    enable_selinux = false
    [plugins."io.containerd.cri.v1.runtime".cni]
      bin_dirs = ["$dir/cni/bin"]
      conf_dir = "$dir/cni/conf"
    [plugins."io.containerd.cri.v1.runtime".containerd]
TOML
  cri_config_runtimes "plugins.\"io.containerd.cri.v1.runtime\".containerd" "$dir" "$shim"
  cat <<TOML
  [plugins."io.containerd.grpc.v1.cri"]
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
TOML
}

# cri_config_runtimes TABLE DIR SHIM: the handlers, in TABLE (the containerd table of the cri
# plugin that has them in this config version). The options tables are decoded for the
# handler's runtime_type: runc's options for the runc type, ConfigPath for any other.
cri_config_runtimes() {
  local t=$1 dir=$2 shim=$3
  cat <<TOML
      default_runtime_name = "runc"
      [$t.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
      [$t.runtimes.wedge]
        runtime_type = "io.containerd.wedge.v2"
        [$t.runtimes.wedge.options]
          ConfigPath = "$dir/wedge.toml"
      [$t.runtimes.wedge-runc-type]
        runtime_type = "io.containerd.runc.v2"
        runtime_path = "$shim"
        [$t.runtimes.wedge-runc-type.options]
          Root = "$dir/runc-root/wedge-runc-type"
TOML
}

# cri_runtime_path_dropped: the running containerd ignores runtime_path (1.6 before 1.6.21,
# 1.7.0; see the header).
cri_runtime_path_dropped() {
  local patch
  case $CTRD_VERSION in
    1.6.*) patch=${CTRD_VERSION#1.6.}; [ "${patch%%.*}" -lt 21 ] ;;
    1.7.0) return 0 ;;
    *) return 1 ;;
  esac
}

# cri_runc_shim_router: the containerd-shim-runc-v2 that stands in for runtime_path on 1.6.20
# (see the header).
cri_runc_shim_router() {
  local real wedge
  real=$(command -v containerd-shim-runc-v2) || return 1
  wedge=$(cd "$WEDGE_BUILD/src" && pwd)/containerd-shim-wedge-v2
  cat <<SH
#!/bin/sh
if [ -f config.json ] && grep -Eq '"io\.kubernetes\.cri\.sandbox-name": *"[^"]*-wedge-runc-type"' config.json; then
  exec "$wedge" "\$@"
fi
exec "$real" "\$@"
SH
}

cri_start() {
  if ! "$CRI_PY" -c 'import grpc, grpc_tools' 2>/dev/null; then
    echo "cri_start: $CRI_PY lacks grpc or grpc_tools (run scripts/install-deps.sh)" >&2
    return 1
  fi
  [ -x "$WEDGE_BUILD/src/containerd-shim-wedge-v2" ] || {
    echo "cri_start: containerd-shim-wedge-v2 not built in $WEDGE_BUILD/src" >&2
    return 1
  }
  CTRD_CRI_CONFIG=cri_config containerd_start runc || return 1
  if cri_runtime_path_dropped; then
    cri_runc_shim_router > "$CTRD_DIR/bin/containerd-shim-runc-v2" || return 1
    chmod 0755 "$CTRD_DIR/bin/containerd-shim-runc-v2"
  fi
  CRI_DIR=$CTRD_DIR/cri
  CRI_STUBS_DIR=$CRI_DIR/stubs
  export CRI_DIR CRI_STUBS_DIR
  mkdir -p "$CRI_DIR/logs"
  # The CRI service answers "server is not initialized yet" until its startup is done.
  local deadline=$((SECONDS + CTRD_START_TIMEOUT))
  until CRI_TIMEOUT=10 cri_ version >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then
      echo "cri_start: the CRI service did not answer within ${CTRD_START_TIMEOUT}s:" >&2
      cri_ version >&2
      return 1
    fi
    sleep 0.2
  done
  "$CONTAINERD_HELPERS/make-image.sh" "$CRI_DIR/pause.tar" "$CRI_PAUSE_IMAGE" "$CRI_PAUSE_CMD" || return 1
  local tar
  for tar in "$CTRD_DIR/busybox-image.tar" "$CRI_DIR/pause.tar"; do
    CTRD_NS=$CRI_NS ctr_ image import "$tar" >/dev/null || {
      echo "cri_start: import of $tar into $CRI_NS failed" >&2
      return 1
    }
  done
}

# cri_ ARGS...: the client against our containerd, killed after CRI_TIMEOUT s (default 120).
cri_() {
  timeout --kill-after=5 "${CRI_TIMEOUT:-120}" "$CRI_PY" "$CRI_HELPERS/cri/cri.py" \
    --endpoint "$CTRD_SOCK" --stubs "$CRI_STUBS_DIR" "$@"
}

cri_pod() {
  local name=$1 handler=$2
  mkdir -p "$CRI_DIR/logs/$name"
  jq -n --arg name "$name" --arg logs "$CRI_DIR/logs/$name" --arg cg "/$CTRD_NS" '{
    metadata: { name: $name, uid: ($name + "-uid"), namespace: "wedge-cri", attempt: 0 },
    log_directory: $logs,
    labels: { suite: "wedge-cri" },
    linux: {
      cgroup_parent: $cg,
      security_context: { namespace_options: { network: "NODE", pid: "CONTAINER", ipc: "POD" } }
    }
  }' > "$CRI_DIR/$name.pod.json"
  cri_ runp "$CRI_DIR/$name.pod.json" "$handler"
}

# cri_ctr_config NAME ATTEMPT TTY MEM CMD...: ContainerConfig JSON on stdout.
cri_ctr_config() {
  local name=$1 attempt=$2 tty=$3 mem=$4
  shift 4
  local a cmd
  # One --arg per word: jq would take a "-c" among --args as its own option.
  cmd=$(for a in "$@"; do jq -n --arg a "$a" '$a'; done | jq -cs .)
  jq -n --arg name "$name" --argjson attempt "$attempt" --argjson tty "$tty" \
    --argjson mem "$mem" --arg image "$CRI_IMAGE" --argjson cmd "$cmd" '{
    metadata: { name: $name, attempt: $attempt },
    image: { image: $image },
    command: $cmd,
    log_path: ($name + "_" + ($attempt | tostring) + ".log"),
    tty: $tty,
    linux: {
      resources: (if $mem > 0 then { memory_limit_in_bytes: $mem } else {} end),
      security_context: { namespace_options: { network: "NODE", pid: "CONTAINER", ipc: "POD" } }
    }
  }'
}

# cri_ctr_create POD_ID POD_NAME NAME [ATTEMPT] [--tty] [--mem BYTES] -- CMD...: creates it;
# prints its id. cri_ctr: creates and starts.
cri_ctr_create() {
  local pod=$1 podname=$2 name=$3 attempt=0 tty=false mem=0 cfg
  shift 3
  while [ $# -gt 0 ]; do
    case $1 in
      --tty) tty=true; shift ;;
      --mem) mem=$2; shift 2 ;;
      --attempt) attempt=$2; shift 2 ;;
      --) shift; break ;;
      *) echo "cri_ctr_create: unknown option $1" >&2; return 2 ;;
    esac
  done
  cfg=$CRI_DIR/$podname.$name.$attempt.json
  cri_ctr_config "$name" "$attempt" "$tty" "$mem" "$@" > "$cfg" || return 1
  cri_ create "$pod" "$cfg" "$CRI_DIR/$podname.pod.json"
}

cri_ctr() {
  local id
  id=$(cri_ctr_create "$@") || return 1
  cri_ start "$id" || return 1
  echo "$id"
}

# cri_state ID: CONTAINER_RUNNING, CONTAINER_EXITED, ...
cri_state() {
  cri_ inspect "$1" | jq -r .status.state
}

cri_pod_rm() {
  cri_ stopp "$1" && cri_ rmp "$1"
}

# cri_ctr_pid ID: the pid of the container's init process (ContainerStatus' verbose info).
cri_ctr_pid() {
  cri_ inspect "$1" | jq -r '.info.info | fromjson | .pid'
}

# cri_cgroup_file ID CONTROLLER V1_FILE V2_FILE: the path of the container's cgroup file:
# /sys/fs/cgroup/<controller><path>/<V1_FILE> with cgroup v1 (and hybrid), or
# /sys/fs/cgroup<path>/<V2_FILE> with cgroup v2 alone, from /proc/<pid>/cgroup.
cri_cgroup_file() {
  local pid path
  pid=$(cri_ctr_pid "$1") || return 1
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    path=$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup")
    echo "/sys/fs/cgroup$path/$4"
  else
    path=$(awk -F: -v c="$2" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' "/proc/$pid/cgroup")
    echo "/sys/fs/cgroup/$2$path/$3"
  fi
}

# cri_shim_exe PID: the basename of the binary a shim process runs.
cri_shim_exe() {
  basename "$(readlink "/proc/$1/exe")"
}

# cri_leak_check: containerd_leak_check (shims, mounts, cgroups under /$CTRD_NS, the instance's
# own namespace), plus what CRI keeps in k8s.io: pods, containers, tasks, task bundles.
cri_leak_check() {
  local leaks=0 x
  while IFS= read -r x; do
    [ -n "$x" ] && { echo "leak: pod $x" >&2; leaks=1; }
  done < <(cri_ pods | jq -r '.items[].id')
  while IFS= read -r x; do
    [ -n "$x" ] && { echo "leak: $CRI_NS container $x" >&2; leaks=1; }
  done < <(CTRD_NS=$CRI_NS ctr_ container ls -q 2>/dev/null)
  while IFS= read -r x; do
    [ -n "$x" ] && { echo "leak: $CRI_NS task $x" >&2; leaks=1; }
  done < <(CTRD_NS=$CRI_NS ctr_ task ls -q 2>/dev/null)
  for x in "$CTRD_DIR/state/io.containerd.runtime.v2.task/$CRI_NS"/* "$CTRD_DIR"/runc-root/*/"$CRI_NS"/*; do
    case ${x##*/} in wedge-features-*.json) continue ;; esac
    [ -e "$x" ] && { echo "leak: state $x" >&2; leaks=1; }
  done
  containerd_leak_check || leaks=1
  return $leaks
}

# cri_teardown: removes every pod left (a failed test's), then stops containerd.
cri_teardown() {
  local x
  if [ -n "${CTRD_DIR:-}" ] && [ -d "$CTRD_DIR" ]; then
    for x in $(CRI_TIMEOUT=30 cri_ pods 2>/dev/null | jq -r '.items[].id'); do
      CRI_TIMEOUT=60 cri_pod_rm "$x" >/dev/null 2>&1 || true
    done
  fi
  # What CRI could not remove goes with containerd's root: containerd_teardown kills our shims
  # and what runs in our cgroups, unmounts and removes CTRD_DIR.
  containerd_teardown
}
