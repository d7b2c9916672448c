#!/usr/bin/env bats
# `wedge check` against the real runc 1.1.5 (features without mountExtensions or seccomp flag
# lists) and crun 1.8.1 (no features command at all): idmap, seccomp-flag, apparmor and plain
# bundles, their exit codes and what the output names. `features` needs no cgroups, so crun runs
# as is here. Nothing is created: the runtimes are only asked to describe themselves.
#
# Not here: `ctr run --runtime io.containerd.wedge.v2` with an idmapped spec (refused by the
# shim's create) needs the shim binary, which another branch finishes.

load ../helpers/common

setup_file() {
  common_setup_file
  require_wedge
  local base=$WEDGE_TEST_DIR/plain
  "$WEDGE_SOURCE/tests/helpers/make-bundle.sh" "$base" true
  # variant NAME JQ_FILTER: a bundle NAME beside the plain one, sharing its rootfs.
  variant() {
    mkdir -p "$WEDGE_TEST_DIR/$1"
    ln -s "$base/rootfs" "$WEDGE_TEST_DIR/$1/rootfs"
    jq "$2" "$base/config.json" > "$WEDGE_TEST_DIR/$1/config.json"
  }
  variant idmap '.mounts += [{"destination": "/data", "type": "bind", "source": "/tmp",
    "options": ["rbind"], "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
    "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}]'
  variant seccomp-flag '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
    "architectures": ["SCMP_ARCH_X86_64"], "flags": ["SECCOMP_FILTER_FLAG_LOG"]}'
  variant seccomp-arch '.linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
    "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_RISCV64"]}'
  variant apparmor '.process.apparmorProfile = "wedge-test-profile"'
}

teardown_file() {
  common_teardown_file
}

check() {
  run_timeout 60 "$WEDGE" check "$@"
  echo "$output"
}

@test "runc 1.1.5: a plain bundle has nothing to refuse" {
  check --runtime runc "$WEDGE_TEST_DIR/plain"
  [ "$status" -eq 0 ]
  [[ "${lines[-1]}" == "0 refused, 0 warnings, 0 unknown: runtime runc honours everything it can be asked about" ]]
}

@test "runc 1.1.5: an idmapped mount is refused, both mappings listed" {
  check --runtime runc "$WEDGE_TEST_DIR/idmap"
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == SEVERITY*PATH*VALUE*"FEATURES KEY"*REASON ]]
  [[ "$output" =~ refuse\ +mounts\[[0-9]+\]\.uidMappings\ \(/data\)\ .*linux\.mountExtensions\.idmap\.enabled ]]
  [[ "$output" =~ refuse\ +mounts\[[0-9]+\]\.gidMappings\ \(/data\) ]]
  [[ "$output" == *"the runtime does not say whether it supports idmapped mounts"* ]]
  [[ "${lines[-1]}" == "2 refused, 0 warnings, 0 unknown: runtime runc would silently ignore what config.json asks for: refused" ]]
}

@test "runc 1.1.5: a seccomp flag is unknown (runc reports no flag lists), not refused" {
  check --runtime runc "$WEDGE_TEST_DIR/seccomp-flag"
  [ "$status" -eq 0 ]
  [[ "$output" =~ unknown\ +linux\.seccomp\.flags\[0\]\ +\"SECCOMP_FILTER_FLAG_LOG\"\ +linux\.seccomp\.supportedFlags ]]
  [[ "${lines[-1]}" == "0 refused, 0 warnings, 1 unknown:"* ]]
}

@test "runc 1.1.5: a seccomp architecture its libseccomp lacks is refused" {
  check --runtime runc "$WEDGE_TEST_DIR/seccomp-arch"
  [ "$status" -eq 1 ]
  [[ "$output" =~ refuse\ +linux\.seccomp\.architectures\[1\]\ +\"SCMP_ARCH_RISCV64\"\ +linux\.seccomp\.archs\ +linux\.seccomp\.archs\ does\ not\ list\ it ]]
}

@test "runc 1.1.5: an AppArmor profile passes (runc reports linux.apparmor.enabled=true)" {
  check --runtime runc "$WEDGE_TEST_DIR/apparmor"
  [ "$status" -eq 0 ]
  [[ "${lines[-1]}" == "0 refused, 0 warnings, 0 unknown:"* ]]
}

@test "runc 1.1.5: --json lists the findings with their features keys" {
  check --runtime runc --json "$WEDGE_TEST_DIR/idmap/config.json"
  [ "$status" -eq 1 ]
  [ "$(jq -r .refused <<<"$output")" = 2 ]
  [ "$(jq -r .featuresAvailable <<<"$output")" = true ]
  [ "$(jq -r .needsFeatures <<<"$output")" = true ]
  [ "$(jq -r '.findings[0].featuresKey' <<<"$output")" = linux.mountExtensions.idmap.enabled ]
  [ "$(jq -r '.findings[0].context' <<<"$output")" = /data ]
  [ "$(jq -r '.findings[0].value[0].hostID' <<<"$output")" = 100000 ]
}

@test "crun 1.8.1: too old to be checked; a plain bundle passes with a warning" {
  check --runtime crun "$WEDGE_TEST_DIR/plain"
  [ "$status" -eq 0 ]
  [[ "${lines[0]}" == "runtime crun is too old to be checked: "*"unknown command features" ]]
  [[ "${lines[-1]}" == *"warning: nothing in config.json needs confirming, but runtime crun cannot be checked" ]]
}

@test "crun 1.8.1: an idmapped mount is refused" {
  check --runtime crun "$WEDGE_TEST_DIR/idmap"
  [ "$status" -eq 1 ]
  [[ "${lines[0]}" == "runtime crun is too old to be checked: "* ]]
  [[ "$output" =~ refuse\ +mounts\[[0-9]+\]\.uidMappings\ \(/data\) ]]
  [[ "${lines[-1]}" == *"config.json uses features runtime crun cannot confirm: refused" ]]
}

@test "crun 1.8.1: a seccomp flag and an AppArmor profile cannot be confirmed: refused" {
  check --runtime crun "$WEDGE_TEST_DIR/seccomp-flag"
  [ "$status" -eq 1 ]
  [[ "$output" =~ unknown\ +linux\.seccomp\.flags\[0\] ]]
  [[ "${lines[-1]}" == *"cannot confirm: refused" ]]

  check --runtime crun "$WEDGE_TEST_DIR/apparmor"
  [ "$status" -eq 1 ]
  [[ "$output" =~ unknown\ +process\.apparmorProfile\ +\"wedge-test-profile\"\ +linux\.apparmor\.enabled ]]
  [[ "${lines[-1]}" == *"cannot confirm: refused" ]]

  check --runtime crun --json "$WEDGE_TEST_DIR/apparmor"
  [ "$status" -eq 1 ]
  [ "$(jq -r .featuresAvailable <<<"$output")" = false ]
  [[ "$(jq -r .tooOld <<<"$output")" == *"unknown command features" ]]
}

@test "usage and parse errors exit 2, bad JSON with file, line and column" {
  printf '{"ociVersion": "1.0.2",\n  "process": {,}\n}\n' > "$BATS_TEST_TMPDIR/bad.json"
  check --runtime runc "$BATS_TEST_TMPDIR/bad.json"
  [ "$status" -eq 2 ]
  [[ "$output" == "wedge check: $BATS_TEST_TMPDIR/bad.json: invalid JSON at line 2, column "* ]]

  check --runtime runc "$BATS_TEST_TMPDIR/missing"
  [ "$status" -eq 2 ]
  [[ "$output" == *"$BATS_TEST_TMPDIR/missing"* ]]

  check
  [ "$status" -eq 2 ]
  check --bogus "$WEDGE_TEST_DIR/plain"
  [ "$status" -eq 2 ]

  check --runtime "$BATS_TEST_TMPDIR/no-such-runtime" "$WEDGE_TEST_DIR/plain"
  [ "$status" -eq 2 ]
  [[ "$output" == *"cannot ask runtime"* ]]
}
