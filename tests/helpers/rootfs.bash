# Shared by make-image.sh and make-bundle.sh: the busybox root filesystem of every test
# container. Sourced, not run.

# The applets the tests use. Each is a relative symlink to busybox, so the same tree works as an
# image layer and as a bundle rootfs.
ROOTFS_APPLETS=(
  '[' awk basename cat chmod cp cut date dd echo env false grep head hostname id kill ln ls
  mkdir mount mv nproc printf ps pwd readlink rm seq sh sleep sort stat tail tee test
  timeout top touch tr true umount uname uniq wc whoami xargs yes
)

# rootfs_populate DIR: fills DIR (created if missing) with /bin/busybox, the applet symlinks,
# a minimal /etc/passwd and /etc/group, and the empty mount points runc/crun expect.
# Modes are set explicitly so the result does not depend on the caller's umask.
rootfs_populate() {
  local dir=$1 busybox=${BUSYBOX:-/bin/busybox} a
  if [ ! -x "$busybox" ]; then
    echo "rootfs_populate: $busybox missing (install busybox-static)" >&2
    return 1
  fi
  if ! file_is_static "$busybox"; then
    echo "rootfs_populate: $busybox is not statically linked (install busybox-static)" >&2
    return 1
  fi
  mkdir -p "$dir"/{bin,etc,proc,sys,dev,tmp,root}
  chmod 0755 "$dir" "$dir"/{bin,etc,proc,sys,dev}
  chmod 0700 "$dir/root"
  chmod 1777 "$dir/tmp"
  install -m 0755 "$busybox" "$dir/bin/busybox"
  for a in "${ROOTFS_APPLETS[@]}"; do
    ln -sfn busybox "$dir/bin/$a"
  done
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
    'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' > "$dir/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' > "$dir/etc/group"
  chmod 0644 "$dir/etc/passwd" "$dir/etc/group"
}

# A dynamically linked busybox (Debian's `busybox` package) would need the host's libc inside
# the container; only busybox-static works in a bare rootfs.
file_is_static() {
  local interp
  interp=$(LC_ALL=C readelf -l "$1" 2>/dev/null | grep -c 'Requesting program interpreter' || true)
  [ "$interp" = 0 ]
}
