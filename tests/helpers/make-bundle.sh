#!/bin/bash
# make-bundle.sh DIR [ARG...]
#
# Makes DIR an OCI bundle runc and crun both accept: DIR/rootfs with busybox-static, and
# DIR/config.json from `runc spec` with process.terminal=false (the tests have no tty, and a
# terminal would need a --console-socket) and process.args = ARGs (default: sh).
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 DIR [ARG...]" >&2; exit 2; }
dir=$1
shift
[ $# -gt 0 ] || set -- sh

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=rootfs.bash
. "$here/rootfs.bash"

command -v runc >/dev/null || { echo "make-bundle: runc not found (needed for 'runc spec')" >&2; exit 1; }
command -v jq >/dev/null || { echo "make-bundle: jq not found" >&2; exit 1; }

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
rootfs_populate "$dir/rootfs"
rm -f "$dir/config.json"
(cd "$dir" && runc spec)
args=$(printf '%s\n' "$@" | jq -R . | jq -cs .)
jq --argjson args "$args" '.process.terminal = false | .process.args = $args' \
  "$dir/config.json" > "$dir/config.json.tmp"
mv "$dir/config.json.tmp" "$dir/config.json"
