#!/bin/bash
# scripts/demo.sh BUILD: the main job of `make demo`.
#
# 1. A private containerd 1.6 (its own root, state, sockets and mount namespace in a temp dir;
#    never the system's) with BUILD/src, where containerd-shim-wedge-v2 is, first on its PATH,
#    and a busybox image built from Debian's busybox-static.
# 2. `ctr run --runtime io.containerd.wedge.v2`: a container through wedge, its output and exit
#    code, next to the same command with containerd's own io.containerd.runc.v2.
# 3. A config asking for an idmapped mount: runc.v2 starts it and silently drops the mapping;
#    wedge refuses it and says why.
# 4. The library underneath, on its own (scripts/demo-lifecycle.sh).
# Everything is torn down at the end.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BUILD" >&2; exit 2; }
source_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WEDGE_BUILD=$(cd "$1" && pwd)
export WEDGE_BUILD
[ -x "$WEDGE_BUILD/src/containerd-shim-wedge-v2" ] || { echo "demo: build first" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "demo: containerd needs root" >&2; exit 1; }

# shellcheck source=../tests/helpers/containerd.bash
. "$source_root/tests/helpers/containerd.bash"

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
run_ctr() {
  printf '$ ctr'
  printf ' %q' "$@"
  printf '\n'
  local rc=0
  ctr_ "$@" 2>&1 || rc=$?
  echo "(exit status $rc)"
}

trap 'containerd_teardown' EXIT
say "Starting a private containerd ($(containerd --version | awk '{print $3}')) with wedge on its PATH..."
containerd_start runc
echo "image: $CTRD_IMAGE, namespace: $CTRD_NS, socket: $CTRD_SOCK"

say "A container through wedge:"
run_ctr run --rm --runtime io.containerd.wedge.v2 "$CTRD_IMAGE" demo-hi echo hello from a container run by wedge
run_ctr run --rm --runtime io.containerd.wedge.v2 "$CTRD_IMAGE" demo-exit sh -c 'echo exiting with 3; exit 3'

say "The same with containerd's own shim (io.containerd.runc.v2):"
run_ctr run --rm --runtime io.containerd.runc.v2 "$CTRD_IMAGE" demo-hi-runc echo hello from a container run by runc.v2

say "A container asking for an idmapped mount (uidMappings on /mnt), which runc $(runc --version | awk 'NR==1{print $3}') cannot do:"
bundle=$CTRD_DIR/demo-bundle
"$source_root/tests/helpers/make-bundle.sh" "$bundle" >/dev/null
jq --arg root "$bundle/rootfs" '
    .root.path = $root
  | .process.args = ["/bin/sh", "-c", "echo owner of /mnt as the container sees it: $(stat -c %u /mnt)"]
  | .mounts += [{"destination": "/mnt", "type": "bind", "source": "/tmp", "options": ["rbind", "ro"],
                 "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
                 "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}]' \
  "$bundle/config.json" >"$CTRD_DIR/idmap.json"
echo "runc.v2 starts it and silently drops the mapping (the owner should read 65534 or a mapped id, not 0):"
run_ctr run --rm --runtime io.containerd.runc.v2 --config "$CTRD_DIR/idmap.json" demo-idmap-runc
echo
echo "wedge asks the runtime what it supports first, and refuses:"
run_ctr run --rm --runtime io.containerd.wedge.v2 --config "$CTRD_DIR/idmap.json" demo-idmap-wedge
ctr_ container rm demo-idmap-wedge >/dev/null 2>&1 || true

containerd_teardown
trap - EXIT
say "containerd stopped; nothing of it is left."

"$source_root/scripts/demo-lifecycle.sh" "$WEDGE_BUILD"
