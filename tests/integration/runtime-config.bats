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

@test "an option wedge would not act on is refused with the file and line" {
  local conf=$BATS_TEST_TMPDIR/wedge.toml
  printf 'BinaryName = "runc"\nRuntimeType = "io.containerd.runc.v2"\n' > "$conf"
  run_timeout 60 ctr_ run --rm --runtime "$WEDGE_RT" --runtime-config-path "$conf" "$CTRD_IMAGE" cfg-bad echo hi
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"$conf:2: unknown option \"RuntimeType\""* ]]
  run_timeout 30 ctr_ container rm cfg-bad
}

@test "a missing config file is named in the error" {
  run_timeout 60 ctr_ run --rm --runtime "$WEDGE_RT" --runtime-config-path "$BATS_TEST_TMPDIR/none.toml" \
    "$CTRD_IMAGE" cfg-missing echo hi
  echo "$output"
  [ "$status" -ne 0 ]
  [[ "$output" == *"open runtime config $BATS_TEST_TMPDIR/none.toml: No such file or directory"* ]]
  run_timeout 30 ctr_ container rm cfg-missing
}

@test "ctr refuses --runc-binary for wedge: the config file is the way (as for any non-runc.v2 runtime)" {
  run_timeout 30 ctr_ run --rm --runtime "$WEDGE_RT" --runc-binary /usr/sbin/runc "$CTRD_IMAGE" cfg-flag echo hi
  [ "$status" -ne 0 ]
  [[ "$output" == *'specifying runc-binary and runc-systemd-cgroup is only supported for "io.containerd.runc.v2" runtime'* ]]
}
