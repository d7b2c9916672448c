# Helpers for bats files that run containerd-shim-wedge-v2 without containerd, playing its part
# (bundle, log FIFO held O_RDWR, argv, stdin): load with `load ../helpers/shim`.
#
#   shim_setup_file TOOL...       the shim is built and the tools are there
#   shim_setup / shim_teardown    per test: TMP, a private socket dir (WEDGE_SHIM_SOCKET_DIR,
#                                 never /run/containerd), a unique namespace NS, a fake ADDR;
#                                 teardown kills this test's daemons and removes TMP
#   make_bundle ID [ANNOTATIONS]  a bundle in BUNDLE (not in a subshell: the FIFO fd stays here)
#   shim_start BUNDLE ID [FLAGS]  `start` as containerd runs it; prints the address
#   expected_address GROUP        the address `start` must print for GROUP
#   daemon_pids / is_listening    what is running, what is bound

# Absolute: the shim runs with the bundle as cwd.
SHIM=$(realpath -m "${WEDGE_SHIM:-${WEDGE_BUILD:-$(dirname "${BASH_SOURCE[0]}")/../../build}/src/containerd-shim-wedge-v2}")

# shim_setup_file TOOL...: fails the file when the shim is not built or a tool is missing.
shim_setup_file() {
  local tool
  if [ ! -x "$SHIM" ]; then
    echo "shim binary not found at $SHIM (build first or set WEDGE_BUILD)" >&2
    return 1
  fi
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "missing $tool" >&2; return 1; }
  done
}

shim_setup() {
  # Directly in /tmp: the socket path (dir + 64 hex digits) must fit in sun_path (108 bytes).
  TMP=$(mktemp -d /tmp/wedge-shim.XXXXXX)
  export WEDGE_SHIM_SOCKET_DIR="$TMP/s"
  NS="ns$$x$BATS_TEST_NUMBER"
  ADDR="/fake/run/containerd-$$.sock"
  LOG_FDS=()
}

shim_teardown() {
  local pid fd
  for pid in $(daemon_pids); do
    kill -KILL "$pid" 2>/dev/null || true
  done
  for fd in "${LOG_FDS[@]}"; do
    exec {fd}<&-
  done
  rm -rf "$TMP"
}

# Pids of daemons started for this test: their argv holds our unique namespace.
daemon_pids() {
  pgrep -f -- "containerd-shim-wedge-v2 -namespace $NS -id " || true
}

# A bundle as containerd prepares it: config.json, rootfs/, and the log FIFO held open O_RDWR
# by this shell (so not in a $(...) subshell: the path is returned in BUNDLE).
make_bundle() { # id [annotations-json]
  local b="$TMP/state/$NS/$1" fd
  mkdir -p "$b/rootfs"
  printf '{"ociVersion":"1.0.2","annotations":%s}' "${2:-{\}}" > "$b/config.json"
  mkfifo -m 0700 "$b/log"
  exec {fd}<>"$b/log"
  LOG_FDS+=("$fd")
  BUNDLE=$b
}

# Runs `start` the way containerd does: cwd = bundle, one pipe for stdout+stderr.
shim_start() { # bundle id [extra flags...]
  local b=$1 id=$2
  shift 2
  (cd "$b" && timeout 10 "$SHIM" -namespace "$NS" -address "$ADDR" -publish-binary /usr/bin/containerd \
      -id "$id" "$@" start </dev/null 2>&1)
}

expected_address() { # group
  local hash
  hash=$(printf '%s' "$ADDR/$NS/$1" | sha256sum | cut -d' ' -f1)
  echo "unix://$WEDGE_SHIM_SOCKET_DIR/$hash"
}

# True when a listening unix socket is bound at $1 (/proc/net/unix flag 00010000 =
# __SO_ACCEPTCON).
is_listening() {
  awk -v p="$1" '$8 == p && $4 == "00010000" { found = 1 } END { exit !found }' /proc/net/unix
}
