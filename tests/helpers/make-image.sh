#!/bin/bash
# make-image.sh OUT_TAR [NAME [CMD_JSON]]
#
# Builds a one-layer OCI image archive (image-layout 1.0.0 in a tar) holding busybox-static, for
# `ctr image import`. NAME (default docker.io/library/busybox:wedge) goes into index.json as the
# `io.containerd.image.name` annotation, which ctr 1.6 import uses as the image name, and as
# `org.opencontainers.image.ref.name` (the tag part), which other tools read. CMD_JSON (a JSON
# array, default ["sh"]) is the config's Cmd: the CRI suite's pause image gives its own.
#
# Reproducible: every tar entry has mtime 0, owner 0:0, sorted names; gzip without name/time;
# the JSON documents are compact and their keys sorted. The same busybox gives the same digests.
set -euo pipefail

usage() { echo "usage: $0 OUT_TAR [NAME [CMD_JSON]]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 3 ] || usage
out=$1
name=${2:-docker.io/library/busybox:wedge}
cmd=${3:-'["sh"]'}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=rootfs.bash
. "$here/rootfs.bash"

for tool in jq tar gzip sha256sum; do
  command -v "$tool" >/dev/null || { echo "make-image: $tool not found" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/make-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

# GNU format: POSIX/pax would add atime/ctime records that change on every run.
repro_tar() {
  tar --format=gnu --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner "$@"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }

rootfs_populate "$work/rootfs"
repro_tar -C "$work/rootfs" -cf "$work/layer.tar" .
gzip -n -9 < "$work/layer.tar" > "$work/layer.tar.gz"

layout=$work/layout
mkdir -p "$layout/blobs/sha256"
# containerd checks diff_ids against the uncompressed layer, and the manifest digest and size
# against the compressed blob.
diff_id=sha256:$(sha "$work/layer.tar")
layer_digest=$(sha "$work/layer.tar.gz")
layer_size=$(size "$work/layer.tar.gz")
mv "$work/layer.tar.gz" "$layout/blobs/sha256/$layer_digest"

jq -cnS --arg diff_id "$diff_id" --argjson cmd "$cmd" '{
  created: "1970-01-01T00:00:00Z",
  architecture: "amd64",
  os: "linux",
  config: {
    Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    Cmd: $cmd
  },
  rootfs: { type: "layers", diff_ids: [$diff_id] },
  history: [{ created: "1970-01-01T00:00:00Z", created_by: "tests/helpers/make-image.sh" }]
}' > "$work/config.json"
config_digest=$(sha "$work/config.json")
config_size=$(size "$work/config.json")
mv "$work/config.json" "$layout/blobs/sha256/$config_digest"

jq -cnS --arg cd "sha256:$config_digest" --argjson cs "$config_size" \
  --arg ld "sha256:$layer_digest" --argjson ls "$layer_size" '{
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: $cd, size: $cs },
  layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $ld, size: $ls }]
}' > "$work/manifest.json"
manifest_digest=$(sha "$work/manifest.json")
manifest_size=$(size "$work/manifest.json")
mv "$work/manifest.json" "$layout/blobs/sha256/$manifest_digest"

ref_name=${name##*:}
case $name in */*:*) ;; *) ref_name=$name ;; esac
jq -cnS --arg md "sha256:$manifest_digest" --argjson ms "$manifest_size" \
  --arg name "$name" --arg ref "$ref_name" '{
  schemaVersion: 2,
  mediaType: "application/vnd.oci.image.index.v1+json",
  manifests: [{
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: $md,
    size: $ms,
    platform: { architecture: "amd64", os: "linux" },
    annotations: {
      "io.containerd.image.name": $name,
      "org.opencontainers.image.ref.name": $ref
    }
  }]
}' > "$layout/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' > "$layout/oci-layout"
chmod 0644 "$layout/index.json" "$layout/oci-layout" "$layout"/blobs/sha256/*
chmod 0755 "$layout" "$layout/blobs" "$layout/blobs/sha256"

out_dir=$(dirname "$out")
mkdir -p "$out_dir"
repro_tar -C "$layout" -cf "$work/image.tar" oci-layout index.json blobs
mv "$work/image.tar" "$out"
