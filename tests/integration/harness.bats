#!/usr/bin/env bats
# The test harness itself: the busybox image and bundle, the private containerd with runc and
# with crun, and teardown leaving nothing behind. Every later suite relies on these.

load ../helpers/common
load ../helpers/containerd

setup_file() {
  common_setup_file
}

teardown_file() {
  common_teardown_file
}

teardown() {
  containerd_teardown
}

@test "make-image.sh is reproducible and its digests are right" {
  local a=$WEDGE_TEST_DIR/a.tar b=$WEDGE_TEST_DIR/b.tar x=$WEDGE_TEST_DIR/x
  run_timeout 60 "$WEDGE_SOURCE/tests/helpers/make-image.sh" "$a"
  [ "$status" -eq 0 ]
  run_timeout 60 "$WEDGE_SOURCE/tests/helpers/make-image.sh" "$b"
  [ "$status" -eq 0 ]
  cmp "$a" "$b"

  mkdir -p "$x"
  tar -xf "$a" -C "$x"
  [ "$(cat "$x/oci-layout")" = '{"imageLayoutVersion":"1.0.0"}' ]
  local blob digest
  for blob in "$x"/blobs/sha256/*; do
    digest=$(sha256sum "$blob" | cut -d' ' -f1)
    [ "$digest" = "$(basename "$blob")" ]
  done
  [ "$(jq -r '.manifests[0].annotations["io.containerd.image.name"]' "$x/index.json")" = docker.io/library/busybox:wedge ]
  [ "$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$x/index.json")" = wedge ]
  local manifest config layer
  manifest=$x/blobs/sha256/$(jq -r '.manifests[0].digest' "$x/index.json" | cut -d: -f2)
  [ "$(stat -c %s "$manifest")" = "$(jq -r '.manifests[0].size' "$x/index.json")" ]
  config=$x/blobs/sha256/$(jq -r '.config.digest' "$manifest" | cut -d: -f2)
  layer=$x/blobs/sha256/$(jq -r '.layers[0].digest' "$manifest" | cut -d: -f2)
  [ "$(jq -r '.layers[0].mediaType' "$manifest")" = application/vnd.oci.image.layer.v1.tar+gzip ]
  [ "$(stat -c %s "$layer")" = "$(jq -r '.layers[0].size' "$manifest")" ]
  # diff_ids name the uncompressed layer.
  [ "$(jq -r '.rootfs.diff_ids[0]' "$config")" = "sha256:$(gzip -dc "$layer" | sha256sum | cut -d' ' -f1)" ]
  [ "$(jq -c '.config.Cmd' "$config")" = '["sh"]' ]
  gzip -dc "$layer" | tar -t | grep -qx './bin/busybox'
  gzip -dc "$layer" | tar -t | grep -qx './etc/passwd'
}

@test "make-bundle.sh: runc and crun run the bundle" {
  local bundle=$WEDGE_TEST_DIR/bundle root=$WEDGE_TEST_DIR/rt-root
  "$WEDGE_SOURCE/tests/helpers/make-bundle.sh" "$bundle" echo hello bundle
  [ "$(jq -c .process.args "$bundle/config.json")" = '["echo","hello","bundle"]' ]
  [ "$(jq .process.terminal "$bundle/config.json")" = false ]

  run_timeout 60 runc --root "$root/runc" run --bundle "$bundle" harness-runc
  [ "$status" -eq 0 ]
  [ "$output" = "hello bundle" ]

  run_timeout 60 crun_ --root "$root/crun" run --bundle "$bundle" harness-crun
  [ "$status" -eq 0 ]
  [ "$output" = "hello bundle" ]

  leak_check "$bundle" "$root/runc" "$root/crun"
}

@test "crun outside the private mount namespace refuses hybrid cgroups (why crun_ exists)" {
  if ! mountpoint -q /sys/fs/cgroup/unified; then
    skip "this machine does not mount cgroups in hybrid mode"
  fi
  local bundle=$WEDGE_TEST_DIR/bundle-hybrid
  "$WEDGE_SOURCE/tests/helpers/make-bundle.sh" "$bundle" true
  run_timeout 60 crun --root "$WEDGE_TEST_DIR/crun-hybrid" run --bundle "$bundle" harness-hybrid
  [ "$status" -ne 0 ]
  [[ "$output" == *"cgroups in hybrid mode not supported"* ]]
  leak_check "$bundle" "$WEDGE_TEST_DIR/crun-hybrid"
}

@test "runc: the image imports into a private containerd and ctr run --rm prints hi" {
  containerd_start runc
  run ctr_ image ls -q
  [ "$status" -eq 0 ]
  [[ "$output" == *"$CTRD_IMAGE"* ]]
  run ctr_ run --rm --runtime io.containerd.runc.v2 "$CTRD_IMAGE" hi-runc echo hi
  [ "$status" -eq 0 ]
  [ "$output" = hi ]
  containerd_leak_check
}

@test "crun: ctr run --rm prints hi, and crun is what ran" {
  containerd_start crun
  run ctr_ run --rm --runtime io.containerd.runc.v2 "$CTRD_IMAGE" hi-crun echo hi
  [ "$status" -eq 0 ]
  [ "$output" = hi ]

  # crun keeps a `status` file in its state dir, runc a state.json.
  run ctr_ run -d "$CTRD_IMAGE" which-runtime sleep 600
  [ "$status" -eq 0 ]
  local state=$CTRD_DIR/run/containerd/runc/$CTRD_NS/which-runtime
  [ -f "$state/status" ]
  [ ! -e "$state/state.json" ]
  ctr_ task kill -s SIGKILL which-runtime
  wait_for '! ctr_ task ls -q | grep -qx which-runtime || ctr_ task ls | grep -q "which-runtime.*STOPPED"' 30
  ctr_ task delete which-runtime
  ctr_ container delete which-runtime
  containerd_leak_check
}

@test "runc: a running container is in containerd's task list, with the shim and runc state" {
  containerd_start runc
  ctr_ run -d "$CTRD_IMAGE" sleeper sleep 600
  run ctr_ task ls
  [[ "$output" == *"sleeper"*"RUNNING"* ]]
  [ -f "$CTRD_DIR/run/containerd/runc/$CTRD_NS/sleeper/state.json" ]
  [ -n "$(containerd_shim_pids)" ]
  # The leak check sees it.
  run containerd_leak_check
  [ "$status" -ne 0 ]
  [[ "$output" == *"leak: task sleeper"* ]]
  [[ "$output" == *"leak: shim"* ]]
  [[ "$output" == *"leak: socket $CTRD_DIR/run/containerd/s/"* ]]
}

@test "the shims' /run/containerd/s is the private containerd's own, never the host's" {
  containerd_start runc
  ctr_ run -d "$CTRD_IMAGE" private-sock sleep 600
  local shim sock
  shim=$(containerd_shim_pids)
  [ "$(wc -w <<<"$shim")" -eq 1 ]
  # The shim is in containerd's mount namespace, which is not the test's.
  [ "$(readlink "/proc/$shim/ns/mnt")" = "$(readlink "/proc/$CTRD_PID/ns/mnt")" ]
  [ "$(readlink "/proc/$shim/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ]
  # What the shim and ctr see as /run/containerd/s is CTRD_DIR/run/containerd/s, and only that.
  sock=$(containerd_shim_sockets)
  [ "$(wc -w <<<"$sock")" -eq 1 ]
  [ -S "$sock" ]
  [ "$(nsenter -t "$shim" -m -- ls -A /run/containerd/s)" = "${sock##*/}" ]
  [ ! -e "/run/containerd/s/${sock##*/}" ]
  # A socket left there is a leak.
  run containerd_leak_check
  [ "$status" -ne 0 ]
  [[ "$output" == *"leak: socket $sock"* ]]
  ctr_ task kill -s SIGKILL private-sock
  wait_for 'ctr_ task ls | grep -q "private-sock.*STOPPED"' 30
  ctr_ task delete private-sock
  ctr_ container delete private-sock
  containerd_leak_check
}

@test "teardown removes a running container, its shim, cgroups and mounts, and leaves nothing" {
  containerd_start runc
  ctr_ run -d "$CTRD_IMAGE" left-running sleep 600
  ctr_ run -d "$CTRD_IMAGE" left-paused sleep 600
  ctr_ task pause left-paused
  local dir=$CTRD_DIR ns=$CTRD_NS shims
  shims=$(containerd_shim_pids)
  [ -n "$shims" ]
  containerd_teardown
  [ ! -e "$dir" ]
  leak_check "$dir"
  local p
  for p in $shims; do
    ! pid_alive "$p"
  done
  [ -z "$(ls -d /sys/fs/cgroup/*/"$ns" /sys/fs/cgroup/"$ns" 2>/dev/null)" ]
}
