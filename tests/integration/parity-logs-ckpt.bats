#!/usr/bin/env bats
# Log URIs (ctr run --log-uri file:// and binary://) and checkpoint, with io.containerd.runc.v2
# and containerd-shim-wedge-v2 side by side on one private containerd 1.6.20. CRIU 3.17 cannot
# dump on the test machines' kernel, so the checkpoint tests exercise the failure path for real:
# both shims fail with the runtime's text, copy CRIU's dump log into the bundle, and leave the
# container running.

load ../helpers/common
load ../helpers/containerd
load ../helpers/shim-suite

LOGGER=$BATS_TEST_DIRNAME/../helpers/file-logger.sh

# The logger processes of this test still alive (its copies included): their command lines
# name the test's log dir.
loggers_alive() {
  local p
  for p in $(pgrep -f -- "$1" || true); do
    [ "$p" != $$ ] && echo "$p"
  done
}

bundle_of() {
  echo "$CTRD_DIR/state/io.containerd.runtime.v2.task/$CTRD_NS/$1"
}

@test "--log-uri file:// appends stdout and stderr to the file, creating its directory" {
  local rt short id log
  for rt in $RUNC_RT $WEDGE_RT; do
    short=${rt#io.containerd.}
    short=${short%.v2}
    id=file-$short
    log=$WEDGE_TEST_DIR/flogs/$short/sub/c.log
    run_timeout 60 ctr_ run --rm --runtime "$rt" --log-uri "file://$log" "$CTRD_IMAGE" "$id" \
      sh -c 'echo out1; echo err1 >&2; echo out2; exit 4'
    echo "$short: rc=$status output: $output"
    [ "$status" -eq 4 ]
    [ -z "$output" ]
    # runc.v2 waits for its copy into the file at delete, for 2 s at most: on a loaded machine
    # the last lines can land after ctr returned, or never (seen once in CI-like runs: the
    # reference lost a line). wedge must write every line; runc.v2 only lines of the output.
    if [ "$rt" = "$RUNC_RT" ]; then
      wait_for "[ \"\$(sort '$log' | tr '\n' ' ')\" = 'err1 out1 out2 ' ]" 30 || {
        echo "runc.v2 lost lines: $(tr '\n' ' ' < "$log")"
        if grep -qvxE 'out1|err1|out2' "$log"; then return 1; fi
        rm -f "$log"
        continue
      }
    else
      wait_for "[ \"\$(sort '$log' | tr '\n' ' ')\" = 'err1 out1 out2 ' ]" 30
    fi
    [ "$(grep out "$log" | tr '\n' ' ')" = "out1 out2 " ]
    [ "$(stat -c %a "$log")" = 644 ]
    # Appended, not truncated: a second container adds to the same file.
    run_timeout 60 ctr_ run --rm --runtime "$rt" --log-uri "file://$log" "$CTRD_IMAGE" "$id-2" echo again
    echo "$short again: rc=$status output: $output"
    [ "$status" -eq 0 ]
    wait_for "[ \"\$(wc -l < '$log')\" -eq 4 ]" 30
    [ "$(tail -n 1 "$log")" = again ]
  done
  cmp "$WEDGE_TEST_DIR/flogs/runc/sub/c.log" "$WEDGE_TEST_DIR/flogs/wedge/sub/c.log" ||
    [ "$(sort "$WEDGE_TEST_DIR/flogs/runc/sub/c.log")" = "$(sort "$WEDGE_TEST_DIR/flogs/wedge/sub/c.log")" ]
}

@test "--log-uri binary:// hands the streams to the logger, which is gone after delete" {
  local rt short id dir=$WEDGE_TEST_DIR/blogs
  mkdir -p "$dir"
  for rt in $RUNC_RT $WEDGE_RT; do
    short=${rt#io.containerd.}
    short=${short%.v2}
    id=bin-$short
    run_timeout 60 ctr_ run --rm --runtime "$rt" --log-uri "binary://$LOGGER?dir=$dir" "$CTRD_IMAGE" "$id" \
      sh -c 'echo out1; echo err1 >&2; seq 1 20000; exit 5'
    echo "$short: rc=$status output: $output"
    [ "$status" -eq 5 ]
    [ -z "$output" ]
    # The logger's copies finish at EOF, which may come after ctr returned.
    wait_for "[ \"\$(tail -n 1 '$dir/$id.out' 2>/dev/null)\" = 20000 ]" 30
    [ "$(head -n 1 "$dir/$id.out")" = out1 ]
    [ "$(wc -l < "$dir/$id.out")" -eq 20001 ]
    wait_for "[ \"\$(cat '$dir/$id.err' 2>/dev/null)\" = err1 ]" 30
    [ "$(cat "$dir/$id.args")" = "dir $dir" ]
    grep -qx "CONTAINER_ID=$id" "$dir/$id.env"
    grep -qx "CONTAINER_NAMESPACE=$CTRD_NS" "$dir/$id.env"
    ! grep -q '^PATH=' "$dir/$id.env"
    wait_for "[ -z \"\$(loggers_alive '$dir')\" ]" 30
  done
  [ "$(sort "$dir/bin-runc.env")" = "$(sort "$dir/bin-wedge.env" | sed 's/bin-wedge/bin-runc/')" ]
}

@test "a logger that cannot start fails create with the reason" {
  local rt short id
  for rt in $RUNC_RT $WEDGE_RT; do
    short=${rt#io.containerd.}
    short=${short%.v2}
    id=nolog-$short
    run_timeout 60 ctr_ run --rm --runtime "$rt" --log-uri "binary://$WEDGE_TEST_DIR/no/such/logger" \
      "$CTRD_IMAGE" "$id" echo hi
    echo "$short: rc=$status output: $output"
    [ "$status" -ne 0 ]
    [[ $output == *"failed to create init process I/O: "* ]]
    [[ $output == *"failed to start binary process"* ]]
    [[ $output == *"$WEDGE_TEST_DIR/no/such/logger"* ]]
    [[ $output == *[Nn]"o such file or directory"* ]]
    run_timeout 30 ctr_ container rm "$id"
  done
}

@test "an unknown log URI scheme fails create with the runc shim's text" {
  local rt short id
  for rt in $RUNC_RT $WEDGE_RT; do
    short=${rt#io.containerd.}
    short=${short%.v2}
    id=scheme-$short
    run_timeout 60 ctr_ run --rm --runtime "$rt" --log-uri "http://example.invalid/x" "$CTRD_IMAGE" "$id" echo hi
    echo "$short: rc=$status output: $output"
    [ "$status" -ne 0 ]
    [[ $output == *"unknown STDIO scheme http"* ]]
    run_timeout 30 ctr_ container rm "$id"
  done
}

@test "a logger that exits at once: the container's write fails the same way under both" {
  local dir=$WEDGE_TEST_DIR/quit
  mkdir -p "$dir"
  printf '#!/bin/sh\nexit 0\n' > "$dir/quit.sh"
  chmod +x "$dir/quit.sh"
  both quit run --rm --runtime RT --log-uri "binary://$dir/quit.sh" "$CTRD_IMAGE" ID \
    sh -c 'sleep 1; echo hi'
  [ "$RC_wedge" = "$RC_runc" ]
}

# ckpt_both NAME CMD...: for each runtime, starts a `sleep` container NAME-<runc|wedge>, runs
# `ctr_ CMD` with an argument that is exactly "ID" replaced by that id, and checks the failure
# CRIU causes on this kernel: the message names <bundle>/criu-dump.log, which holds CRIU's log,
# the scratch work dir is gone and the task still runs. Then removes the container and compares
# the CRIU text of both (the prefix is go-runc's for runc.v2, the runtime error prefix for wedge:
# docs/compat.md).
ckpt_both() {
  local name=$1 rt short id args a
  shift
  for rt in $RUNC_RT $WEDGE_RT; do
    short=${rt#io.containerd.}
    short=${short%.v2}
    id=$name-$short
    args=()
    for a in "$@"; do
      if [ "$a" = ID ]; then args+=("$id"); else args+=("$a"); fi
    done
    run_timeout 60 ctr_ run -d --runtime "$rt" "$CTRD_IMAGE" "$id" sleep 1000
    [ "$status" -eq 0 ]
    run_timeout 120 ctr_ "${args[@]}"
    printf -v "OUT_$short" '%s' "$output"
    echo "$short: rc=$status output: $output"
    [ "$status" -ne 0 ]
    [[ $output == *"path= $(bundle_of "$id")/criu-dump.log"* ]]
    grep -q . "$(bundle_of "$id")/criu-dump.log"
    [ ! -e "$(bundle_of "$id")/work/criu-work" ]
    [ "$(task_status "$id")" = RUNNING ]
    run_timeout 30 ctr_ task kill -s SIGKILL "$id"
    wait_for "[ \"\$(task_status $id)\" = STOPPED ]" 30
    run_timeout 30 ctr_ task rm "$id"
    run_timeout 30 ctr_ container rm "$id"
  done
  local criu_runc=${OUT_runc#*exit status 1: } criu_wedge=${OUT_wedge#*OCI runtime checkpoint failed: }
  [ "${criu_runc%% path=*}" = "${criu_wedge%% path=*}" ]
  [[ $criu_wedge == "criu failed: "* ]]
}

@test "ctr task checkpoint fails as with runc.v2: CRIU's text, criu-dump.log, still running" {
  ckpt_both ckpt task checkpoint ID
}

@test "ctr task checkpoint --exit: the failed dump leaves the container running under both" {
  # ctr sends the exit option to runc.v2 only (docs/compat.md); CRIU resumes the tasks it froze
  # when a dump fails, so the container runs on either way.
  ckpt_both ckptexit task checkpoint --exit ID
}

@test "ctr containers checkpoint --task sends CheckpointOptions to any runtime: same failure" {
  ckpt_both cckpt containers checkpoint --task ID wedge-test-checkpoint-ref
  run_timeout 30 ctr_ image rm wedge-test-checkpoint-ref
}
