#!/bin/bash
# tests/vm/run.sh OUT BUILD [ASAN_BUILD]: runs the cgroup-dependent integration suites
# (tests/vm/suites) in a cgroup-v2-only VM and leaves their TAP in OUT/tap/<file>.tap, their exit
# statuses in OUT/tap/<file>.rc, their durations in OUT/tap/<file>.secs and the VM's console in
# OUT/console.log. tests/run-all.sh calls it after the host's suites and counts the TAP.
#
# The VM: Debian's kernel and a bookworm image made by build-image.sh (cached), under
# qemu-system-x86_64 with TCG (software emulation: on these machines /dev/kvm is PVM, where a
# stock kernel's kernel mode runs far slower than under TCG), no network, cgroup_no_v1=all, and
# our own init (tests/vm/init). The source tree and the builds are shared read-only over 9p at
# the paths they have here, so the statically linked shim built on the host runs as it is (the
# wedge CLI needs only libc: bookworm's, as on the host). OUT is shared read-write for the
# results. The disk is opened with snapshot=on: the cached image never changes.
#
# Exit status: 0 when the job ran (whatever its tests said: read the TAP), 77 when this machine
# cannot run the VM (not root, no qemu, no image can be built; the reason is in OUT/skip), 1
# when the VM failed (no result: boot failure, timeout; the console's tail on stderr).
# Environment: WEDGE_VM_TIMEOUT (s, default 1800) for the whole VM, WEDGE_VM_MEM (MiB, 2048),
# WEDGE_VM_CPUS (2), BATS_FILE_TIMEOUT (s, per suite in the guest), WEDGE_VM_CACHE and
# WEDGE_VM_MIRROR (build-image.sh).
set -uo pipefail

usage() { echo "usage: $0 OUT BUILD [ASAN_BUILD]" >&2; exit 2; }
[ $# -ge 2 ] && [ $# -le 3 ] || usage

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_root=$(cd "$here/../.." && pwd)
out=$1
mkdir -p "$out/tap" || exit 1
out=$(cd "$out" && pwd)
build=$(cd "$2" && pwd) || usage
asan_build=${3:+$(cd "$3" 2>/dev/null && pwd || echo "$3")}

skip() {
  echo "$*" > "$out/skip"
  echo "vm: skipped: $*" >&2
  exit 77
}

[ "$(id -u)" = 0 ] || skip "not root (the VM's image is built with debootstrap, and the suites run as root)"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not found (scripts/install-deps.sh --vm)"
[ -x "$build/src/containerd-shim-wedge-v2" ] || { echo "vm: no shim in $build/src" >&2; exit 1; }
# shellcheck source=../helpers/rootfs.bash
. "$source_root/tests/helpers/rootfs.bash"
file_is_static "$build/src/containerd-shim-wedge-v2" ||
  skip "the shim in $build is dynamically linked (-Dstatic_shim=disabled): the guest lacks its libraries"

t0=$SECONDS
if ! image=$("$here/build-image.sh" 2> "$out/build-image.log"); then
  cat "$out/build-image.log" >&2
  # debootstrap's own error (E: ...) says more than build-image's last line.
  why=$(grep '^E: ' "$out/build-image.log" | tail -n 1)
  skip "the VM image cannot be built here: ${why:-$(tail -n 1 "$out/build-image.log")}"
fi
cat "$out/build-image.log" >&2
t_image=$((SECONDS - t0))

# The shares: the source tree, and each build outside it, read-only at their own paths.
shares=()
: > "$out/mounts"
n=0
for dir in "$source_root" "$build" ${asan_build:+"$asan_build"}; do
  [ -d "$dir" ] || continue
  case $dir/ in "$source_root"/?*) continue ;; esac
  n=$((n + 1))
  shares+=(-virtfs "local,path=$dir,mount_tag=share$n,security_model=none,readonly=on")
  echo "share$n $dir" >> "$out/mounts"
done
{
  printf 'WEDGE_SOURCE=%q\nWEDGE_BUILD=%q\n' "$source_root" "$build"
  [ -n "$asan_build" ] && printf 'WEDGE_ASAN_BUILD=%q\n' "$asan_build"
  [ -n "${BATS_FILE_TIMEOUT:-}" ] && printf 'BATS_FILE_TIMEOUT=%q\n' "$BATS_FILE_TIMEOUT"
} > "$out/env"
printf '%q %q\n' "$source_root/tests/vm/guest-run.sh" /job > "$out/command"
rm -f "$out/exit" "$out/init-uptime"

timeout=${WEDGE_VM_TIMEOUT:-1800}
echo "vm: $(cat "$image/info" | paste -sd ';'): booting (TCG, timeout ${timeout}s)" >&2
t1=$SECONDS
# `times` in this shell, not in $(...): a subshell's children start at zero.
times > "$out/times"
# -no-reboot: a panic (panic=-1 reboots) or an init that dies ends qemu too. mitigations=off:
# a test VM with nothing to protect, and ~10% off each fork+exec under TCG (docs/lessons.md).
timeout --kill-after=10 "$timeout" qemu-system-x86_64 \
  -accel tcg -cpu max -smp "${WEDGE_VM_CPUS:-2}" -m "${WEDGE_VM_MEM:-2048}" \
  -nic none -display none -monitor none -no-reboot -serial "file:$out/console.log" \
  -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
  -append "console=ttyS0 panic=-1 cgroup_no_v1=all mitigations=off quiet loglevel=4" \
  -drive "file=$image/rootfs.img,format=raw,if=virtio,snapshot=on" \
  -virtfs "local,path=$out,mount_tag=job,security_model=none" \
  "${shares[@]}" < /dev/null &
qemu_pid=$!
# Stopped, we stop the VM too (timeout passes the signal on to qemu): no qemu is left behind.
trap 'kill "$qemu_pid" 2>/dev/null; wait "$qemu_pid"; exit 130' INT TERM HUP
wait "$qemu_pid"
rc=$?
trap - INT TERM HUP
t_vm=$((SECONDS - t1))
# The CPU time qemu used (the children's user + sys that `times` adds up, before and after):
# on a loaded machine, wall time says little; a guest with CPUS vCPUs on an idle host with as
# many cores would take between this / CPUS and this.
times >> "$out/times"
cpu_s=$(sed -n '2p;4p' "$out/times" | awk '
  function secs(t,  m) { m = t; sub(/m.*/, "", m); sub(/^[0-9]+m/, "", t); sub(/s$/, "", t); return m * 60 + t }
  NR == 1 { b = secs($1) + secs($2) } NR == 2 { printf "%d", secs($1) + secs($2) - b }')
boot=$(cat "$out/init-uptime" 2>/dev/null || echo '?')
grep -a '^guest: ' "$out/console.log" | sed 's/^/vm: /' >&2
echo "vm: image ${t_image}s, VM ${t_vm}s (kernel to init ${boot}s; qemu used ${cpu_s}s of CPU)," \
  "job exit status $(cat "$out/exit" 2>/dev/null || echo none)" >&2
if [ ! -f "$out/exit" ]; then
  if [ $rc = 124 ] || [ $rc = 137 ]; then
    echo "vm: the VM ran past ${timeout}s and was killed" >&2
  else
    echo "vm: the VM ended (qemu status $rc) without the job's result" >&2
  fi
  tail -n 40 "$out/console.log" >&2
  exit 1
fi
exit 0
