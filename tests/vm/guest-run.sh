#!/bin/bash
# tests/vm/guest-run.sh OUT: the job tests/vm/run.sh gives the cgroup-v2 VM (run by its init, as
# root, from the 9p share of the source tree). Runs each suite of tests/vm/suites as
# tests/run-all.sh runs a host suite (bats --tap under a timeout, default signal dispositions)
# and writes OUT/tap/<file>.tap, .rc and .secs; a line per suite on the console.
set -uo pipefail

out=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_root=$(cd "$here/../.." && pwd)
BATS_FILE_TIMEOUT=${BATS_FILE_TIMEOUT:-1200}
export WEDGE_SOURCE=${WEDGE_SOURCE:-$source_root} WEDGE_BUILD

echo "guest: $(uname -r); $(containerd --version); $(runc --version | head -n 1); $(crun --version | head -n 1)"
mkdir -p "$out/tap"
# shellcheck source=suites.bash
. "$here/suites.bash"
# The list on fd 3: a suite must not eat it from stdin.
while read -r file filter <&3; do
  # --timing: each result line ends "in N ms" (what each test costs under TCG).
  args=(--tap --timing)
  [ -n "$filter" ] && args+=(--filter "$filter")
  start=$SECONDS
  timeout --kill-after=30 "$BATS_FILE_TIMEOUT" "$source_root/tests/helpers/default-signals.pl" \
    bats "${args[@]}" "$source_root/tests/integration/$file" > "$out/tap/$file.tap" 2>&1 < /dev/null
  echo $? > "$out/tap/$file.rc"
  echo $((SECONDS - start)) > "$out/tap/$file.secs"
  echo "guest: $file${filter:+ (--filter '$filter')}: $(grep -c '^ok' "$out/tap/$file.tap") ok," \
    "$(grep -c '^not ok' "$out/tap/$file.tap") not ok, $((SECONDS - start))s"
done 3< <(vm_suites)
