#!/bin/bash
# Installs what wedge needs to build and test, from Debian 12's packages, when it is missing.
# Idempotent and quiet when everything is there already.
#   --bench   also what bench/run.sh needs (gnuplot for its chart, perf for its phases section);
#             the tests never need it
#   --vm      also what the cgroup-v2 VM of the tests needs (tests/vm/: qemu to run it,
#             debootstrap and e2fsprogs to build its image); `make test` asks for it
set -euo pipefail

packages=(
  # build
  # libc6-dev, libjansson-dev and libprotobuf-c-dev also hold the archives (libc.a, libjansson.a,
  # libprotobuf-c.a) the static shim links (meson option static_shim)
  gcc libc6-dev meson ninja-build pkg-config libjansson-dev libcmocka-dev
  # the fuzz build (make fuzz-build): clang-14, and libclang-rt-14-dev for libclang_rt.fuzzer
  # and the sanitizer runtimes clang links (`dpkg -S libclang_rt.fuzzer-x86_64.a` names it)
  clang clang-14 libclang-rt-14-dev
  protobuf-c-compiler libprotobuf-c-dev libprotobuf-dev protobuf-compiler
  # the peers wedge runs beside and drives
  containerd runc crun criu conmon
  # test harness: the image and bundle are built from busybox-static
  bats busybox-static util-linux procps iproute2 psmisc jq tmux
  # the CRI suite's client (tests/helpers/cri/cri.py, run with /usr/bin/python3)
  # grpc_tools.protoc imports pkg_resources, which Debian 12's python3-grpc-tools does not depend on
  python3-grpcio python3-grpc-tools python3-pkg-resources
)
case ${1:-} in
  --bench) packages+=(gnuplot-nox linux-perf) ;;
  --vm) packages+=(qemu-system-x86 debootstrap e2fsprogs) ;;
esac

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing packages: ${missing[*]} (run as root to install them)" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
# The Debian containerd package enables a system containerd where systemd runs; the tests never
# use it (each starts its own), so nothing is started or stopped here.
