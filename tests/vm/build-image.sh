#!/bin/bash
# tests/vm/build-image.sh: builds the cgroup-v2 VM's image from Debian 12's packages, or finds it
# in the cache, and prints the directory that holds it:
#   vmlinuz      Debian's kernel (linux-image-amd64), booted directly by qemu (-kernel)
#   initrd.img   our own initramfs: busybox, the modules to reach the root disk, a 15-line /init
#   rootfs.img   an ext4 file system image (raw) of a debootstrap'ed bookworm: tests/vm/packages,
#                and tests/vm/init as /sbin/wedge-init
# The cache is WEDGE_VM_CACHE (default /var/cache/wedge-vm), one directory per hash of this
# script, tests/vm/packages and tests/vm/init: changing any of them builds a new image on the next
# run, and the older ones are removed then. The mirror is the bookworm/main one apt uses here
# (WEDGE_VM_MIRROR overrides it). Needs root, debootstrap and mkfs.ext4 (e2fsprogs); uses no loop
# mount and no nbd device: mkfs.ext4 -d copies the tree into the image file.
# Exit status 0 and the directory on stdout, or non-zero with the reason on stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${WEDGE_VM_CACHE:-/var/cache/wedge-vm}
suite=bookworm

key=$(cat "$here/build-image.sh" "$here/packages" "$here/init" | sha256sum | cut -c1-16)
dir=$cache/$key
if [ -f "$dir/complete" ]; then
  echo "$dir"
  exit 0
fi

die() { echo "build-image: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap)"
for tool in debootstrap mkfs.ext4 sha256sum flock; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh --vm)"
done

# The bookworm main mirror of this machine's apt sources.
mirror=${WEDGE_VM_MIRROR:-$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
  'Identifier: Packages' 2>/dev/null | awk -v s="$suite" '$2 == s && $3 == "main" { print $1; exit }')}
mirror=${mirror:-http://deb.debian.org/debian/}

mkdir -p "$cache"
# One build at a time per cache; a second caller waits, then finds the image made.
exec 9>"$cache/lock"
flock 9
if [ -f "$dir/complete" ]; then
  echo "$dir"
  exit 0
fi

# A build.* left here was killed before it completed (this one holds the lock).
rm -rf "$cache"/build.*
work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
start=$SECONDS

packages=$(grep -v '^[[:space:]]*\(#\|$\)' "$here/packages" | paste -sd,)
echo "build-image: debootstrap $suite from $mirror: $packages" >&2
if ! debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" \
    > "$work/debootstrap.log" 2>&1; then
  tail -n 20 "$work/debootstrap.log" >&2
  die "debootstrap failed (log above)"
fi
echo "build-image: debootstrap took $((SECONDS - start))s" >&2

kver=$(basename "$(ls -d "$root"/lib/modules/* | head -n 1)")
[ -f "$root/boot/vmlinuz-$kver" ] || die "no kernel in the rootfs (linux-image-amd64)"

# What the VM never reads: docs, man pages, locales, apt's lists and archives, Debian's own
# initramfs (ours is smaller and needs no udev) and the modules of hardware qemu does not have.
rm -rf "$root"/usr/share/{doc,man,info,locale}/* "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* \
  "$root"/boot/initrd.img*
rm -rf "$root/lib/modules/$kver/kernel/drivers/"{gpu,media,net/wireless,net/ethernet,infiniband,sound,staging,iio,bluetooth,isdn,hid,input/touchscreen,usb,scsi,ata,md} \
  "$root/lib/modules/$kver/kernel/sound" "$root/lib/modules/$kver/kernel/net/"{bluetooth,wireless,mac80211}
chroot "$root" depmod "$kver"

install -m 0755 "$here/init" "$root/sbin/wedge-init"
echo wedge-vm > "$root/etc/hostname"
# The installer writes /etc/hosts, no package does: containerd's CRI copies it into every pod
# sandbox and fails RunPodSandbox without it.
printf '127.0.0.1\tlocalhost\n127.0.1.1\twedge-vm\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
ln -sfn ../proc/self/mounts "$root/etc/mtab"

# The initramfs: the modules that reach /dev/vda (virtio_blk over virtio_pci, ext4), in the order
# modules.dep gives (each after what it depends on), loaded by busybox insmod, then switch_root
# into the disk and /sbin/wedge-init. Debian builds these as modules; the rest (9p, overlay) is
# loaded from the disk once it is the root.
ird=$work/initramfs
mkdir -p "$ird"/{bin,dev,proc,root,modules}
cp "$root/bin/busybox" "$ird/bin/busybox"
: > "$ird/modules/order"
# closure MODULE: MODULE's dependencies, deepest first, then MODULE (paths relative to the
# modules dir, as in modules.dep); empty for a module built into the kernel.
closure() {
  local line dep
  line=$(grep -E "(^|/)$1\.ko(\.[a-z]+)?:" "$root/lib/modules/$kver/modules.dep" || true)
  [ -n "$line" ] || return 0
  for dep in $(echo "${line#*:}" | tr ' ' '\n' | tac); do
    echo "$dep"
  done
  echo "${line%%:*}"
}
for m in virtio_pci virtio_blk crc32c_generic ext4; do
  closure "$m"
done | awk '!seen[$0]++' | while IFS= read -r path; do
  name=$(basename "$path")
  case $name in
    *.ko.xz) xz -dc "$root/lib/modules/$kver/$path" > "$ird/modules/${name%.xz}"; name=${name%.xz} ;;
    *.ko.zst) zstd -qdc "$root/lib/modules/$kver/$path" > "$ird/modules/${name%.zst}"; name=${name%.zst} ;;
    *) cp "$root/lib/modules/$kver/$path" "$ird/modules/$name" ;;
  esac
  echo "$name" >> "$ird/modules/order"
done
cat > "$ird/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules/order); do
  insmod "/modules/$m" 2>/dev/null || grep -q "^${m%.ko} " /proc/modules || echo "initramfs: insmod $m failed"
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 -o rw /dev/vda /root || { echo "initramfs: cannot mount /dev/vda"; poweroff -f; }
mount --move /dev /root/dev
umount /proc
exec switch_root /root /sbin/wedge-init
INIT
chmod 0755 "$ird/init"
(cd "$ird" && find . | "$root/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -1) > "$work/initrd.img"
cp "$root/boot/vmlinuz-$kver" "$work/vmlinuz"

# The disk: what the tree holds plus room for the suites' containerd content (the guest's /tmp
# is a tmpfs; qemu runs it with snapshot=on, so the image itself never changes).
size_mb=$(( $(du -sm "$root" | cut -f1) * 5 / 4 + 512 ))
mkfs.ext4 -q -F -L wedge-vm -d "$root" "$work/rootfs.img" "${size_mb}M" >&2
rm -rf "$root" "$ird"

{
  echo "kernel $kver"
  echo "mirror $mirror"
  echo "built $(date -u +%FT%TZ) in $((SECONDS - start))s"
} > "$work/info"
touch "$work/complete"
# Keep only this image: older keys are images of older scripts or package lists.
for old in "$cache"/*/; do
  old=${old%/}
  [ "$old" != "$work" ] && [ -f "$old/complete" ] && rm -rf "$old"
done
mv "$work" "$dir"
trap - EXIT
echo "build-image: built $dir in $((SECONDS - start))s" >&2
echo "$dir"
