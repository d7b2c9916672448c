# Driving `ctr run -t` / `ctr task exec -t` in a terminal: each in a tmux session of a private
# tmux server (`tmux -L $TTY_TMUX`, no config file), whose screen the test reads back. Load it
# after common and containerd.
#
#   tty_setup                      picks the server name; call from setup_file
#   tty_teardown                   kills that server and whatever runs in it; call from teardown
#   tty_ctr NAME COLS ROWS ARGS... starts `ctr ARGS` (against the private containerd) in session NAME
#   tty_type NAME TEXT             types TEXT and Enter
#   tty_screen NAME                prints the screen (wrapped lines joined)
#   tty_wait_screen NAME ERE SECS  waits until a screen line matches ERE
#   tty_until NAME TEXT ERE SECS   types TEXT again and again until a screen line matches ERE
#   tty_ctr_status NAME SECS       waits for ctr to exit and prints its exit status
#   tty_shell_session NAME CODE    drives busybox sh in a 100x30 session: type, read, Ctrl-C,
#                                  resize, `(exit CODE)` and Ctrl-D
#   tty_fd_lines NAME              the fds `ls -l /proc/self/fd` showed, as "FD TARGET" lines
#
# ctr runs under `timeout --foreground`: without it timeout puts ctr in a background process
# group of the terminal, and ctr stops (SIGTTOU) as soon as it switches the terminal to raw mode.

tty_setup() {
  TTY_TMUX=wedge-tty-${CTRD_NS:-$$}
  export TTY_TMUX
}

tty_() {
  tmux -L "$TTY_TMUX" -f /dev/null "$@"
}

tty_teardown() {
  local pid
  pid=$(tty_ display-message -p '#{pid}' 2>/dev/null) || return 0
  tty_ kill-server 2>/dev/null || true
  [ -n "$pid" ] && wait_for "! kill -0 $pid 2>/dev/null" 10
  return 0
}

tty_ctr() {
  local name=$1 cols=$2 rows=$3 script
  shift 3
  script=$WEDGE_TEST_DIR/tty-$name.sh
  rm -f "$WEDGE_TEST_DIR/tty-$name.status"
  {
    echo '#!/bin/bash'
    printf '%q ' timeout --foreground --kill-after=5 120 nsenter -t "$CTRD_PID" -m -- \
      ctr --address "$CTRD_SOCK" --namespace "$CTRD_NS" "$@"
    echo
    printf 'echo $? > %q\n' "$WEDGE_TEST_DIR/tty-$name.status"
    echo 'exec sleep 600'
  } > "$script"
  tty_ new-session -d -s "$name" -x "$cols" -y "$rows" "bash $(printf '%q' "$script")"
}

tty_type() {
  tty_ send-keys -t "$1" -l "$2" && tty_ send-keys -t "$1" Enter
}

tty_screen() {
  tty_ capture-pane -p -J -t "$1"
}

tty_wait_screen() {
  wait_for "tty_screen $(printf '%q' "$1") | grep -qE -- $(printf '%q' "$2")" "${3:-30}" || {
    echo "screen of $1:" >&2
    tty_screen "$1" >&2
    return 1
  }
}

# The shell answers a typed command only after ctr delivered it; a resize reaches the container
# only after ctr saw SIGWINCH and called ResizePty. Neither has a moment to wait for, so type
# again (each try has 2 s to show) until the deadline.
tty_until() {
  local name=$1 text=$2 ere=$3 deadline=$((SECONDS + ${4:-30}))
  while [ $SECONDS -lt "$deadline" ]; do
    tty_type "$name" "$text"
    if wait_for "tty_screen $(printf '%q' "$name") | grep -qE -- $(printf '%q' "$ere")" 2 2>/dev/null; then
      return 0
    fi
  done
  echo "screen of $name never matched $ere:" >&2
  tty_screen "$name" >&2
  return 1
}

tty_ctr_status() {
  local f=$WEDGE_TEST_DIR/tty-$1.status
  wait_for "[ -s $(printf '%q' "$f") ]" "${2:-30}" || { tty_screen "$1" >&2; return 1; }
  cat "$f"
}

# tty_shell_session NAME CODE: in session NAME (started 100x30, running busybox sh): type a
# command and read its answer, interrupt a job with Ctrl-C, check the size, resize to 120x40 and see it inside, then
# `(exit CODE)` and Ctrl-D, which ends the shell with status CODE.
tty_shell_session() {
  local name=$1 code=$2
  tty_wait_screen "$name" '^/ # $' 60
  tty_type "$name" "echo hel''lo-\$((6*7))"
  tty_wait_screen "$name" '^hello-42$'
  # Ctrl-C reaches the foreground job through the terminal (SIGINT from the line discipline):
  # the shell answers again long before sleep would end. Sent once "sleeping" shows, when the
  # shell's line editor has given the terminal back (its termios change may flush pending input).
  tty_type "$name" "echo sle''eping; sleep 300"
  tty_wait_screen "$name" '^sleeping$'
  tty_ send-keys -t "$name" C-c
  tty_until "$name" "echo in''t-ok" '^int-ok$'
  # ctr sets the size from its own terminal once the process started (HandleConsoleResize).
  tty_until "$name" 'stty size' '^30 100$'
  tty_ resize-window -t "$name" -x 120 -y 40
  tty_until "$name" 'stty size' '^40 120$'
  tty_type "$name" "(exit $code)"
  tty_eof "$name"
}

# tty_eof NAME: Ctrl-D until ctr has exited (a Ctrl-D that arrives while the shell's line editor
# switches the terminal's mode may be discarded with the pending input; a later one is not).
tty_eof() {
  local f=$WEDGE_TEST_DIR/tty-$1.status deadline=$((SECONDS + 30))
  while [ $SECONDS -lt "$deadline" ]; do
    tty_ send-keys -t "$1" C-d
    wait_for "[ -s $(printf '%q' "$f") ]" 2 2>/dev/null && return 0
  done
  return 0
}

# tty_fd_lines NAME: "FD TARGET" for each line of `ls -l /proc/self/fd` on the screen.
tty_fd_lines() {
  tty_screen "$1" | grep -E '^l[-rwx]{9} ' | sed -E 's/.* ([0-9]+)( -> (.*))?$/\1 \3/'
}

# What a process with a terminal shows (see parity-tty.bats).
TTY_FDS_EXPECTED=$(printf '%s\n' '0 /dev/pts/0' '1 /dev/pts/0' '2 /dev/pts/0' '3 ')
