#!/usr/bin/env bats
# Terminals through containerd-shim-wedge-v2, side by side with io.containerd.runc.v2 on the same
# private containerd: `ctr run -t` and `ctr task exec -t` driven in tmux (tests/helpers/tty.bash),
# the way a user types into them: what is typed reaches the container's shell and its answer the
# screen, a window resize reaches `stty size` inside, Ctrl-D ends the shell and ctr exits with its
# status, and the process sees only its terminal as stdio. Both runtimes must show the same.

load ../helpers/common
load ../helpers/containerd
load ../helpers/shim-suite
load ../helpers/tty

setup_file() {
  shim_suite_setup_file runc
  tty_setup
}

teardown() {
  tty_teardown
  containerd_leak_check
}

short_of() {
  local s=${1#io.containerd.}
  echo "${s%.v2}"
}

@test "run -t: typed commands, the screen, resize, Ctrl-D ends the shell with its status" {
  local rt short
  for rt in $RUNC_RT $WEDGE_RT; do
    short=$(short_of "$rt")
    tty_ctr "run-$short" 100 30 run -t --rm --runtime "$rt" "$CTRD_IMAGE" "tty-$short" sh
    tty_shell_session "run-$short" 3
    run tty_ctr_status "run-$short" 30
    echo "$short: ctr exit status $output"
    [ "$output" = 3 ]
  done
  [ -z "$(ctr_ task ls -q)" ]
}

@test "exec -t into a running container: the same, and the shim keeps no fd of it" {
  local rt short id shim before after
  for rt in $RUNC_RT $WEDGE_RT; do
    short=$(short_of "$rt")
    id=exec-$short
    run_timeout 60 ctr_ run -d --runtime "$rt" "$CTRD_IMAGE" "$id" sleep 600
    [ "$status" -eq 0 ]
    shim=$(containerd_shim_pid "$id")
    [ -n "$shim" ]
    before=$(ls "/proc/$shim/fd" | sort -n | tr '\n' ' ')

    tty_ctr "exec-$short" 100 30 task exec -t --exec-id sh1 "$id" sh
    tty_shell_session "exec-$short" 4
    run tty_ctr_status "exec-$short" 30
    echo "$short: ctr exit status $output"
    [ "$output" = 4 ]

    # ctr deleted the exec before it exited: its console, FIFOs and socket are gone.
    after=$(ls "/proc/$shim/fd" | sort -n | tr '\n' ' ')
    echo "$short shim fds before: $before after: $after"
    if [ "$rt" = "$WEDGE_RT" ]; then
      [ "$after" = "$before" ]
    fi

    stop_and_remove "$id"
  done
}

# What `ls -l /proc/self/fd`, run as the process itself, must show (tty_fd_lines): 0, 1 and 2 on
# the pty slave the runtime made (/dev/pts/0: each container has its own devpts, and this is its
# only pty), and 3, the directory ls opened to list /proc/self/fd, already closed when ls reads
# the links (so no target). Not from a shell, whose own fds ls would inherit: busybox ash keeps
# its terminal at fd 10. Nothing of the shim or the runtime reaches the process.
@test "a tty process has only its terminal as fds 0, 1, 2 (run -t and exec -t)" {
  local rt short expected
  expected=$TTY_FDS_EXPECTED
  for rt in $RUNC_RT $WEDGE_RT; do
    short=$(short_of "$rt")
    tty_ctr "fd-run-$short" 120 30 run -t --rm --runtime "$rt" "$CTRD_IMAGE" "fd-$short" ls -l /proc/self/fd
    run tty_ctr_status "fd-run-$short" 60
    [ "$output" = 0 ]
    run tty_fd_lines "fd-run-$short"
    echo "$short run -t:"$'\n'"$output"
    [ "$output" = "$expected" ]

    run_timeout 60 ctr_ run -d --runtime "$rt" "$CTRD_IMAGE" "fdx-$short" sleep 600
    [ "$status" -eq 0 ]
    tty_ctr "fd-exec-$short" 120 30 task exec -t --exec-id ls1 "fdx-$short" ls -l /proc/self/fd
    run tty_ctr_status "fd-exec-$short" 60
    [ "$output" = 0 ]
    run tty_fd_lines "fd-exec-$short"
    echo "$short exec -t:"$'\n'"$output"
    [ "$output" = "$expected" ]

    run_timeout 30 ctr_ task kill -s SIGKILL "fdx-$short"
    wait_for "[ \"\$(task_status fdx-$short)\" = STOPPED ]" 30
    run_timeout 30 ctr_ task delete "fdx-$short"
    run_timeout 30 ctr_ container rm "fdx-$short"
    [ "$status" -eq 0 ]
  done
}

@test "run -t: output written just before the exit reaches the screen" {
  local rt short
  for rt in $RUNC_RT $WEDGE_RT; do
    short=$(short_of "$rt")
    tty_ctr "last-$short" 100 30 run -t --rm --runtime "$rt" "$CTRD_IMAGE" "last-$short" \
      sh -c 'seq 1 3000 | tail -n 2; echo last-li""ne; exit 5'
    run tty_ctr_status "last-$short" 60
    [ "$output" = 5 ]
    tty_wait_screen "last-$short" '^last-line$' 5
    tty_wait_screen "last-$short" '^3000$' 5
  done
}

@test "run -d -t, then task attach: the shell is still there and answers" {
  local rt short id
  for rt in $RUNC_RT $WEDGE_RT; do
    short=$(short_of "$rt")
    id=att-$short
    # ctr exits at once; the shim's own writer keeps the shell's stdin open meanwhile.
    tty_ctr "det-$short" 100 30 run -d -t --runtime "$rt" "$CTRD_IMAGE" "$id" sh
    run tty_ctr_status "det-$short" 60
    [ "$output" = 0 ]
    [ "$(task_status "$id")" = RUNNING ]

    tty_ctr "att-$short" 100 30 task attach "$id"
    tty_until "att-$short" "echo att''ached-\$((1+1))" '^attached-2$'
    tty_type "att-$short" 'exit 6'
    run tty_ctr_status "att-$short" 30
    echo "$short: attach exit status $output"
    [ "$output" = 6 ]
    # ctr 1.6's attach deletes the task when it ends.
    [ -z "$(ctr_ task ls -q)" ]
    run_timeout 30 ctr_ container rm "$id"
    [ "$status" -eq 0 ]
  done
}
