# Process and mount bookkeeping shared by containerd.bash and common.bash. Sourced, not run.
# Everything here acts only on what lies under a directory the caller names, so a test never
# touches a mount or a process it did not start.

# pids_mentioning DIR: pids (one a line) whose command line contains DIR, except this shell and
# its ancestors (a bats process may have DIR in its arguments).
pids_mentioning() {
  local dir=$1 f p ancestors=" " stat
  p=$BASHPID
  while [ -n "$p" ] && [ "$p" -gt 1 ] 2>/dev/null; do
    ancestors+="$p "
    read -r stat 2>/dev/null < "/proc/$p/stat" || break
    stat=${stat##*) }
    set -- $stat
    p=$2
  done
  # grep must have exited before the list is read, or it would list itself.
  for f in $(grep -lzF -- "$dir" /proc/[0-9]*/cmdline 2>/dev/null); do
    p=${f#/proc/}
    p=${p%/cmdline}
    case $ancestors in *" $p "*) continue ;; esac
    [ -e "$f" ] && echo "$p"
  done
}

# pids_with_arg NAME VALUE: pids whose argv holds NAME immediately followed by VALUE (how
# containerd's shims carry `-address <socket>`).
pids_with_arg() {
  local name=$1 value=$2 f
  for f in $(grep -lzxF -- "$value" /proc/[0-9]*/cmdline 2>/dev/null); do
    if awk -v RS='\0' -v n="$name" -v v="$value" 'prev == n && $0 == v { found = 1 } { prev = $0 }
        END { exit !found }' "$f" 2>/dev/null; then
      f=${f#/proc/}
      echo "${f%/cmdline}"
    fi
  done
}

# mounts_under DIR [MOUNTINFO]: mount points at or below DIR, in mountinfo order (the order they
# were mounted). mountinfo escapes space, tab, newline and backslash as octal; undone here.
mounts_under() {
  local dir=$1 info=${2:-/proc/self/mountinfo}
  awk -v d="$dir" '{ mp = $5
      while (match(mp, /\\[0-7][0-7][0-7]/)) {
        c = sprintf("%c", (substr(mp, RSTART + 1, 1) * 64) + (substr(mp, RSTART + 2, 1) * 8) + substr(mp, RSTART + 3, 1))
        mp = substr(mp, 1, RSTART - 1) c substr(mp, RSTART + 4)
      }
      if (mp == d || index(mp, d "/") == 1) print mp }' "$info"
}

# umount_under DIR: unmounts everything at or below DIR, newest first, so a mount on top of
# another goes before it. Lazy detach as a last resort for a busy one.
umount_under() {
  local dir=$1 mp rc=0
  while IFS= read -r mp; do
    umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || { echo "cannot unmount $mp" >&2; rc=1; }
  done < <(mounts_under "$dir" | tac)
  return $rc
}

# kill_and_wait SIG PID...: signals the pids and waits (up to 10 s) until each is gone or a
# zombie (a zombie holds nothing but its pid; its parent reaps it).
kill_and_wait() {
  local sig=$1 p deadline
  shift
  [ $# -gt 0 ] || return 0
  kill "-$sig" "$@" 2>/dev/null || true
  deadline=$((SECONDS + 10))
  for p in "$@"; do
    while pid_alive "$p"; do
      [ $SECONDS -lt $deadline ] || return 1
      sleep 0.05
    done
  done
}

# cpu_ticks PID [children]: utime+stime of PID in clock ticks, or with `children` cutime+cstime:
# the CPU of the children it has reaped. 0 when PID is gone.
cpu_ticks() {
  local s which=${2:-self}
  read -r s 2>/dev/null < "/proc/$1/stat" || { echo 0; return; }
  s=${s##*) }
  # shellcheck disable=SC2086
  set -- $s
  if [ "$which" = children ]; then echo $((${14} + ${15})); else echo $((${12} + ${13})); fi
}

# pid_alive PID: true while PID exists and is not a zombie.
pid_alive() {
  local state
  state=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# leak_check DIR [STATE_DIR...]: fails (printing each leak) when a mount below DIR, a process
# mentioning DIR, or an entry in one of the STATE_DIRs (runtime --root dirs) remains. The features
# cache (wedge-features-*.json, lib/features/features_cache.h) describes the runtime binary, not a
# container: it is meant to stay.
leak_check() {
  local dir=$1 leaks=0 p m e
  shift
  while IFS= read -r m; do
    echo "leak: mount $m" >&2
    leaks=1
  done < <(mounts_under "$dir")
  while IFS= read -r p; do
    pid_alive "$p" || continue
    echo "leak: process $p: $(tr '\0' ' ' 2>/dev/null < "/proc/$p/cmdline")" >&2
    leaks=1
  done < <(pids_mentioning "$dir")
  for m in "$@"; do
    [ -d "$m" ] || continue
    for e in "$m"/*; do
      [ -e "$e" ] || continue
      case ${e##*/} in wedge-features-*.json) continue ;; esac
      echo "leak: runtime state $e" >&2
      leaks=1
    done
  done
  return $leaks
}
