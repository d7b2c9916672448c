#!/usr/bin/env bats
# A short soak (tests/soak/soak.sh, 50 cycles of run -d / exec / kill / delete plus an exec in
# one long-lived container) through the ASan+UBSan build of containerd-shim-wedge-v2: no
# sanitizer report from any shim process, the long-lived shim's fds and VmRSS flat after
# warm-up, no zombie, nothing left behind. docs/reliability.md (## Soak) has the 1000-cycle run.

load ../helpers/common

setup_file() {
  common_setup_file
  [ -x "${WEDGE_ASAN_BUILD:-}/src/containerd-shim-wedge-v2" ] || {
    echo "soak.bats needs WEDGE_ASAN_BUILD with containerd-shim-wedge-v2 built" >&2
    return 1
  }
}

teardown_file() {
  common_teardown_file
}

@test "soak: 50 cycles through the ASan shim leave no leak, fd, RSS growth or zombie" {
  WEDGE_TEST_TMPDIR=$WEDGE_TEST_DIR run_timeout 1000 "$WEDGE_SOURCE/tests/soak/soak.sh" -n 50 -w 25 -t 900
  echo "$output"
  [ "$status" -eq 0 ]
  [ "${lines[-1]}" = "soak: PASS" ]
  # On a machine so loaded that the 900 s bound comes first, the figures of the cycles done
  # still count, as long as there are enough of them beyond the warm-up (25: ASan's allocator grows
  # its regions for the first cycles, docs/reliability.md ## Soak).
  local done
  done=$(sed -n 's/^soak: \([0-9]*\) cycles in .*/\1/p' <<<"$output")
  [ "${done:-0}" -ge 30 ]
}
