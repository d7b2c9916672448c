# A private containerd for tests: sourced by bats files and by scripts.
#
#   containerd_start [runc|crun]   start one (sets CTRD_* below), wait for it, import busybox
#   ctr_ ARGS...                   ctr against it, in its namespace
#   containerd_leak_check          fail when a container, task, shim, socket, cgroup or state entry
#                                  remains
#   containerd_teardown            stop it and everything it started, unmount, remove its dir
#   containerd_kill [SIG]          containerd alone dies (default KILL); shims and containers stay
#   containerd_restart             start it again on the same root, state, sockets, namespace
#
# Isolation, and why:
# - Its own root, state, gRPC and ttrpc sockets and config.toml in a temp dir (CTRD_DIR).
# - It runs in a private mount namespace (unshare -m) where CTRD_DIR/run is bound over /run.
#   containerd 1.6's runc shim puts its socket in /run/containerd/s/<hash> and runc's state in
#   /run/containerd/runc/<ns> whatever containerd's config says; ctr puts its IO fifos in
#   /run/containerd/fifo. With the bind, none of that reaches the host's /run/containerd (which a
#   system containerd may own), and all of it is visible from the host under CTRD_DIR/run. ctr_
#   therefore runs ctr inside that namespace (nsenter).
# - `containerd_start crun` also unmounts /sys/fs/cgroup/unified in that namespace and makes
#   ctr_ run containers with `--runc-binary crun`. The test machines mount cgroups in hybrid
#   mode (v1 controllers plus an empty cgroup2 at /sys/fs/cgroup/unified); crun 1.8.1 refuses
#   that ("cgroups in hybrid mode not supported, drop all controllers from cgroupv2") while runc
#   1.1.5 accepts it. Without the cgroup2 mount crun sees plain cgroup v1. The namespace is
#   inherited by the shims and so by every crun they run.
#   ctr 1.6 passes a runtime binary only to io.containerd.runc.v2 (`--runc-binary` is refused
#   for any other runtime name), so for io.containerd.wedge.v2 the crun instance also puts a
#   `runc` that is crun first in containerd's PATH (CTRD_DIR/bin): wedge's default runtime,
#   "runc" looked up in PATH, is then crun. The runc.v2 shim still gets `--runc-binary crun`.
# - It runs under subreaper.pl, which reaps the shims and container processes that are
#   reparented when their parent exits (pid 1 on the test machines does not reap orphans).
# - Each instance uses its own containerd namespace (CTRD_NS), so the cgroups it creates
#   (/sys/fs/cgroup/<controller>/<ns>/<id>, ctr's default cgroupsPath) are its own too.
# - The PATH of containerd (and so of the shims it starts) begins with the build's src dir
#   ($WEDGE_BUILD/src, where the project's build puts containerd-shim-wedge-v2) and CTRD_DIR/bin.
#
# Another containerd, by hand: WEDGE_CONTAINERD_BIN=DIR puts DIR first in PATH (the tests', and
# so containerd's and its shims'), so that DIR's containerd, ctr and containerd-shim-runc-v2 are
# the ones run; all three must be there. Default: the system's (containerd 1.6.20 in CI). The
# config is written in the form the running containerd reads, from `containerd --version`
# (CTRD_VERSION): version 2 for 1.x, version 3 for 2.x, whose plugin ids differ (the cri plugin's
# tables above all: tests/helpers/cri.bash).
#
# WEDGE_CONTAINERD_LOG_DIR=DIR: containerd_teardown keeps each containerd's log there.
#
# Variables set by containerd_start:
#   CTRD_DIR CTRD_SOCK CTRD_NS CTRD_PID (containerd) CTRD_REAPER_PID CTRD_RUNTIME_BINARY
#   CTRD_IMAGE (the imported busybox image's name) CTRD_PATH CTRD_HIDE_UNIFIED (for restarts)
#   CTRD_VERSION (containerd's version, "1.6.20", "2.1.4")

CONTAINERD_HELPERS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=sys.bash
. "$CONTAINERD_HELPERS/sys.bash"

if [ -n "${WEDGE_CONTAINERD_BIN:-}" ] && [[ :$PATH: != :"$WEDGE_CONTAINERD_BIN":* ]]; then
  PATH=$WEDGE_CONTAINERD_BIN:$PATH
  export PATH
fi

CTRD_START_TIMEOUT=${CTRD_START_TIMEOUT:-30}
CTRD_DEFAULT_IMAGE=docker.io/library/busybox:wedge

# containerd_version: the version of the containerd in PATH, "1.6.20" of Debian's
# "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3", "2.1.4" of
# "containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b71...".
containerd_version() {
  containerd --version | awk '{ v = $3; sub(/^v/, "", v); sub(/[~+-].*/, "", v); print v }'
}

# containerd_major: the major version of CTRD_VERSION (1 or 2).
containerd_major() {
  echo "${CTRD_VERSION%%.*}"
}

# containerd_write_config DIR: the config.toml, version 2 for containerd 1.x, version 3 for 2.x.
# Plugins that need the network, a kernel feature absent here, or that would touch the system
# are disabled: cri (network, CNI, its own streaming server), snapshotters that probe
# btrfs/zfs/devmapper/aufs (2.x: erofs too), tracing exporters (network), 2.x's NRI (a socket
# of its own). opt's path is moved off /opt/containerd. 1.6's v1 runtime
# (io.containerd.runtime.v1.linux) stays: its tasks service refuses to load without it ("no
# plugins registered for io.containerd.runtime.v1"); its dirs are under our root and state.
# 2.x splits cri into the gRPC service and the runtime and images plugins it is built on.
# CTRD_CRI_CONFIG=FUNCTION turns the cri plugin on: FUNCTION DIR prints its [plugins] tables
# (tests/helpers/cri.bash: cri_config), for CTRD_VERSION.
containerd_write_config() {
  local dir=$1 cri="" version=2 extra=""
  if [ "$(containerd_major)" -ge 2 ]; then
    version=3
    [ -z "${CTRD_CRI_CONFIG:-}" ] && cri='"io.containerd.grpc.v1.cri",
  "io.containerd.cri.v1.runtime",
  "io.containerd.cri.v1.images",
  "io.containerd.podsandbox.controller.v1.podsandbox",'
    extra='"io.containerd.snapshotter.v1.erofs",
  "io.containerd.nri.v1.nri",'
  else
    [ -z "${CTRD_CRI_CONFIG:-}" ] && cri='"io.containerd.grpc.v1.cri",'
    extra='"io.containerd.snapshotter.v1.aufs",'
  fi
  cat > "$dir/config.toml" <<TOML
version = $version
root = "$dir/root"
state = "$dir/state"
temp = "$dir/tmp"
oom_score = 0
disabled_plugins = [
  $cri
  $extra
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "$dir/containerd.sock"

[ttrpc]
  address = "$dir/containerd.sock.ttrpc"

[debug]
  address = ""
  level = "debug"

[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$dir/opt"
TOML
  if [ -n "${CTRD_CRI_CONFIG:-}" ]; then
    "$CTRD_CRI_CONFIG" "$dir" >> "$dir/config.toml" || return 1
  fi
}

# containerd_start [runc|crun]: starts the private containerd, waits until it answers, imports
# the busybox image. Fails loudly when containerd, ctr or the shim is missing.
containerd_start() {
  local flavour=${1:-runc} base tool
  case $flavour in
    runc | crun) ;;
    *) echo "containerd_start: unknown flavour '$flavour' (runc or crun)" >&2; return 2 ;;
  esac
  for tool in containerd ctr containerd-shim-runc-v2 "$flavour" unshare nsenter perl jq; do
    if ! command -v "$tool" >/dev/null; then
      echo "containerd_start: $tool not found in PATH (run scripts/install-deps.sh)" >&2
      return 1
    fi
  done
  if [ -n "${WEDGE_CONTAINERD_BIN:-}" ]; then
    for tool in containerd ctr containerd-shim-runc-v2; do
      if [ "$(command -v "$tool")" != "$WEDGE_CONTAINERD_BIN/$tool" ]; then
        echo "containerd_start: WEDGE_CONTAINERD_BIN=$WEDGE_CONTAINERD_BIN has no $tool" >&2
        return 1
      fi
    done
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "containerd_start: must run as root" >&2
    return 1
  fi
  CTRD_VERSION=$(containerd_version)
  case $CTRD_VERSION in
    1.* | 2.*) export CTRD_VERSION ;;
    *) echo "containerd_start: cannot tell containerd's version from '$(containerd --version)'" >&2; return 1 ;;
  esac

  base=${WEDGE_TEST_TMPDIR:-${TMPDIR:-/tmp}}
  mkdir -p "$base"
  CTRD_DIR=$(mktemp -d "$base/ctrd.XXXXXX")
  CTRD_SOCK=$CTRD_DIR/containerd.sock
  CTRD_NS=wedge-test-${CTRD_DIR##*.}
  CTRD_RUNTIME_BINARY=$flavour
  CTRD_IMAGE=$CTRD_DEFAULT_IMAGE
  export CTRD_DIR CTRD_SOCK CTRD_NS CTRD_RUNTIME_BINARY CTRD_IMAGE
  mkdir -p "$CTRD_DIR"/{root,state,tmp,opt,run,bin}
  # CTRD_TMPFS=1: state (the bundles) and /run (sockets, FIFOs, the runtime's state) on tmpfs, as
  # /run/containerd is on a real host; the bench sets it. The tests keep them on the temp dir's
  # disk, where creating a file costs more (ext4's inode allocation), which is no harm there.
  if [ "${CTRD_TMPFS:-0}" = 1 ]; then
    mount -t tmpfs -o mode=0755 wedge-ctrd "$CTRD_DIR/state"
    mount -t tmpfs -o mode=0755 wedge-ctrd "$CTRD_DIR/run"
  fi
  containerd_write_config "$CTRD_DIR"

  CTRD_PATH="$CTRD_DIR/bin:$PATH"
  CTRD_HIDE_UNIFIED=0
  if [ -n "${WEDGE_BUILD:-}" ]; then
    CTRD_PATH="$(cd "$WEDGE_BUILD" && pwd)/src:$CTRD_PATH"
  fi
  if [ "$flavour" = crun ]; then
    CTRD_HIDE_UNIFIED=1
    ln -s "$(command -v crun)" "$CTRD_DIR/bin/runc"
  fi
  export CTRD_PATH CTRD_HIDE_UNIFIED
  containerd_launch ""

  if ! containerd_wait "$CTRD_START_TIMEOUT"; then
    echo "containerd_start: containerd did not come up within ${CTRD_START_TIMEOUT}s; its log:" >&2
    tail -n 40 "$CTRD_DIR/containerd.log" >&2
    return 1
  fi
  containerd_import_image
}

# containerd_launch MNTNS_PID: runs containerd under a new subreaper.pl (CTRD_REAPER_PID), with
# its log appended to CTRD_DIR/containerd.log. MNTNS_PID empty: in a new private mount namespace
# set up as the header says; else in the mount namespace of that pid (a restart: the running
# containers' rootfs mounts and the private /run are there).
# The namespace's setup runs in the shell that unshare starts; it then execs the reaper, which
# forks containerd. Nothing of the test's own fds (bats' fd 3 included) is passed on: a
# background process holding them would keep bats waiting.
containerd_launch() {
  rm -f "$CTRD_DIR/containerd.pid"
  unset CTRD_PID
  if [ -n "$1" ]; then
    PATH=$CTRD_PATH nsenter -t "$1" -m -- \
      perl "$CONTAINERD_HELPERS/subreaper.pl" "$CTRD_DIR/containerd.pid" containerd --config "$CTRD_DIR/config.toml" \
      </dev/null >>"$CTRD_DIR/containerd.log" 2>&1 3>&- 4>&- &
  else
    PATH=$CTRD_PATH unshare -m --propagation private -- /bin/sh -c '
        set -e
        mount --bind "$1/run" /run
        if [ "$2" = 1 ] && mountpoint -q /sys/fs/cgroup/unified; then umount /sys/fs/cgroup/unified; fi
        exec perl "$3/subreaper.pl" "$1/containerd.pid" containerd --config "$1/config.toml"
      ' containerd-ns "$CTRD_DIR" "$CTRD_HIDE_UNIFIED" "$CONTAINERD_HELPERS" \
      </dev/null >>"$CTRD_DIR/containerd.log" 2>&1 3>&- 4>&- &
  fi
  CTRD_REAPER_PID=$!
  export CTRD_REAPER_PID
  # bats runs each test in a subshell: a restart in a test is known to the next test and to
  # teardown_file only through files.
  echo "$CTRD_REAPER_PID" >> "$CTRD_DIR/reaper.pids"
}

# containerd_refresh_pid: CTRD_PID is the running containerd's, also after a restart made in
# another (sub)shell.
containerd_refresh_pid() {
  if { [ -z "${CTRD_PID:-}" ] || ! pid_alive "$CTRD_PID"; } && [ -s "$CTRD_DIR/containerd.pid" ]; then
    CTRD_PID=$(cat "$CTRD_DIR/containerd.pid")
    export CTRD_PID
  fi
}

# containerd_kill [SIGNAL]: containerd dies (default KILL, a crash) and nothing else: its shims,
# their containers and its reaper (which keeps the mount namespace while shims live) stay.
containerd_kill() {
  containerd_refresh_pid
  kill_and_wait "${1:-KILL}" "$CTRD_PID" || return 1
  unset CTRD_PID
}

# containerd_restart: starts containerd again (after containerd_kill; kills it first if it
# runs) on the same root, state, sockets and namespace, in the same mount namespace when a
# process of it is left, and waits until it answers. The old reaper stays until its shims are
# gone; containerd_teardown stops every reaper listed in CTRD_DIR/reaper.pids.
containerd_restart() {
  local ns_pid="" p
  if [ -n "${CTRD_PID:-}" ] && pid_alive "$CTRD_PID"; then
    containerd_kill || return 1
  fi
  for p in $(containerd_shim_pids) $(pids_with_arg "$CONTAINERD_HELPERS/subreaper.pl" "$CTRD_DIR/containerd.pid"); do
    pid_alive "$p" && { ns_pid=$p; break; }
  done
  containerd_launch "$ns_pid"
  if ! containerd_wait "$CTRD_START_TIMEOUT"; then
    echo "containerd_restart: containerd did not come back within ${CTRD_START_TIMEOUT}s; its log:" >&2
    tail -n 40 "$CTRD_DIR/containerd.log" >&2
    return 1
  fi
}

# containerd_wait SECONDS: polls `ctr version` until containerd answers or the deadline passes.
containerd_wait() {
  local deadline=$((SECONDS + ${1:-30}))
  while [ $SECONDS -lt $deadline ]; do
    if [ -z "${CTRD_PID:-}" ] && [ -s "$CTRD_DIR/containerd.pid" ]; then
      CTRD_PID=$(cat "$CTRD_DIR/containerd.pid")
      export CTRD_PID
    fi
    if [ -n "${CTRD_PID:-}" ]; then
      pid_alive "$CTRD_PID" || return 1
      if ctr_ version >/dev/null 2>&1; then
        return 0
      fi
    elif ! pid_alive "$CTRD_REAPER_PID"; then
      return 1
    fi
    sleep 0.1
  done
  return 1
}

# containerd_import_image [NAME]: builds (once per CTRD_DIR) and imports the busybox image.
containerd_import_image() {
  local name=${1:-$CTRD_DEFAULT_IMAGE} tar
  tar=$CTRD_DIR/busybox-image.tar
  "$CONTAINERD_HELPERS/make-image.sh" "$tar" "$name" || return 1
  ctr_ image import "$tar" >/dev/null || { echo "containerd_import_image: import of $tar failed" >&2; return 1; }
  ctr_ image ls -q | grep -qxF "$name" || { echo "containerd_import_image: $name not listed after import" >&2; return 1; }
}

# ctr_ ARGS...: ctr against the private containerd, in its namespace and its mount namespace,
# killed after CTR_TIMEOUT seconds (default 60). `ctr_ run ...` runs the container with the
# runtime binary of this instance (runc or crun).
ctr_() {
  containerd_refresh_pid
  if [ -z "${CTRD_PID:-}" ]; then
    echo "ctr_: no private containerd (call containerd_start)" >&2
    return 1
  fi
  if [ "${1:-}" = run ] && [ "$CTRD_RUNTIME_BINARY" != runc ] && [[ " $* " != *" io.containerd.wedge.v2 "* ]]; then
    shift
    set -- run --runc-binary "$CTRD_RUNTIME_BINARY" "$@"
  fi
  timeout --kill-after=5 "${CTR_TIMEOUT:-60}" \
    nsenter -t "$CTRD_PID" -m -- ctr --address "$CTRD_SOCK" --namespace "$CTRD_NS" "$@"
}

# The shims of this containerd: they carry `-address <our socket>`.
containerd_shim_pids() {
  pids_with_arg -address "$CTRD_SOCK"
}

# containerd_shim_pid ID: the long-running shim of container ID under this containerd (another
# containerd may run one with that id). It has `-id ID`; the `start` and `delete` invocations of
# the same binary, short-lived, end with that verb and are left out. Fails when there is none.
containerd_shim_pid() {
  local p
  for p in $(pids_with_arg -id "$1"); do
    case $(tr '\0' '\n' < "/proc/$p/cmdline" 2>/dev/null | tail -n 1) in start | delete | "") continue ;; esac
    # Not grep -q: it would leave before reading everything, and under pipefail (the bench) the
    # SIGPIPE of the writer would make a match a failure.
    containerd_shim_pids | grep -xF "$p" > /dev/null || continue
    echo "$p"
    return 0
  done
  return 1
}

# The files in /run/containerd/s as our containerd and its shims see it (the shims' sockets,
# runc's and wedge's alike).
containerd_shim_sockets() {
  [ -d "$CTRD_DIR/run/containerd/s" ] || return 0
  find "$CTRD_DIR/run/containerd/s" -mindepth 1
}

# The cgroup dirs of our namespace, deepest first: /sys/fs/cgroup/<controller>/<ns> with cgroup
# v1 (and hybrid), /sys/fs/cgroup/<ns> with cgroup v2 alone.
containerd_cgroup_dirs() {
  local d
  for d in /sys/fs/cgroup/*/"$CTRD_NS" /sys/fs/cgroup/"$CTRD_NS"; do
    [ -d "$d" ] && find "$d" -depth -type d
  done
  return 0
}

# containerd_leak_check: while containerd still runs, fails (printing each leak) when a
# container or task is still listed, a shim of ours still runs (it exits once its last task is
# deleted; given 5 s), a task bundle dir, a runtime state entry, a shim socket (anything in the
# /run/containerd/s the shims see, CTRD_DIR/run/containerd/s), a mount under CTRD_DIR (in the
# private namespace, where container rootfs are mounted) or a cgroup of our namespace remains.
# The socket dir is the shims' alone: containerd itself never writes there.
containerd_leak_check() {
  local leaks=0 x deadline
  containerd_refresh_pid
  while IFS= read -r x; do
    [ -n "$x" ] && { echo "leak: container $x" >&2; leaks=1; }
  done < <(ctr_ container ls -q 2>/dev/null)
  while IFS= read -r x; do
    [ -n "$x" ] && { echo "leak: task $x" >&2; leaks=1; }
  done < <(ctr_ task ls -q 2>/dev/null)
  deadline=$((SECONDS + 5))
  while [ -n "$(containerd_shim_pids)" ] && [ $SECONDS -lt $deadline ]; do
    sleep 0.1
  done
  while IFS= read -r x; do
    pid_alive "$x" || continue
    echo "leak: shim $x: $(tr '\0' ' ' 2>/dev/null < "/proc/$x/cmdline")" >&2
    leaks=1
  done < <(containerd_shim_pids)
  for x in "$CTRD_DIR/state/io.containerd.runtime.v2.task/$CTRD_NS"/* \
           "$CTRD_DIR/run/containerd/runc/$CTRD_NS"/*; do
    # wedge's features cache describes the runtime binary, not a container (see sys.bash).
    case ${x##*/} in wedge-features-*.json) continue ;; esac
    [ -e "$x" ] && { echo "leak: state $x" >&2; leaks=1; }
  done
  while IFS= read -r x; do
    echo "leak: socket $x" >&2
    leaks=1
  done < <(containerd_shim_sockets)
  if [ -n "${CTRD_PID:-}" ] && pid_alive "$CTRD_PID"; then
    while IFS= read -r x; do
      # CTRD_TMPFS's own tmpfs mounts are containerd_teardown's to remove.
      [ "${CTRD_TMPFS:-0}" = 1 ] && { [ "$x" = "$CTRD_DIR/state" ] || [ "$x" = "$CTRD_DIR/run" ]; } && continue
      echo "leak: mount $x (in containerd's mount namespace)" >&2
      leaks=1
    done < <(mounts_under "$CTRD_DIR" "/proc/$CTRD_PID/mountinfo")
  fi
  while IFS= read -r x; do
    case $x in */"$CTRD_NS") continue ;; esac
    echo "leak: cgroup $x" >&2
    leaks=1
  done < <(containerd_cgroup_dirs)
  return $leaks
}

# containerd_teardown: removes every container (kill -9, delete), stops containerd, kills our
# shims and whatever still runs in our cgroups, removes those cgroups, unmounts everything under
# CTRD_DIR and removes it. Only what this instance started is touched. Safe to call twice.
containerd_teardown() {
  local x rc=0
  [ -n "${CTRD_DIR:-}" ] && [ -d "$CTRD_DIR" ] || return 0
  containerd_refresh_pid
  if [ -n "${CTRD_PID:-}" ] && pid_alive "$CTRD_PID"; then
    for x in $(ctr_ task ls -q 2>/dev/null); do
      CTR_TIMEOUT=20 ctr_ task delete --force "$x" >/dev/null 2>&1 || true
    done
    for x in $(ctr_ container ls -q 2>/dev/null); do
      CTR_TIMEOUT=20 ctr_ container delete "$x" >/dev/null 2>&1 || true
    done
    kill_and_wait TERM "$CTRD_PID" || kill_and_wait KILL "$CTRD_PID" || rc=1
  fi
  # shellcheck disable=SC2046
  kill_and_wait KILL $(containerd_shim_pids) || rc=1
  # A paused container's processes cannot die until thawed (v1 freezer, v2 cgroup.freeze).
  while IFS= read -r x; do
    [ -f "$x/freezer.state" ] && echo THAWED > "$x/freezer.state" 2>/dev/null
    [ -f "$x/cgroup.freeze" ] && echo 0 > "$x/cgroup.freeze" 2>/dev/null
    # shellcheck disable=SC2046
    [ -f "$x/cgroup.procs" ] && kill_and_wait KILL $(cat "$x/cgroup.procs" 2>/dev/null)
  done < <(containerd_cgroup_dirs)
  while IFS= read -r x; do
    rmdir "$x" 2>/dev/null || { echo "containerd_teardown: cannot remove cgroup $x" >&2; rc=1; }
  done < <(containerd_cgroup_dirs)
  for x in $(sort -u "$CTRD_DIR/reaper.pids" 2>/dev/null) ${CTRD_REAPER_PID:-}; do
    kill_and_wait TERM "$x" || kill_and_wait KILL "$x" || rc=1
    wait "$x" 2>/dev/null || true
  done
  umount_under "$CTRD_DIR" || rc=1
  # WEDGE_CONTAINERD_LOG_DIR=DIR keeps containerd's log (with the shims' stderr, at debug level)
  # as DIR/ctrd.XXXXXX.log, for a look after the run.
  if [ -n "${WEDGE_CONTAINERD_LOG_DIR:-}" ] && [ -f "$CTRD_DIR/containerd.log" ]; then
    mkdir -p "$WEDGE_CONTAINERD_LOG_DIR" && cp "$CTRD_DIR/containerd.log" "$WEDGE_CONTAINERD_LOG_DIR/${CTRD_DIR##*/}.log" || rc=1
  fi
  rm -rf "$CTRD_DIR" || rc=1
  unset CTRD_PID CTRD_REAPER_PID
  return $rc
}
