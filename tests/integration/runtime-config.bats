#!/usr/bin/env bats
# The runc options of a wedge runtime given as a config file (runtimeoptions.v1.Options
# config_path): what `ctr run --runtime-config-path FILE` and the CRI plugin's options table
# (TypeUrl/ConfigPath) send to a shim that is not io.containerd.runc.v2. ctr refuses
# --runc-binary for any other runtime, and CRI drops every other key of the table, so the file
# is the only way to pick the runtime binary, its root, systemd cgroups, ... for wedge.

load ../helpers/common
load ../helpers/containerd
load ../helpers/shim-suite

# A runtime binary that records each command line, then is runc.
make_recording_runc() {
  local path=$1 log=$2
  cat > "$path" <<EOF
#!/bin/sh
echo "\$*" >> '$log'
exec /usr/sbin/runc "\$@"
EOF
  chmod 0755 "$path"
}

@test "BinaryName and Root from --runtime-config-path are what the shim runs" {
  local dir=$BATS_TEST_TMPDIR conf=$BATS_TEST_TMPDIR/wedge.toml
  make_recording_runc "$dir/runc-rec" "$dir/calls"
  cat > "$conf" <<EOF
# wedge's runc options, as the CRI options table names them
BinaryName = "$dir/runc-rec"
Root = "$dir/root"
EOF
  run_timeout 60 ctr_ run --rm --runtime "$WEDGE_RT" --runtime-config-path "$conf" "$CTRD_IMAGE" cfg echo hi
  echo "$output"
  [ "$status" -eq 0 ]
  [ "$output" = hi ]
  grep -q -- "--root $dir/root/$CTRD_NS .*create" "$dir/calls"
  grep -q -- "--root $dir/root/$CTRD_NS .*delete" "$dir/calls"
  # Deleted from the runtime root the file named, nothing left there.
  [ -z "$(ls -A "$dir/root/$CTRD_NS")" ]
}

@test "NoPivotRoot, NoNewKeyring and CriuPath from the file reach the runtime as the runc shim passes them" {
  local dir=$BATS_TEST_TMPDIR conf=$BATS_TEST_TMPDIR/wedge.toml
  make_recording_runc "$dir/runc-rec" "$dir/calls"
  cat > "$conf" <<EOF
BinaryName = "$dir/runc-rec"
NoPivotRoot = true
NoNewKeyring = true
CriuPath = "/usr/sbin/criu"
EOF
  run_timeout 60 ctr_ run --rm --runtime "$WEDGE_RT" --runtime-config-path "$conf" "$CTRD_IMAGE" cfg-flags echo hi
  echo "$output"
  cat "$dir/calls"
  [ "$status" -eq 0 ]
  [ "$output" = hi ]
  # go-runc: --criu is a global flag of every call; --no-pivot and --no-new-keyring are create's.
  grep -q -- "--criu /usr/sbin/criu create .*--no-pivot --no-new-keyring .*cfg-flags" "$dir/calls"
  [ "$(grep -c -- "--criu /usr/sbin/criu " "$dir/calls")" -eq "$(wc -l < "$dir/calls")" ]
}

# runc (fixStdioPermissions) gives a stdio pipe's uid to the container's user as it starts it,
# so what stays visible of IoUid:IoGid is the group; with a user namespace the uid maps back.
@test "IoUid and IoGid from the file own the container's pipes" {
  printf 'IoUid = 1234\nIoGid = 4321\n' > "$BATS_TEST_TMPDIR/wedge.toml"
  run_timeout 60 ctr_ run -d --runtime "$WEDGE_RT" --runtime-config-path "$BATS_TEST_TMPDIR/wedge.toml" \
    "$CTRD_IMAGE" cfg-io sleep 600
  [ "$status" -eq 0 ]
  init=$(ctr_ task ls | awk '$1 == "cfg-io" { print $2 }')
  for fd in 0 1 2; do
    stat -L -c "$fd %u:%g" "/proc/$init/fd/$fd"
    [ "$(stat -L -c %u:%g "/proc/$init/fd/$fd")" = 0:4321 ]
  done
  run_timeout 30 ctr_ task kill -s SIGKILL cfg-io
  run_timeout 30 ctr_ task delete cfg-io
  run_timeout 30 ctr_ container rm cfg-io
  [ "$status" -eq 0 ]
}

@test "SystemdCgroup from the file makes the runtime use systemd cgroups" {
  local dir=$BATS_TEST_TMPDIR conf=$BATS_TEST_TMPDIR/wedge.toml
  make_recording_runc "$dir/runc-rec" "$dir/calls"
  printf 'BinaryName = "%s"\nSystemdCgroup = true\n' "$dir/runc-rec" > "$conf"
  # ctr's cgroupsPath (/<ns>/<id>) is not systemd's slice:prefix:name: runc refuses it, which it
  # only does with --systemd-cgroup.
  run_timeout 60 ctr_ run --rm --runtime "$WEDGE_RT" --runtime-config-path "$conf" "$CTRD_IMAGE" cfg-sd echo hi
  echo "$output"
  [ "$status" -ne 0 ]
  grep -q -- "--systemd-cgroup create .*cfg-sd" "$dir/calls"
  [[ "$output" == *"slice:prefix:name"* ]]
  run_timeout 30 ctr_ container rm cfg-sd
}

# config_refused ID WANT [FILE]: `ctr run` with the config FILE (default: the test's wedge.toml)
# fails saying WANT; the container ctr made is removed.
config_refused() {
  run_timeout 60 ctr_ run --rm --runtime "$WEDGE_RT" --runtime-config-path "${3:-$BATS_TEST_TMPDIR/wedge.toml}" \
    "$CTRD_IMAGE" "$1" echo hi
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"$2"* ]]
  run_timeout 30 ctr_ container rm "$1"
}

@test "an option wedge would not act on is refused with the file and line" {
  local conf=$BATS_TEST_TMPDIR/wedge.toml
  printf 'BinaryName = "runc"\nRuntimeType = "io.containerd.runc.v2"\n' > "$conf"
  config_refused cfg-bad "$conf:2: unknown option \"RuntimeType\""
}

@test "CriuImagePath, which no shim reads, is refused with the file" {
  local conf=$BATS_TEST_TMPDIR/wedge.toml
  printf 'CriuImagePath = "/var/lib/criu/images"\n' > "$conf"
  config_refused cfg-img "runtime config $conf: CriuImagePath (criu_image_path) /var/lib/criu/images is not supported"
}

@test "a missing config file is named in the error" {
  config_refused cfg-missing "open runtime config $BATS_TEST_TMPDIR/none.toml: No such file or directory" \
    "$BATS_TEST_TMPDIR/none.toml"
}

@test "ctr refuses --runc-binary for wedge: the config file is the way (as for any non-runc.v2 runtime)" {
  run_timeout 30 ctr_ run --rm --runtime "$WEDGE_RT" --runc-binary /usr/sbin/runc "$CTRD_IMAGE" cfg-flag echo hi
  [ "$status" -ne 0 ]
  [[ "$output" == *'specifying runc-binary and runc-systemd-cgroup is only supported for "io.containerd.runc.v2" runtime'* ]]
}
