#!/bin/bash
# scripts/demo-lifecycle.sh BUILD: the library underneath the shim, against the real runc.
#
# 1. A busybox bundle driven by `wedge lifecycle` through create, start, state, pause, resume,
#    exec, kill, wait and delete: the library's state machine, runtime client and reaper.
# 2. The same bundle asking for an idmapped mount: runc 1.1.5 would silently ignore the
#    mappings, wedge refuses before anything is created.
# Everything lives in a temp dir that is removed at the end (runc's --root too).
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BUILD" >&2; exit 2; }
source_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
wedge=$(cd "$1" && pwd)/src/wedge
[ -x "$wedge" ] || { echo "demo: $wedge missing: build first" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "demo: runc needs root" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/wedge-demo.XXXXXX")
cleanup() {
  # wedge lifecycle removes its container itself; this is for an interrupted demo.
  runc --root "$work/runc" delete --force demo >/dev/null 2>&1 || true
  runc --root "$work/runc" delete --force demo-idmap >/dev/null 2>&1 || true
  runc --root "$work/runc" delete --force demo-runc-alone >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m%s\033[0m\n' "$*"; }
show() {
  local a
  printf '$'
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./:,=+@-]+$ ]]; then printf ' %s' "$a"; else printf " '%s'" "$a"; fi
  done
  printf '\n'
  "$@" 2>&1 || echo "(exit status $?)"
}

say "A busybox bundle (rootfs from busybox-static, config.json from runc spec):"
"$source_root/tests/helpers/make-bundle.sh" "$work/bundle" sh -c 'trap "exit 0" TERM; while :; do sleep 1; done'
jq -c .process.args "$work/bundle/config.json"

say "One container through its whole lifecycle, with $(runc --version | head -n1):"
show "$wedge" lifecycle --runtime runc --root "$work/runc" "$work/bundle" demo \
  create start state pause state resume \
  'exec:echo,hello from an exec' 'exec:sh,-c,exit 3' ps kill:TERM wait delete

say "Illegal transitions are refused with containerd's runc-shim wording, nothing is left:"
show "$wedge" lifecycle --runtime runc --root "$work/runc" "$work/bundle" demo create start start

say "Errors from the runtime carry its own message:"
jq '.process.args = ["/bin/no-such-binary"]' "$work/bundle/config.json" > "$work/bad.json"
cp -a "$work/bundle" "$work/bundle-bad"
mv "$work/bad.json" "$work/bundle-bad/config.json"
show "$wedge" lifecycle --runtime runc --root "$work/runc" "$work/bundle-bad" demo create start

say "The same bundle with an idmapped mount (uidMappings/gidMappings on /data):"
mkdir -p "$work/data"
jq --arg src "$work/data" '.mounts += [{"destination": "/data", "type": "bind", "source": $src,
    "options": ["rbind"],
    "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
    "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}]' \
  "$work/bundle/config.json" > "$work/idmap.json"
mv "$work/idmap.json" "$work/bundle/config.json"
echo "runc alone runs it and silently drops the mappings: /data shows its host owner (uid 0),"
echo "not mapped through uidMappings:"
cp -a "$work/bundle" "$work/bundle-stat"
jq '.process.args = ["stat", "-c", "owner of /data: %u", "/data"]' "$work/bundle/config.json" \
  > "$work/bundle-stat/config.json"
show runc --root "$work/runc" run --bundle "$work/bundle-stat" demo-runc-alone
echo
echo "wedge asks the runtime what it supports first, and refuses:"
show "$wedge" lifecycle --runtime runc --root "$work/runc" "$work/bundle" demo-idmap create start

# wedge keeps its cache of `runc features` in the runtime root (wedge-features-<hash>.json):
# it describes the binary, not a container.
say "Containers left behind in runc's root: $(ls -A "$work/runc" 2>/dev/null | grep -vc '^wedge-features-')"
