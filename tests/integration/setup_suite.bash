# bats suite setup (bats >= 1.7 runs it once around the files of one `bats` invocation).
# A broken environment fails the run here, loudly, instead of each test skipping (as conmon's
# test/setup_suite.bash does). Every test file puts its temp dirs under WEDGE_TEST_TMPDIR;
# teardown_suite checks that nothing was left mounted or running there.

setup_suite() {
  # shellcheck source=../helpers/common.bash
  . "$BATS_TEST_DIRNAME/../helpers/common.bash"
  local tool missing=()
  [ "$(id -u)" = 0 ] || { echo "setup_suite: the integration tests must run as root" >&2; return 1; }
  for tool in containerd ctr containerd-shim-runc-v2 runc crun jq tar gzip sha256sum unshare \
              nsenter timeout mountpoint perl readelf; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  [ -x /bin/busybox ] || missing+=(busybox-static)
  # The CRI suite's client (tests/helpers/cri/cri.py) runs on Debian's python3, not a pyenv one.
  /usr/bin/python3 -c 'import grpc; from grpc_tools import protoc' 2>/dev/null || missing+=(python3-grpcio python3-grpc-tools python3-pkg-resources)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup_suite: missing: ${missing[*]} (run scripts/install-deps.sh)" >&2
    return 1
  fi
  if [ -z "${WEDGE_TEST_TMPDIR:-}" ]; then
    WEDGE_TEST_TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/wedge-tests.XXXXXX")
    WEDGE_SUITE_OWNS_TMPDIR=1
    export WEDGE_TEST_TMPDIR WEDGE_SUITE_OWNS_TMPDIR
  fi
}

teardown_suite() {
  # shellcheck source=../helpers/common.bash
  . "$BATS_TEST_DIRNAME/../helpers/common.bash"
  local rc=0
  leak_check "$WEDGE_TEST_TMPDIR" || rc=1
  if [ "${WEDGE_SUITE_OWNS_TMPDIR:-}" = 1 ]; then
    umount_under "$WEDGE_TEST_TMPDIR" || rc=1
    rm -rf "$WEDGE_TEST_TMPDIR"
  fi
  return $rc
}
